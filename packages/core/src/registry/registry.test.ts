import { describe, expect, expectTypeOf, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import {
  CLOSE_CODE_RANGES,
  CLOSE_CODE_REGISTRATION_RANGES,
  CLOSE_REASON_MAX_BYTES,
  CloseCode,
  EXTENSIONS,
  FRAMING_HEADER_BITS,
  OPCODES,
  Opcode,
  REGISTRY_UPDATED,
  SUBPROTOCOLS,
  VERSION_NUMBERS,
  closeCode,
  closeReasonByteLength,
  limitCloseReason,
  extension,
  isRegisteredSubprotocol,
  isSendableCloseCode,
  isToken,
  subprotocol,
  subprotocolCaseConflict,
  validateClose,
  versionNumber,
  type SubprotocolId,
} from './index.js';

/** RFC 6455 §7.4.1/§7.4.2 written out by hand, independently of the registry data. */
function sendableByRfc(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

describe('subprotocol registry', () => {
  it('lists the 69 subprotocol names of the 2026-06-10 registry in registry order', () => {
    expect(REGISTRY_UPDATED).toBe('2026-06-10');
    expect(SUBPROTOCOLS).toHaveLength(69);
    expect(SUBPROTOCOLS[0]?.id).toBe('MBWS.huawei.com');
    expect(SUBPROTOCOLS.at(-1)?.id).toBe('camp');
    expect(new Set(SUBPROTOCOLS.map((record) => record.id)).size).toBe(69);
  });

  it('gives every id as an RFC 7230 token with a clean common name', () => {
    for (const record of SUBPROTOCOLS) {
      expect(isToken(record.id), record.id).toBe(true);
      expect(record.commonName).toBe(record.commonName.replace(/\s+/g, ' ').trim());
      expect(record.commonName).not.toBe('');
    }
  });

  it('finds mqtt by its exact id', () => {
    expect(subprotocol('mqtt')).toMatchObject({
      id: 'mqtt',
      commonName: 'mqtt',
      registered: '2014-05-09',
      updated: '2019-03-26',
    });
    expect(subprotocol('mqtt')?.references).toContainEqual({
      type: 'uri',
      data: 'http://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html',
      title: 'MQTT Version 5.0',
    });
    expect(isRegisteredSubprotocol('mqtt')).toBe(true);
  });

  it('matches case-sensitively (RFC 7936 §2): MQTT is not mqtt', () => {
    expect(subprotocol('MQTT')).toBeUndefined();
    expect(isRegisteredSubprotocol('MQTT')).toBe(false);
    expect(subprotocol('redfish')).toBeUndefined();
    expect(subprotocol('Redfish')?.id).toBe('Redfish');
  });

  it('reports the registered id that a case variant imitates', () => {
    expect(subprotocolCaseConflict('MQTT')?.id).toBe('mqtt');
    expect(subprotocolCaseConflict('V12.STOMP')?.id).toBe('v12.stomp');
    expect(subprotocolCaseConflict('redfish')?.id).toBe('Redfish');
    expect(subprotocolCaseConflict('mqtt')).toBeUndefined();
    expect(subprotocolCaseConflict('my-own-protocol')).toBeUndefined();
  });

  it('folds ASCII letters only, so the Kelvin sign is no look-alike of k', () => {
    // U+212A KELVIN SIGN lower-cases to "k" under String#toLowerCase.
    expect(subprotocolCaseConflict('\u212Aafka')).toBeUndefined();
    expect(subprotocolCaseConflict('\u212A')).toBeUndefined();
    expect(subprotocolCaseConflict('SH\u0130P')).toBeUndefined();
  });

  it('has the ids the bundled adapters speak, each with references', () => {
    const ids: SubprotocolId[] = [
      'v10.stomp',
      'v11.stomp',
      'v12.stomp',
      'mqtt',
      'wamp',
      'ocpp1.2',
      'ocpp1.5',
      'ocpp1.6',
      'ocpp2.0',
      'ocpp2.0.1',
      'ocpp2.1',
      'sip',
    ];
    for (const id of ids) {
      expect(subprotocol(id)?.references.length, id).toBeGreaterThan(0);
    }
    expect(subprotocol('v12.stomp')?.commonName).toBe('Name: STOMP 1.2 specification');
    expect(subprotocol('ocpp2.1')?.controllers).toEqual([
      { type: 'person', data: 'Open_Charge_Alliance', title: 'Open Charge Alliance' },
    ]);
  });

  it('resolves sip to RFC 7118 once, although the registry cites it twice', () => {
    expect(subprotocol('sip')?.references).toEqual([{ type: 'rfc', data: 'rfc7118' }]);
  });

  it('resolves person references to names from the <people> section', () => {
    expect(subprotocol('wamp')?.references).toContainEqual({
      type: 'person',
      data: 'WAMP',
      title: 'WAMP',
    });
    expect(subprotocol('wamp')?.controllers).toEqual([
      { type: 'person', data: 'Tobias_Oberstein', title: 'Tobias Oberstein' },
    ]);
    expect(subprotocol('v1.usp')?.references).toContainEqual({
      type: 'person',
      data: 'Broadband_Forum',
      title: 'Broadband Forum',
    });
  });

  it('keeps prose definitions and text references, whitespace collapsed', () => {
    const ship = subprotocol('ship');
    expect(ship?.description).toMatch(/^SHIP \(Smart Home IP\) is a an IP based approach to plug and play home/);
    expect(ship?.description).not.toMatch(/\s{2}|\n/);
    expect(ship?.references).toEqual([
      { type: 'text', data: 'EEBus Initiative' },
      { type: 'person', data: 'Andreas_Westermann', title: 'Andreas Westermann' },
    ]);
  });

  it('narrows an unknown string to SubprotocolId', () => {
    const id: string = 'mqtt';
    if (isRegisteredSubprotocol(id)) expectTypeOf(id).toEqualTypeOf<SubprotocolId>();
    expectTypeOf(subprotocol('mqtt')).toExtend<{ id: SubprotocolId } | undefined>();
  });
});

describe('extension, version and framing registries', () => {
  it('lists permessage-deflate with RFC 7692', () => {
    expect(EXTENSIONS.map((record) => record.id)).toEqual(['permessage-deflate', 'bbf-usp-protocol']);
    expect(extension('permessage-deflate')).toEqual({
      id: 'permessage-deflate',
      commonName: 'WebSocket Per-Message Deflate',
      references: [{ type: 'rfc', data: 'rfc7692' }],
      incompatible: 'None',
      registered: '2015-09-02',
    });
    expect(extension('Permessage-Deflate')).toBeUndefined();
  });

  it('has version 13 as the standard and 9-12 reserved', () => {
    expect(VERSION_NUMBERS.map((record) => record.value)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
    ]);
    expect(versionNumber(13)).toEqual({
      value: 13,
      status: 'Standard',
      reference: { type: 'rfc', data: 'rfc6455' },
    });
    expect(versionNumber(8)?.status).toBe('Interim');
    expect(versionNumber(8)?.reference).toEqual({
      type: 'draft',
      data: 'draft-ietf-hybi-thewebsocketprotocol-08',
    });
    for (const n of [9, 10, 11, 12]) expect(versionNumber(n)?.status).toBe('Reserved');
    expect(versionNumber(14)).toBeUndefined();
  });

  it('names the six assigned opcodes and keeps the unassigned ranges', () => {
    expect(Opcode).toEqual({ Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 });
    expect(OPCODES.filter((row) => row.description === 'Unassigned')).toEqual([
      { from: 3, to: 7, description: 'Unassigned' },
      { from: 11, to: 15, description: 'Unassigned' },
    ]);
    expect(OPCODES.find((row) => row.from === 8)?.description).toBe('Connection Close Frame');
  });

  it('lists RSV1 as the per-message-compressed bit', () => {
    expect(FRAMING_HEADER_BITS).toHaveLength(1);
    expect(FRAMING_HEADER_BITS[0]).toMatchObject({
      name: 'RSV1',
      reference: { type: 'rfc', data: 'rfc7692' },
    });
    expect(FRAMING_HEADER_BITS[0]?.description).toMatch(/^The "Per-Message Compressed" bit, which/);
  });
});

describe('close code registry', () => {
  it('names every single-code row', () => {
    expect(CloseCode).toEqual({
      NormalClosure: 1000,
      GoingAway: 1001,
      ProtocolError: 1002,
      UnsupportedData: 1003,
      Reserved: 1004,
      NoStatusReceived: 1005,
      AbnormalClosure: 1006,
      InvalidFramePayloadData: 1007,
      PolicyViolation: 1008,
      MessageTooBig: 1009,
      MandatoryExtension: 1010,
      InternalError: 1011,
      ServiceRestart: 1012,
      TryAgainLater: 1013,
      BadGateway: 1014,
      TLSHandshake: 1015,
      Unauthorized: 3000,
      Forbidden: 3003,
      Timeout: 3008,
    });
    expectTypeOf(CloseCode.PolicyViolation).toEqualTypeOf<1008>();
  });

  it('keeps every registry row, including unassigned and private-use ranges, gap-free over 1000-4999', () => {
    const ranges = CLOSE_CODE_RANGES.filter((row) => row.from !== row.to).map((row) => [
      row.from,
      row.to,
      row.description,
    ]);
    expect(ranges).toEqual([
      [1016, 2999, 'Unassigned'],
      [3001, 3002, 'Unassigned'],
      [3004, 3007, 'Unassigned'],
      [3009, 3999, 'Unassigned'],
      [4000, 4999, 'Reserved for Private Use'],
    ]);
    let next = 1000;
    for (const row of CLOSE_CODE_RANGES) {
      expect(row.from).toBe(next);
      next = row.to + 1;
    }
    expect(next).toBe(5000);
    expect(CLOSE_CODE_REGISTRATION_RANGES).toEqual([
      { from: 1000, to: 2999, registrationRule: 'Standards Action, Specification Required or IESG Review' },
      { from: 3000, to: 3999, registrationRule: 'First Come First Served' },
    ]);
  });

  it('describes 1008 as a sendable policy violation', () => {
    expect(closeCode(1008)).toMatchObject({
      code: 1008,
      description: 'Policy Violation',
      sendable: true,
      reserved: false,
      assigned: true,
      privateUse: false,
      range: { from: 1008, to: 1008, references: [{ type: 'rfc', data: 'rfc6455' }] },
    });
  });

  it('knows the first-come-first-served codes 3000, 3003 and 3008', () => {
    expect(closeCode(3000)).toMatchObject({ description: 'Unauthorized', assigned: true, sendable: true });
    expect(closeCode(3003)).toMatchObject({ description: 'Forbidden', assigned: true, sendable: true });
    expect(closeCode(3008)).toMatchObject({ description: 'Timeout', assigned: true, sendable: true });
    expect(closeCode(3003)?.range.contacts).toEqual([
      { type: 'person', data: 'Ada_Young', title: 'Ada Young' },
    ]);
  });

  it('refuses to send unassigned 1016-2999', () => {
    for (const code of [1016, 2000, 2999]) {
      expect(closeCode(code), String(code)).toMatchObject({
        description: 'Unassigned',
        assigned: false,
        sendable: false,
        range: { from: 1016, to: 2999 },
      });
      expect(isSendableCloseCode(code)).toBe(false);
    }
  });

  it('sends unregistered 3000-3999 codes, as ws and undici accept them', () => {
    expect(closeCode(3001)).toMatchObject({ description: 'Unassigned', assigned: false, sendable: true });
    expect(isSendableCloseCode(3999)).toBe(true);
  });

  it('sends 4000-4999 as private use', () => {
    for (const code of [4000, 4500, 4999]) {
      expect(closeCode(code), String(code)).toMatchObject({
        description: 'Reserved for Private Use',
        privateUse: true,
        assigned: false,
        sendable: true,
      });
    }
  });

  it('never sends 1004, 1005, 1006 or 1015 (RFC 6455 §7.4.1)', () => {
    for (const code of [1004, 1005, 1006, 1015]) {
      expect(isSendableCloseCode(code), String(code)).toBe(false);
      expect(closeCode(code)).toMatchObject({ reserved: true, assigned: true, sendable: false });
    }
  });

  it('reports 0-999 as not used, and nothing outside 0-4999 or for non-integers', () => {
    expect(closeCode(0)).toMatchObject({ description: 'Not used', sendable: false, assigned: false });
    expect(closeCode(999)?.range).toMatchObject({ from: 0, to: 999 });
    for (const code of [-1, 5000, 65535, 1000.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(closeCode(code), String(code)).toBeUndefined();
    }
  });

  test.prop([
    fc.oneof(
      fc.integer({ min: -100, max: 5100 }),
      fc.integer(),
      fc.double(),
      fc.constantFrom(999, 1000, 1003, 1004, 1006, 1007, 1014, 1015, 1016, 2999, 3000, 4999, 5000),
    ),
  ])('isSendableCloseCode follows RFC 6455 §7.4 for any number', (code) => {
    expect(isSendableCloseCode(code)).toBe(sendableByRfc(code));
    expect(closeCode(code)?.sendable ?? false).toBe(sendableByRfc(code));
  });
});

describe('close reasons', () => {
  it('counts UTF-8 bytes, not UTF-16 units', () => {
    expect(closeReasonByteLength('')).toBe(0);
    expect(closeReasonByteLength('bye')).toBe(3);
    expect(closeReasonByteLength('é')).toBe(2);
    expect(closeReasonByteLength('€')).toBe(3);
    expect(closeReasonByteLength('😀')).toBe(4);
    expect(closeReasonByteLength('\uD800')).toBe(3);
    expect(closeReasonByteLength('\uDC00\uD800')).toBe(6);
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 200 })])('limitCloseReason cuts to a sendable prefix at a code point boundary', (text) => {
    const cut = limitCloseReason(text);
    expect(text.startsWith(cut)).toBe(true);
    expect(closeReasonByteLength(cut)).toBeLessThanOrEqual(123);
    if (closeReasonByteLength(text) <= 123) expect(cut).toBe(text);
    else {
      // Nothing more fits, and no surrogate pair is split.
      const next = text.codePointAt(cut.length)!;
      expect(closeReasonByteLength(cut + String.fromCodePoint(next))).toBeGreaterThan(123);
      const last = cut.charCodeAt(cut.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) expect((text.charCodeAt(cut.length) & 0xfc00) === 0xdc00).toBe(false);
    }
  });

  test.prop([fc.string({ unit: 'binary' })])('agrees with TextEncoder on any string', (reason) => {
    expect(closeReasonByteLength(reason)).toBe(new TextEncoder().encode(reason).length);
  });

  it('rejects 42 × € (42 UTF-16 units, 126 bytes)', () => {
    const reason = '€'.repeat(42);
    expect(reason.length).toBe(42);
    expect(() => validateClose(CloseCode.NormalClosure, reason)).toThrow(RangeError);
    expect(() => validateClose(CloseCode.NormalClosure, reason)).toThrow(
      'Close reason is 126 bytes of UTF-8; the limit is 123 (RFC 6455 §5.5)',
    );
  });

  it('accepts exactly 123 bytes and rejects 124', () => {
    expect(CLOSE_REASON_MAX_BYTES).toBe(123);
    expect(() => validateClose(CloseCode.NormalClosure, '€'.repeat(41))).not.toThrow();
    expect(() => validateClose(CloseCode.NormalClosure, 'a'.repeat(123))).not.toThrow();
    expect(() => validateClose(CloseCode.NormalClosure, `${'€'.repeat(41)}a`)).toThrow(RangeError);
  });

  it('rejects a reason without a code, but not an empty close', () => {
    expect(() => validateClose(undefined, 'bye')).toThrow(
      'A close reason needs a close code (RFC 6455 §5.5.1)',
    );
    expect(() => validateClose(undefined, undefined)).not.toThrow();
    expect(() => validateClose(undefined, '')).not.toThrow();
    expect(() => validateClose(CloseCode.GoingAway, undefined)).not.toThrow();
  });

  it('explains why a code must not be sent', () => {
    expect(() => validateClose(1005, undefined)).toThrow(
      'Close code 1005 (No Status Rcvd) is reserved and must not be sent in a Close frame (RFC 6455 §7.4.1)',
    );
    expect(() => validateClose(2000, 'x')).toThrow(/1000-2999 holds only codes registered with IANA/);
    expect(() => validateClose(500, undefined)).toThrow(/0-999, which is not used/);
    expect(() => validateClose(5000, undefined)).toThrow(/not a status code/);
    expect(() => validateClose(1000.5, undefined)).toThrow(RangeError);
    expect(() => validateClose(4321, 'custom')).not.toThrow();
  });
});

describe('isToken (RFC 7230 §3.2.6)', () => {
  it('accepts tchar runs and rejects delimiters, spaces and the empty string', () => {
    for (const token of ['mqtt', 'v12.stomp', 'opcua+uajson', "!#$%&'*+-.^_`|~09AZaz"]) {
      expect(isToken(token), token).toBe(true);
    }
    for (const bad of ['', ' ', 'a b', 'a,b', 'a;b', '"a"', 'a/b', '(a)', 'a\t', 'é', 'a\n', '{}', '[]', '@', 'a=b', '?', ':', '\\']) {
      expect(isToken(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  test.prop([fc.string({ unit: 'binary' })])('is true exactly for non-empty strings of tchar', (s) => {
    expect(isToken(s)).toBe(s.length > 0 && [...s].every((char) => TCHAR.includes(char)));
  });
});
