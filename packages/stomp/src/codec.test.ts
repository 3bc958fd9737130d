import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { runCodecProperties } from '@protoplex/core/testing';
import { createParser, encodeFrame, encodeHead, escapeHeader, joinFrame, parseFrame, unescapeHeader, type ParseFault, type StompFrame } from './codec.js';
import type { StompVersion } from './constants.js';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const frame = (command: string, headers: Record<string, string>, body: Uint8Array | string = ''): StompFrame => ({
  command,
  headers,
  body: typeof body === 'string' ? bytes(body) : body,
});
const plain = (f: StompFrame | ParseFault) => ('command' in f ? { command: f.command, headers: { ...f.headers }, body: Buffer.from(f.body).toString('hex') } : f);

/** Three tests per row: parse, generate, and generate-then-parse (mqtt-packet `testParseGenerate`). */
function roundTrip(name: string, version: StompVersion, expected: StompFrame, wire: string | Uint8Array): void {
  const wireBytes = typeof wire === 'string' ? bytes(wire) : wire;
  describe(`${name} (STOMP ${version})`, () => {
    it('parses', () => {
      expect(plain(parseFrame(wireBytes, version))).toEqual(plain(expected));
    });
    it('generates', () => {
      expect(Buffer.from(encodeFrame(expected, version)).toString('hex')).toBe(Buffer.from(wireBytes).toString('hex'));
    });
    it('survives generate then parse', () => {
      expect(plain(parseFrame(encodeFrame(expected, version), version))).toEqual(plain(expected));
    });
  });
}

/** The exact fault text, and no frame out. */
function rejects(name: string, version: StompVersion, wire: string, fault: ParseFault): void {
  it(`rejects ${name} (STOMP ${version}) with "${fault.message}"`, () => {
    const result = createParser(version, { maxBodyLength: 16, maxHeaders: 3, maxHeaderLength: 32 }).push(wire);
    expect(result.frames).toEqual([]);
    expect(result.fault).toEqual(fault);
  });
}

describe('codec round trips', () => {
  roundTrip('SEND with every 1.2 escape', '1.2', frame('SEND', { destination: '/queue/a', 'k:ey': 'v\na\rl\\', 'content-length': '5' }, 'hello'), 'SEND\ndestination:/queue/a\nk\\cey:v\\na\\rl\\\\\ncontent-length:5\n\nhello\0');
  roundTrip('MESSAGE with 1.1 escapes', '1.1', frame('MESSAGE', { destination: '/topic/x', note: 'a:b\nc\\' }), 'MESSAGE\ndestination:/topic/x\nnote:a\\cb\\nc\\\\\n\n\0');
  roundTrip('1.0 frame keeps backslashes as they are', '1.0', frame('SEND', { destination: '/queue/a', raw: 'a\\nb:c' }), 'SEND\ndestination:/queue/a\nraw:a\\nb:c\n\n\0');
  roundTrip('CONNECT is never escaped', '1.2', frame('CONNECT', { 'accept-version': '1.2', host: 'a\\cb' }), 'CONNECT\naccept-version:1.2\nhost:a\\cb\n\n\0');
  roundTrip(
    'binary body with NUL octets under content-length',
    '1.2',
    frame('SEND', { destination: '/queue/b', 'content-length': '4' }, new Uint8Array([0, 255, 0, 1])),
    new Uint8Array([...bytes('SEND\ndestination:/queue/b\ncontent-length:4\n\n'), 0, 255, 0, 1, 0]),
  );
  roundTrip('UTF-8 header values and body', '1.2', frame('SEND', { destination: '/topic/é', 'content-length': '4' }, '😀'), 'SEND\ndestination:/topic/é\ncontent-length:4\n\n😀\0');
});

describe('codec parsing', () => {
  it('accepts CR LF line ends in 1.2', () => {
    expect(plain(parseFrame('SEND\r\ndestination:/queue/a\r\n\r\nhi\0\r\n', '1.2'))).toEqual(plain(frame('SEND', { destination: '/queue/a' }, 'hi')));
  });

  it('keeps a CR in a 1.1 header value, where it is not a line end', () => {
    const parsed = parseFrame('SEND\ndestination:/queue/a\r\n\nhi\0', '1.1');
    expect(plain(parsed)).toEqual(plain(frame('SEND', { destination: '/queue/a\r' }, 'hi')));
  });

  it('keeps the first of repeated headers', () => {
    expect(plain(parseFrame('MESSAGE\nfoo:World\nfoo:Hello\n\n\0', '1.2'))).toEqual(plain(frame('MESSAGE', { foo: 'World' })));
  });

  it('reads several frames and heart-beat EOLs from one message', () => {
    const result = createParser('1.2').push('\nSEND\ndestination:/a\n\n1\0\r\n\nSEND\ndestination:/b\n\n2\0\n');
    expect(result.fault).toBeUndefined();
    expect(result.frames.map((f) => f.headers.destination)).toEqual(['/a', '/b']);
    expect(result.heartBeats).toBe(4);
  });

  it('joins a frame split across messages, byte by byte', () => {
    const parser = createParser('1.2');
    const wire = bytes('SEND\ndestination:/a\ncontent-length:3\n\na\0b\0');
    const frames: StompFrame[] = [];
    for (let i = 0; i < wire.length; i++) {
      const result = parser.push(wire.subarray(i, i + 1));
      expect(result.fault).toBeUndefined();
      frames.push(...result.frames);
    }
    expect(frames.map(plain)).toEqual([plain(frame('SEND', { destination: '/a', 'content-length': '3' }, new Uint8Array([97, 0, 98])))]);
    expect(parser.pending).toBe(0);
  });

  it('counts content-length in octets for text messages', () => {
    expect(plain(parseFrame('SEND\ndestination:/a\ncontent-length:2\n\né\0', '1.2'))).toEqual(plain(frame('SEND', { destination: '/a', 'content-length': '2' }, 'é')));
  });

  it('ends a frame at a NUL where a header line would start, as in the spec DISCONNECT example', () => {
    // STOMP 1.2 "DISCONNECT" shows "DISCONNECT\nreceipt:77\n^@", without the blank line.
    for (const wire of ['DISCONNECT\nreceipt:77\n\0', 'DISCONNECT\r\nreceipt:77\r\n\0']) {
      expect(plain(parseFrame(wire, '1.2'))).toEqual(plain(frame('DISCONNECT', { receipt: '77' })));
      expect(plain(parseFrame(bytes(wire), '1.2'))).toEqual(plain(frame('DISCONNECT', { receipt: '77' })));
    }
    expect(plain(parseFrame('RECEIPT\n\0', '1.1'))).toEqual(plain(frame('RECEIPT', {})));
  });

  it('stays spent after a fault', () => {
    const parser = createParser('1.2');
    expect(parser.push('SEND\nbad\n\n\0').fault?.message).toBe('Header line without a colon');
    expect(parser.push('SEND\ndestination:/a\n\n\0').frames).toEqual([]);
  });
});

describe('codec faults', () => {
  rejects('an undefined escape', '1.2', 'SEND\nk:a\\tb\n\n\0', { kind: 'malformed', message: 'Undefined escape sequence in header' });
  rejects('\\r, which 1.1 does not define', '1.1', 'SEND\nk:a\\rb\n\n\0', { kind: 'malformed', message: 'Undefined escape sequence in header' });
  rejects('a header line without a colon', '1.2', 'SEND\nreceipt:7\nnocolon\n\n\0', { kind: 'malformed', message: 'Header line without a colon', receipt: '7' });
  rejects('a content-length that is not a number', '1.2', 'SEND\ncontent-length:x\n\n\0', { kind: 'malformed', message: 'Invalid content-length' });
  rejects('a content-length that does not end at a NUL', '1.2', 'SEND\ncontent-length:1\n\nab\0', { kind: 'malformed', message: 'Frame not terminated by NUL after content-length octets' });
  rejects('a body above the limit', '1.2', `SEND\nreceipt:r\n\n${'x'.repeat(17)}\0`, { kind: 'too-large', message: 'Body too large', receipt: 'r' });
  rejects('an unterminated body above the limit', '1.2', `SEND\n\n${'x'.repeat(17)}`, { kind: 'too-large', message: 'Body too large' });
  rejects('a content-length above the limit', '1.2', 'SEND\ncontent-length:17\n\n', { kind: 'too-large', message: 'Body too large' });
  rejects('too many headers', '1.2', 'SEND\na:1\nb:2\nc:3\nd:4\n\n\0', { kind: 'too-large', message: 'Too many headers' });
  rejects('a header line above the limit', '1.2', `SEND\na:${'x'.repeat(40)}\n\n\0`, { kind: 'too-large', message: 'Header line too long' });
  rejects('a command line above the limit', '1.2', 'X'.repeat(40), { kind: 'too-large', message: 'Command line too long' });
});

describe('header escaping', () => {
  it('escapes per version and undoes it', () => {
    expect(escapeHeader('a:b\nc\\d\re', '1.2')).toBe('a\\cb\\nc\\\\d\\re');
    expect(escapeHeader('a:b\nc\\d\re', '1.1')).toBe('a\\cb\\nc\\\\d\re');
    expect(escapeHeader('a:b', '1.0')).toBe('a:b');
    expect(unescapeHeader('a\\cb\\nc\\\\d\\re', '1.2')).toBe('a:b\nc\\d\re');
    expect(unescapeHeader('trailing\\', '1.2')).toBeUndefined();
  });
});

// The generic codec properties (core's runCodecProperties): every valid frame survives encode
// then parse, any message parses without throwing, and every refusal carries a reason.
const units = fc.constantFrom('a', 'Z', '0', ' ', ':', '\\', '\n', '\r', 'é', '€', '😀', '-', '/', 'n', 'c');
const headerText = (version: StompVersion) =>
  fc.string({ unit: units, maxLength: 12 }).filter((s) => {
    if (version === '1.0') return !s.includes('\n');
    return true;
  });
const headerName = (version: StompVersion) =>
  headerText(version).filter((s) => s.length > 0 && s !== 'content-length' && (version !== '1.0' || !s.includes(':')));
const arbitraryFrame = (version: StompVersion): fc.Arbitrary<StompFrame> =>
  fc.record({
    command: fc.constantFrom('SEND', 'MESSAGE', 'SUBSCRIBE', 'ACK', 'ERROR', 'RECEIPT', 'BEGIN'),
    headers: fc.dictionary(headerName(version), headerText(version), { maxKeys: 6 }),
    body: fc.uint8Array({ maxLength: 64 }),
  });

for (const version of ['1.0', '1.1', '1.2'] as const) {
  runCodecProperties({
    name: `STOMP ${version}`,
    frames: arbitraryFrame(version),
    encode: (f: StompFrame) => encodeFrame(f, version),
    decode: (wire: Uint8Array) => parseFrame(wire, version),
    framesOf: (result) => ('command' in result ? [result] : []),
    refusalOf: (result) => ('command' in result ? undefined : result.message),
    // encodeFrame adds content-length to a frame with a body (STOMP 1.2: frames "SHOULD include" it).
    normalize: (f) => plain(f.body.length > 0 && !('content-length' in f.headers) ? { ...f, headers: { ...f.headers, 'content-length': String(f.body.length) } } : f),
  });
}

describe.each(['1.0', '1.1', '1.2'] as const)('incremental parsing, STOMP %s', (version) => {
  // Beyond runCodecProperties' whole messages: the parser keeps state between pushes, at tight limits.
  test.prop([fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 })])('arbitrary bytes, in any chunking, never throw', (chunks) => {
    const parser = createParser(version, { maxBodyLength: 100, maxHeaders: 8, maxHeaderLength: 50 });
    for (const chunk of chunks) expect(() => parser.push(chunk)).not.toThrow();
  });
});

// Text WebSocket messages are parsed as strings (no encode of the command and headers); the
// result must be the one the byte path gives for the same octets, in any chunking and at limits.
const textUnits = fc.constantFrom('a', 'Z', '0', ' ', ':', '\\', '\n', '\r', 'é', '€', '😀', '-', '\0');
const textFrame = (version: StompVersion) =>
  fc.record({
    command: fc.constantFrom('SEND', 'MESSAGE', 'SUBSCRIBE', 'ACK', 'CONNECT'),
    headers: fc.dictionary(headerName(version), headerText(version), { maxKeys: 4 }),
    body: fc.string({ unit: textUnits, maxLength: 30 }),
    withLength: fc.boolean(),
    // A wrong content-length, one octet short or long, half the time it is set.
    lengthDelta: fc.constantFrom(0, 0, -1, 1),
    crlf: fc.boolean(),
  });
const junk = fc.oneof(fc.constantFrom('\n', '\r\n', '\r', '\0'), fc.string({ unit: textUnits, maxLength: 20 }));

describe.each(['1.0', '1.1', '1.2'] as const)('text path, STOMP %s', (version) => {
  test.prop([
    fc.array(fc.oneof(textFrame(version), junk), { minLength: 1, maxLength: 4 }),
    fc.array(fc.nat(), { maxLength: 3 }),
    fc.constantFrom(undefined, { maxBodyLength: 12, maxHeaders: 3, maxHeaderLength: 24 }),
  ])('parses a text message exactly as the same octets sent binary', (parts, cuts, limits) => {
    let wire = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        wire += part;
        continue;
      }
      const body = bytes(part.body);
      // Without content-length a NUL in the body ends the frame early, on both paths alike.
      const headers = part.withLength ? { ...part.headers, 'content-length': String(Math.max(0, body.length + part.lengthDelta)) } : { ...part.headers };
      const head = encodeHead(part.command, headers, version);
      wire += Buffer.from(joinFrame(part.crlf ? head.replace(/\n/g, '\r\n') : head, body)).toString('utf8');
    }
    // Cut at UTF-16 boundaries that do not split a surrogate pair.
    const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))]
      .map((i) => (i > 0 && i < wire.length && /[\uDC00-\uDFFF]/.test(wire[i]!) ? i - 1 : i))
      .sort((a, b) => a - b);
    const chunks: string[] = [];
    let from = 0;
    for (const p of points) {
      chunks.push(wire.slice(from, p));
      from = p;
    }
    chunks.push(wire.slice(from));
    const run = (asText: boolean) => {
      const parser = createParser(version, limits);
      const frames: unknown[] = [];
      let heartBeats = 0;
      let fault: ParseFault | undefined;
      for (const chunk of chunks) {
        const result = parser.push(asText ? chunk : bytes(chunk));
        frames.push(...result.frames.map(plain));
        heartBeats += result.heartBeats;
        fault ??= result.fault;
      }
      return { frames, heartBeats, fault, pending: parser.pending };
    };
    expect(run(true)).toEqual(run(false));
  });
});
