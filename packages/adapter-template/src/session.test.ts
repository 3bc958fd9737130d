import { describe, expect, it } from 'vitest';
import { createTestHarness } from '@protoplex/core/testing';
import { lines } from './adapter.js';
import { MetricName } from './constants.js';
import { createFailingBus, createRecordingBus, createRecordingLog, createRecordingMetrics, settle } from './_test-utils.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe('lines session', () => {
  it('answers PING with PONG and echoes text', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('PING');
    peer.send('ECHO hi there');
    expect(peer.takeText()).toEqual(['PONG', 'ECHO hi there']);
  });

  it('delivers a publish to its own subscribers and, under lines/, to other protocols on the bus', async () => {
    const harness = createTestHarness();
    const adapter = lines();
    const alice = await harness.connect(adapter);
    const bob = await harness.connect(adapter);
    const onBus: string[][] = [];
    harness.bus.subscribe('lines/sensors/+/temperature', (m) => onBus.push([m.topic, new TextDecoder().decode(m.payload), m.origin.protocol]));
    alice.send('SUB sensors.*.temperature');
    expect(alice.takeText()).toEqual(['OK SUB sensors.*.temperature']);
    bob.send('PUB sensors.kitchen.temperature 21.5');
    expect(alice.takeText()).toEqual(['MSG sensors.kitchen.temperature 21.5']);
    expect(bob.takeText()).toEqual([]);
    expect(onBus).toEqual([['lines/sensors/kitchen/temperature', '21.5', 'lines']]);
  });

  it('delivers a publish to the publisher when it subscribes to the topic itself', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('SUB room.#');
    peer.send('PUB room.lobby hi');
    expect(peer.takeText()).toEqual(['OK SUB room.#', 'MSG room.lobby hi']);
  });

  it('receives what other protocols publish under lines/', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('SUB home.#');
    peer.take();
    harness.bus.publish({ topic: 'lines/home/door', payload: text('open'), origin: { protocol: 'mqtt' }, qos: 0 });
    harness.bus.publish({ topic: 'home/door', payload: text('not under lines/'), origin: { protocol: 'mqtt' }, qos: 0 });
    expect(peer.takeText()).toEqual(['MSG home.door open']);
  });

  it("mounts its topics at the bus root with busPrefix ''", async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines({ busPrefix: '' }));
    peer.send('SUB home.*');
    peer.take();
    harness.bus.publish({ topic: 'home/door', payload: text('open'), origin: { protocol: 'mqtt' }, qos: 0 });
    expect(peer.takeText()).toEqual(['MSG home.door open']);
  });

  it('skips a bus topic whose level holds a space, which a MSG line cannot carry', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('SUB home.#');
    peer.take();
    harness.bus.publish({ topic: 'lines/home/front door', payload: text('open'), origin: { protocol: 'mqtt' }, qos: 0 });
    expect(peer.take()).toEqual([]);
  });

  it('stops delivery after UNSUB and releases the bus subscription', async () => {
    const bus = createRecordingBus();
    const harness = createTestHarness({ bus });
    const peer = await harness.connect(lines());
    peer.send('SUB a.b');
    expect(bus.size).toBe(1);
    peer.send('UNSUB a.b');
    peer.take();
    bus.publish({ topic: 'lines/a/b', payload: new Uint8Array(), origin: { protocol: 'x' }, qos: 0 });
    expect(peer.take()).toEqual([]);
    expect(bus.size).toBe(0);
  });

  it('answers an unknown command with ERR and closes with 1002, the message as reason', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('HELLO');
    expect(peer.takeText()).toEqual(['ERR bad-command unknown command "HELLO"']);
    expect(peer.closed).toEqual({ code: 1002, reason: 'unknown command "HELLO"', by: 'server' });
  });

  it('cuts a long close reason to 123 bytes at a character boundary', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('SUB ' + 'é'.repeat(200) + ' x');
    expect(peer.closed?.code).toBe(1002);
    expect(peer.closeViolations).toEqual([]);
  });

  it('closes with 1003 on a binary message', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send(text('PING'), true);
    expect(peer.takeText()).toEqual(['ERR binary-not-supported text messages only']);
    expect(peer.closed).toMatchObject({ code: 1003, by: 'server' });
  });

  it('refuses a topic that does not map, and one subscription beyond the limit, without closing', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines({ maxSubscriptions: 1 }));
    peer.send('SUB a.#.b');
    peer.send('PUB a.* x');
    peer.send('SUB a');
    peer.send('SUB a');
    peer.send('SUB b');
    expect(peer.takeText()).toEqual(['ERR bad-topic a.#.b', 'ERR bad-topic a.*', 'OK SUB a', 'OK SUB a', 'ERR too-many-subscriptions 1']);
    expect(peer.closed).toBeUndefined();
  });

  it('turns a failure that is not a ProtocolError into 1011 Internal error, logged, without showing it', async () => {
    const log = createRecordingLog();
    const bus = createRecordingBus();
    bus.subscribe = () => {
      throw new Error('driver lost its connection');
    };
    const harness = createTestHarness({ bus, log });
    const peer = await harness.connect(lines());
    peer.send('SUB a');
    expect(peer.takeText()).toEqual(['ERR internal Internal error']);
    expect(peer.closed).toMatchObject({ code: 1011, reason: 'Internal error' });
    expect(log.entries.filter((e) => e.level === 'error').map((e) => (e.fields.err as Error).message)).toEqual(['driver lost its connection']);
  });

  it('counts accepted publishes in lines_messages_published_total', async () => {
    const metrics = createRecordingMetrics();
    const harness = createTestHarness({ metrics });
    const peer = await harness.connect(lines());
    peer.send('PUB a 1');
    peer.send('PUB a 2');
    peer.send('PUB a.* refused');
    expect(metrics.counter('lines_messages_published_total')).toBe(2);
  });
});

describe('lines on the bus: only the filters its clients hold', () => {
  it('holds one bus subscription per distinct client filter, never #, and releases it with the last client', async () => {
    const bus = createRecordingBus();
    const harness = createTestHarness({ bus });
    const adapter = lines();
    const [a, b, c] = [await harness.connect(adapter), await harness.connect(adapter), await harness.connect(adapter)];
    a.send('SUB room.*');
    b.send('SUB room.*');
    c.send('SUB alarms.#');
    expect(bus.subscribed).toEqual(['lines/room/+', 'lines/alarms/#']);
    expect(adapter.stats()).toEqual({ sessions: 3, subscriptions: 3, busFilters: 2 });
    a.close();
    expect(bus.size).toBe(2);
    b.drop();
    expect(bus.size).toBe(1);
    c.send('UNSUB alarms.#');
    expect(bus.size).toBe(0);
    expect(adapter.stats()).toEqual({ sessions: 1, subscriptions: 0, busFilters: 0 });
  });

  it('delivers a bus message once to a client whose filters overlap', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('SUB room.*');
    peer.send('SUB room.#');
    peer.take();
    harness.bus.publish({ topic: 'lines/room/1', payload: text('hi'), origin: { protocol: 'mqtt' }, qos: 0 });
    expect(peer.takeText()).toEqual(['MSG room.1 hi']);
  });

  it('builds no bus message when nobody outside the adapter wants it, and one when somebody does', async () => {
    const bus = createRecordingBus();
    const harness = createTestHarness({ bus });
    const adapter = lines();
    const listener = await harness.connect(adapter);
    const publisher = await harness.connect(adapter);
    listener.send('SUB room.*');
    publisher.send('PUB room.1 only for our own clients');
    publisher.send('PUB elsewhere.1 for nobody');
    expect(bus.published).toEqual([]);
    expect(listener.takeText()).toEqual(['OK SUB room.*', 'MSG room.1 only for our own clients']);

    const onBus: string[] = [];
    bus.subscribe('lines/room/#', (m) => onBus.push(m.topic));
    publisher.send('PUB room.2 now for mqtt too');
    expect(bus.published.map((m) => m.topic)).toEqual(['lines/room/2']);
    expect(onBus).toEqual(['lines/room/2']);
    // Delivered once: by the adapter itself, not again through its own bus subscription.
    expect(listener.takeText()).toEqual(['MSG room.2 now for mqtt too']);
  });

  it('logs a publish that a networked bus rejects and keeps the session open', async () => {
    const log = createRecordingLog();
    const bus = createFailingBus(new Error('redis: connection refused'));
    const harness = createTestHarness({ bus, log });
    const adapter = lines();
    const peer = await harness.connect(adapter);
    peer.send('SUB room.*');
    peer.send('PUB room.1 still delivered here');
    expect(bus.attempts.map((m) => m.topic)).toEqual(['lines/room/1']);
    await settle();
    expect(log.entries.filter((e) => e.level === 'warn').map((e) => [e.message, (e.fields.err as Error).message, e.fields.topic])).toEqual([
      ['bus publish failed', 'redis: connection refused', 'lines/room/1'],
    ]);
    expect(peer.takeText()).toEqual(['OK SUB room.*', 'MSG room.1 still delivered here']);
    expect(peer.closed).toBeUndefined();
    peer.send('PING');
    expect(peer.takeText()).toEqual(['PONG']);
  });
});

describe('lines idle timeout on one sweep', () => {
  it('closes an idle connection with ERR idle and 1008, measured from the last command', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines({ idleTimeoutMs: 1000 }));
    harness.clock.advance(900);
    peer.send('PING');
    harness.clock.advance(900);
    expect(peer.closed).toBeUndefined();
    // Seen on the sweep's next tick: at most half the timeout (here 500 ms) after the deadline.
    harness.clock.advance(600);
    expect(peer.takeText()).toEqual(['PONG', 'ERR idle no command for 1000 ms']);
    expect(peer.closed).toMatchObject({ code: 1008, reason: 'no command for 1000 ms' });
    expect(peer.leaked).toEqual({ subscriptions: 0, timers: 0 });
  });

  it('runs one interval for every connection, and none once they are gone', async () => {
    const harness = createTestHarness();
    const adapter = lines({ idleTimeoutMs: 10_000 });
    const peers = [await harness.connect(adapter), await harness.connect(adapter), await harness.connect(adapter)];
    expect(harness.clock.pending).toBe(1);
    for (const peer of peers) expect(peer.scope.holdings()).toEqual({ subscriptions: 0, timers: 0 });
    harness.clock.advance(5_000);
    peers[0]!.send('PING');
    harness.clock.advance(6_000);
    expect(peers.map((p) => p.closed?.code)).toEqual([undefined, 1008, 1008]);
    peers[0]!.close();
    expect(harness.clock.pending).toBe(0);
  });

  it('never closes for silence with idleTimeoutMs 0, and starts no timer', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines({ idleTimeoutMs: 0 }));
    harness.clock.advance(24 * 3600_000);
    expect(peer.closed).toBeUndefined();
    expect(harness.clock.pending).toBe(0);
  });
});

describe('lines backpressure', () => {
  const fill = (count: number, from = 0): string[] => Array.from({ length: count }, (_, i) => `PUB feed.x ${from + i}`);

  it('pauses delivery when send() reports a full buffer, queues a few, drops the rest, and resumes on drain', async () => {
    const metrics = createRecordingMetrics();
    const harness = createTestHarness({ metrics });
    const adapter = lines({ maxQueuedMessages: 2 });
    const reader = await harness.connect(adapter, { highWaterMark: 1000 });
    const writer = await harness.connect(adapter);
    reader.send('SUB feed.*');
    reader.take();

    reader.setBufferedAmount(5000);
    for (const command of fill(5)) writer.send(command);
    // The first went to the transport (send() queued it and said false); two wait; two dropped.
    expect(reader.takeText()).toEqual(['MSG feed.x 0']);
    expect(metrics.counter(MetricName.MessagesDropped)).toBe(2);

    // Answers to the reader's own commands are not held back.
    reader.send('PING');
    expect(reader.takeText()).toEqual(['PONG']);

    reader.drain();
    expect(reader.takeText()).toEqual(['MSG feed.x 1', 'MSG feed.x 2']);
    for (const command of fill(2, 5)) writer.send(command);
    expect(reader.takeText()).toEqual(['MSG feed.x 5', 'MSG feed.x 6']);
  });

  it('stops flushing when the buffer fills again and goes on at the next drain', async () => {
    const harness = createTestHarness();
    const adapter = lines({ maxQueuedMessages: 10 });
    const reader = await harness.connect(adapter, { highWaterMark: 1000 });
    const writer = await harness.connect(adapter);
    reader.send('SUB feed.*');
    reader.take();
    // A buffer that fills as messages go out, as a socket's does: 600 bytes each, high-water mark 1000.
    const connection = reader.connection as { send(data: string | Uint8Array): boolean };
    const send = connection.send.bind(connection);
    connection.send = (data) => {
      reader.setBufferedAmount(reader.connection.bufferedAmount + 600);
      return send(data);
    };
    for (const command of fill(6)) writer.send(command);
    // 0 fits, 1 goes out with send() saying false, 2-5 wait.
    expect(reader.takeText()).toEqual(['MSG feed.x 0', 'MSG feed.x 1']);
    reader.drain();
    expect(reader.takeText()).toEqual(['MSG feed.x 2', 'MSG feed.x 3']);
    reader.drain();
    expect(reader.takeText()).toEqual(['MSG feed.x 4', 'MSG feed.x 5']);
    reader.drain();
    expect(reader.take()).toEqual([]);
  });

  it('forgets its backlog when the connection closes', async () => {
    const harness = createTestHarness();
    const adapter = lines();
    const reader = await harness.connect(adapter, { highWaterMark: 1000 });
    const writer = await harness.connect(adapter);
    reader.send('SUB feed.*');
    reader.setBufferedAmount(5000);
    for (const command of fill(3)) writer.send(command);
    reader.take();
    reader.drop();
    expect(() => reader.drain()).not.toThrow();
    expect(reader.take()).toEqual([]);
    expect(reader.leaked).toEqual({ subscriptions: 0, timers: 0 });
  });
});

describe('lines recognition of a first message', () => {
  const adapter = lines();

  it.each(['PING', 'ECHO hello', 'SUB a.*', 'UNSUB a.#', 'PUB a.b payload', 'PING extra'])('claims %j as lines.protoplex.dev', (message) => {
    expect(adapter.recognize(message, false)).toBe('lines.protoplex.dev');
  });

  it.each(['', 'PINGS', 'ping', 'SUBSCRIBE a', 'CONNECT\naccept-version:1.2\n\n\0', '[1,"realm",{}]', ' PING'])('leaves %j to other adapters', (message) => {
    expect(adapter.recognize(message, false)).toBeUndefined();
  });

  it('leaves binary messages, even ones that spell a verb, to other adapters', () => {
    expect(adapter.recognize(text('PING'), true)).toBeUndefined();
    expect(adapter.recognize(Uint8Array.of(0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54), true)).toBeUndefined();
  });

  it('reads only the first few characters of a long message', () => {
    expect(adapter.recognize('PUB t ' + 'x'.repeat(1_000_000), false)).toBe('lines.protoplex.dev');
    expect(adapter.recognize('x'.repeat(1_000_000), false)).toBeUndefined();
  });
});
