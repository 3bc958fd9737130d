/**
 * Write-through persistence: what reaches the store, when, and how often; session expiry inside
 * the store.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryPersistence, type MqttPersistence, type StoredSession } from './persistence.js';
import type { PublishPacket } from './codec.js';
import { createTestBroker, flush } from './_test-utils.js';

const pub = (topic: string, payload: string, extra: Partial<PublishPacket> = {}): PublishPacket => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false, ...extra });

/** The memory store, recording every session write. */
function recordingStore(now?: () => number): MqttPersistence & { puts: StoredSession[]; deletes: string[]; memory: ReturnType<typeof createMemoryPersistence> } {
  const memory = createMemoryPersistence(now ? { now } : {});
  const puts: StoredSession[] = [];
  const deletes: string[] = [];
  return {
    ...memory,
    memory,
    puts,
    deletes,
    async putSession(session) {
      puts.push(structuredClone(session));
      await memory.putSession(session);
    },
    async deleteSession(clientId) {
      deletes.push(clientId);
      await memory.deleteSession(clientId);
    },
    getSession: (clientId) => memory.getSession(clientId),
    putRetained: (message) => memory.putRetained(message),
    deleteRetained: (topic) => memory.deleteRetained(topic),
    listRetained: () => memory.listRetained(),
  };
}

describe('write-through persistence', () => {
  it('writes a persistent session on SUBSCRIBE and UNSUBSCRIBE while its client is connected, once per tick', async () => {
    const store = recordingStore();
    const broker = createTestBroker({ persistence: store });
    const a = await broker.client({ version: 5, clientId: 'p', clean: false, properties: { sessionExpiryInterval: 60 } });
    a.send(
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x/#', qos: 1 }] },
      { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'y/#', qos: 2 }] },
    );
    expect(store.puts).toHaveLength(0);
    broker.harness.clock.advance(0);
    await flush();
    expect(store.puts).toHaveLength(1);
    expect(store.puts[0]?.subscriptions.map((s) => s.filter)).toEqual(['x/#', 'y/#']);
    expect(store.puts[0]?.disconnectedAt).toBeUndefined();
    a.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['x/#'] });
    broker.harness.clock.advance(0);
    await flush();
    expect(store.puts.at(-1)?.subscriptions.map((s) => s.filter)).toEqual(['y/#']);
  });

  it('writes queued and in-flight QoS 1 messages as they change, batched per tick', async () => {
    const store = recordingStore();
    const broker = createTestBroker({ persistence: store });
    const sub = await broker.client({ clientId: 'q', clean: false });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 1 }] });
    sub.peer.drop();
    await flush();
    const publisher = await broker.client();
    const before = store.puts.length;
    publisher.send(pub('q/1', 'one', { qos: 1, messageId: 1 }), pub('q/2', 'two', { qos: 1, messageId: 2 }), pub('q/3', 'three', { qos: 1, messageId: 3 }));
    broker.harness.clock.advance(0);
    await flush();
    // Three messages in one tick: one write holding all three.
    expect(store.puts.length - before).toBe(1);
    expect(store.puts.at(-1)?.queue.map((d) => Buffer.from(d.message.payload).toString())).toEqual(['one', 'two', 'three']);
    // After a crash (no shutdown), a new broker on the same store still has them.
    const restarted = createTestBroker({ persistence: store });
    const back = await restarted.client({ clientId: 'q', clean: false });
    const packets = back.take().filter((p): p is PublishPacket => p.cmd === 'publish');
    expect(packets.map((p) => p.payload.toString())).toEqual(['one', 'two', 'three']);
    restarted.harness.clock.advance(0);
    await flush();
    expect(store.puts.at(-1)?.inflight).toHaveLength(3);
    back.send({ cmd: 'puback', messageId: packets[0]!.messageId! });
    restarted.harness.clock.advance(0);
    await flush();
    expect(store.puts.at(-1)?.inflight).toHaveLength(2);
  });

  it('never writes sessions that end with their connection', async () => {
    const store = recordingStore();
    const broker = createTestBroker({ persistence: store });
    const a = await broker.client({ clientId: 'clean' });
    a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'c/#', qos: 1 }] });
    a.send(pub('c/1', 'x', { qos: 1, messageId: 2 }));
    broker.harness.clock.advance(0);
    a.peer.drop();
    await flush();
    expect(store.puts).toEqual([]);
  });

  it('stores when an offline 5.0 session expires, drops it then, and keeps 3.1.1 sessions forever', async () => {
    let now = 0;
    const store = recordingStore(() => now);
    const broker = createTestBroker({ persistence: store });
    now = broker.harness.clock.now();
    const a = await broker.client({ version: 5, clientId: 'e', clean: false, properties: { sessionExpiryInterval: 30 } });
    a.peer.drop();
    const b = await broker.client({ clientId: 'forever', clean: false });
    b.peer.drop();
    await flush();
    const stored = store.puts.find((s) => s.clientId === 'e');
    expect(stored?.expiresAt).toBe(stored!.disconnectedAt! + 30_000);
    expect(store.puts.find((s) => s.clientId === 'forever')?.expiresAt).toBeUndefined();
    // The store on its own (say, after a restart) honours expiresAt.
    now += 31_000;
    expect(await store.memory.getSession('e')).toBeUndefined();
    expect(await store.memory.getSession('forever')).toBeDefined();
    // The broker holding the session deletes it from the store when it expires.
    broker.harness.clock.advance(31_000);
    await flush();
    expect(store.deletes).toContain('e');
  });
});
