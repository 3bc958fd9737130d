import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import mqttPacket from 'mqtt-packet';
import { createPacketReader, decodePackets, encodePacket, encodePublish, packetSize, sniffConnectLevel, type Packet, type PublishPacket, type ReadError } from './codec.js';

/** Three tests per frame: parse, generate, generate-then-parse (STYLE.md §3). */
function roundTrip(name: string, packet: Packet, hex: string, version: 4 | 5 = 4): void {
  describe(name, () => {
    it('parses', () => {
      const { packets, error } = decodePackets(Buffer.from(hex, 'hex'), version);
      expect(error).toBeUndefined();
      expect(packets).toHaveLength(1);
      expect(packets[0]).toMatchObject(packet);
    });
    it('generates', () => {
      expect(encodePacket(packet, version).toString('hex')).toBe(hex);
    });
    it('generates then parses', () => {
      expect(decodePackets(encodePacket(packet, version), version).packets[0]).toMatchObject(packet);
    });
  });
}

function rejects(message: string, hex: string, kind: ReadError['kind'] = 'malformed', version: 4 | 5 = 4): void {
  it(`rejects ${message}`, () => {
    const { packets, error } = decodePackets(Buffer.from(hex, 'hex'), version);
    expect(packets).toEqual([]);
    expect(error?.kind).toBe(kind);
  });
}

describe('codec', () => {
  roundTrip('PINGREQ', { cmd: 'pingreq' }, 'c000');
  roundTrip('PUBACK', { cmd: 'puback', messageId: 258 }, '40020102');
  roundTrip('QoS 0 PUBLISH', { cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false }, '300700036' + '12f6268' + '69');
  roundTrip('QoS 1 retained PUBLISH', { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: true, dup: false }, '33060001740001' + '78');
  roundTrip('5.0 PUBLISH with a content type', { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { contentType: 'a' } }, '300900017404030001' + '61' + '78', 5);
  roundTrip('SUBSCRIBE', { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] }, '82080001000361' + '2f2301');
  roundTrip('3.1.1 CONNECT', { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 60 }, '100d00044d5154540402003c000163');

  rejects('reserved flag bits in SUBSCRIBE', '80080001000361' + '2f2301');
  rejects('a PUBLISH with both QoS bits set', '36060001740001' + '78');
  rejects('ill-formed UTF-8 in a topic', '30050002c32800');
  rejects('an encoded surrogate in a topic', '30060003eda08078');
  rejects('a NUL in a topic', '3004000100' + '78');
  rejects('ill-formed UTF-8 in a SUBSCRIBE filter (mqtt-packet path)', '8206000100' + '01ff00');
  rejects('a PUBREL without its reserved flag bit', '60020001');
  rejects('a CONNECT with protocol level 9', '100d00044d5154540902003c000163', 'protocol-version');

  it('reports a packet above the maximum size as soon as its length is known', () => {
    let error: ReadError | undefined;
    const reader = createPacketReader({ maxPacketSize: 100, onPacket: () => undefined, onError: (e) => (error = e) });
    reader.push(Buffer.from([0x30, 0xe8, 0x07])); // PUBLISH, remaining length 1000, no body yet
    expect(error?.kind).toBe('too-large');
    expect(reader.buffered).toBeLessThan(10);
  });

  it('sniffs the protocol level of a CONNECT', () => {
    expect(sniffConnectLevel(Buffer.from('100d00044d5154540302003c000163', 'hex'))).toBe(3);
    expect(sniffConnectLevel(Buffer.from('c000', 'hex'))).toBeUndefined();
    expect(sniffConnectLevel(Buffer.from('100d0004', 'hex'))).toBeUndefined();
  });

  it('counts the fixed header in the packet size', () => {
    expect(packetSize(0)).toBe(2);
    expect(packetSize(127)).toBe(129);
    expect(packetSize(128)).toBe(131);
  });

  const topicLevel = fc.stringMatching(/^[a-z0-9]{1,8}$/);
  const topic = fc.array(topicLevel, { minLength: 1, maxLength: 5 }).map((levels) => levels.join('/'));
  const publish = fc.record({
    topic,
    payload: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
    retain: fc.boolean(),
    messageId: fc.integer({ min: 1, max: 65535 }),
    contentType: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  });

  test.prop([publish, fc.constantFrom(4 as const, 5 as const)])('round-trips any valid PUBLISH', (p, version) => {
    const packet: Packet = {
      cmd: 'publish',
      topic: p.topic,
      payload: p.payload,
      qos: p.qos,
      retain: p.retain,
      dup: false,
      ...(p.qos > 0 ? { messageId: p.messageId } : {}),
      ...(version === 5 && p.contentType !== undefined && !p.contentType.includes('\u0000') ? { properties: { contentType: p.contentType } } : {}),
    };
    const { packets, error } = decodePackets(encodePacket(packet, version), version);
    expect(error).toBeUndefined();
    expect(packets[0]).toMatchObject({ ...packet, payload: p.payload });
  });

  // Regression: MQTT.js sends a PUBLISH's first byte as its own WebSocket message; the fast path
  // once read the next message's length byte as a packet type (DISCONNECT 0x81 "both QoS bits").
  test.prop([fc.array(publish, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), fc.constantFrom(4 as const, 5 as const)])(
    'reads the same packets however the stream is cut, on both paths',
    (list, cuts, version) => {
    const bytes = Buffer.concat(list.map((p) => encodePacket({ cmd: 'publish', topic: p.topic, payload: p.payload, qos: p.qos, retain: false, dup: false, ...(p.qos > 0 ? { messageId: p.messageId } : {}) }, version)));
    const out: Packet[] = [];
    const reader = createPacketReader({ maxPacketSize: 1 << 20, protocolVersion: version, onPacket: (x) => out.push(x), onError: (e) => expect.fail(e.message) });
    for (let i = 0, c = 0; i < bytes.length; c++) {
      const chunk = cuts[c % cuts.length]!;
      reader.push(bytes.subarray(i, i + chunk));
      i += chunk;
    }
    expect(out.map((p) => (p as { topic: string }).topic)).toEqual(list.map((p) => p.topic));
  });
  it('reads a PUBLISH whose first byte came in its own message', () => {
    // Remaining length 54 = 0x36, which read as a first byte is a PUBLISH with both QoS bits set.
    const bytes = encodePublish({ cmd: 'publish', topic: 'a', payload: Buffer.alloc(48), qos: 1, messageId: 7, retain: false, dup: false }, 5);
    expect(bytes[1]).toBe(0x36);
    const out: Packet[] = [];
    const reader = createPacketReader({ maxPacketSize: 1 << 20, protocolVersion: 5, onPacket: (x) => out.push(x), onError: (e) => expect.fail(e.message) });
    reader.push(bytes.subarray(0, 1));
    reader.push(bytes.subarray(1));
    expect(out).toMatchObject([{ cmd: 'publish', topic: 'a', messageId: 7 }]);
  });

  test.prop([publish, fc.constantFrom(4 as const, 5 as const), fc.boolean()])('writes a PUBLISH byte for byte as mqtt-packet does', (p, version, dup) => {
    const packet: PublishPacket = { cmd: 'publish', topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: dup && p.qos > 0, ...(p.qos > 0 ? { messageId: p.messageId } : {}) };
    expect(encodePublish(packet, version).toString('hex')).toBe(mqttPacket.generate(packet, { protocolVersion: version }).toString('hex'));
  });

  test.prop([fc.array(fc.oneof(publish.map((p) => ({ kind: 'publish' as const, p })), fc.integer({ min: 1, max: 65535 }).map((id) => ({ kind: 'ack' as const, id }))), { minLength: 1, maxLength: 6 }), fc.constantFrom(4 as const, 5 as const)])(
    'reads the same packets on the fast path as mqtt-packet does',
    (items, version) => {
      const bytes = Buffer.concat(
        items.map((item) =>
          item.kind === 'ack'
            ? encodePacket({ cmd: 'puback', messageId: item.id }, version)
            : encodePublish({ cmd: 'publish', topic: item.p.topic, payload: item.p.payload, qos: item.p.qos, retain: item.p.retain, dup: false, ...(item.p.qos > 0 ? { messageId: item.p.messageId } : {}) }, version),
        ),
      );
      const slow: Packet[] = [];
      const parser = mqttPacket.parser({ protocolVersion: version });
      parser.on('packet', (x) => slow.push(x));
      parser.parse(bytes);
      const pick = (x: Packet) => {
        const { cmd, messageId, topic, payload, qos, retain, dup } = x as PublishPacket;
        return { cmd, messageId, topic: topic ?? undefined, payload: payload == null ? undefined : Buffer.from(payload as Buffer).toString('hex'), qos: cmd === 'publish' ? qos : undefined, retain: cmd === 'publish' ? retain : undefined, dup: cmd === 'publish' ? dup : undefined };
      };
      expect(decodePackets(bytes, version).packets.map(pick)).toEqual(slow.map(pick));
    },
  );

  // mqtt-packet's testRandom.js biases the first byte toward valid packet types; so do we.
  const firstByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x10, 0x30, 0x32, 0x34, 0x40, 0x50, 0x62, 0x70, 0x82, 0xa2, 0xc0, 0xe0, 0xf0));
  test.prop([firstByte, fc.uint8Array({ maxLength: 200 }), fc.constantFrom(4 as const, 5 as const)], { numRuns: 2000 })('never throws on arbitrary bytes', (first, rest, version) => {
    const bytes = Buffer.concat([Buffer.from([first]), rest]);
    expect(() => decodePackets(bytes, version)).not.toThrow();
  });
});
