import { describe, expect, it } from 'vitest';
import { createTestHarness } from '@protoplex/core/testing';
import { lines } from './adapter.js';

describe('lines session', () => {
  it('answers PING with PONG and echoes text', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('PING');
    peer.send('ECHO hi there');
    expect(peer.takeText()).toEqual(['PONG', 'ECHO hi there']);
  });

  it('delivers a publish to matching subscribers through the bus, mapping . and * onto / and +', async () => {
    const harness = createTestHarness();
    const adapter = lines();
    const alice = await harness.connect(adapter);
    const bob = await harness.connect(adapter);
    const onBus: string[] = [];
    harness.bus.subscribe('sensors/+/temperature', (m) => onBus.push(m.topic));
    alice.send('SUB sensors.*.temperature');
    expect(alice.takeText()).toEqual(['OK SUB sensors.*.temperature']);
    bob.send('PUB sensors.kitchen.temperature 21.5');
    expect(alice.takeText()).toEqual(['MSG sensors.kitchen.temperature 21.5']);
    expect(onBus).toEqual(['sensors/kitchen/temperature']);
  });

  it('receives messages other protocols publish on the bus', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('SUB home.#');
    peer.take();
    harness.bus.publish({ topic: 'home/door', payload: new TextEncoder().encode('open'), origin: { protocol: 'mqtt' }, qos: 0 });
    expect(peer.takeText()).toEqual(['MSG home.door open']);
  });

  it('stops delivery after UNSUB', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('SUB a.b');
    peer.send('UNSUB a.b');
    peer.take();
    harness.bus.publish({ topic: 'a/b', payload: new Uint8Array(), origin: { protocol: 'x' }, qos: 0 });
    expect(peer.take()).toEqual([]);
  });

  it('answers an unknown command with ERR and closes with 1002', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send('HELLO');
    expect(peer.takeText()).toEqual(['ERR bad-command unknown command "HELLO"']);
    expect(peer.closed).toMatchObject({ code: 1002, by: 'server' });
  });

  it('closes with 1003 on a binary message', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines());
    peer.send(new Uint8Array([1, 2, 3]));
    expect(peer.closed?.code).toBe(1003);
  });

  it('refuses a subscription beyond the limit without closing', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines({ maxSubscriptions: 1 }));
    peer.send('SUB a');
    peer.send('SUB b');
    expect(peer.takeText()).toEqual(['OK SUB a', 'ERR too-many-subscriptions 1']);
    expect(peer.closed).toBeUndefined();
  });

  it('closes an idle connection with 1008 after the idle timeout, measured from the last command', async () => {
    const harness = createTestHarness();
    const peer = await harness.connect(lines({ idleTimeoutMs: 1000 }));
    harness.clock.advance(900);
    peer.send('PING');
    harness.clock.advance(900);
    expect(peer.closed).toBeUndefined();
    harness.clock.advance(200);
    expect(peer.closed).toMatchObject({ code: 1008, reason: 'idle' });
    expect(peer.leaked).toEqual({ subscriptions: 0, timers: 0 });
  });
});
