import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../contract.js';
import { createBusBridge, publishToBus } from './bridge.js';
import { createMemoryBus } from './memory.js';
import type { Bus, BusMessage } from './types.js';

const message = (topic: string): BusMessage => ({ topic, payload: new Uint8Array([1]), origin: { protocol: 'test' }, qos: 0 });

describe('createBusBridge', () => {
  it('holds one bus subscription per distinct filter, counted, and drops it with the last holder', () => {
    const bus = createMemoryBus();
    const bridge = createBusBridge(bus, { onMessage: () => {} });
    bridge.hold('a/+');
    bridge.hold('a/+');
    bridge.hold('b');
    expect(bus.size).toBe(2);
    expect([...bridge.filters]).toEqual([
      ['a/+', 2],
      ['b', 1],
    ]);
    bridge.release('a/+');
    expect(bus.size).toBe(2);
    bridge.release('a/+');
    bridge.release('a/+');
    bridge.release('never');
    expect(bus.size).toBe(1);
    bridge.close();
    expect(bus.size).toBe(0);
  });

  it('hands a message matching several held filters over once', () => {
    const bus = createMemoryBus();
    const onMessage = vi.fn();
    const bridge = createBusBridge(bus, { onMessage });
    bridge.hold('a/#');
    bridge.hold('a/+');
    bridge.hold('a/b');
    bus.publish(message('a/b'));
    expect(onMessage).toHaveBeenCalledTimes(1);
    bus.publish(message('a/c'));
    expect(onMessage).toHaveBeenCalledTimes(2);
  });

  it('never hands back what it published, and wanted() ignores its own filters', () => {
    const bus = createMemoryBus();
    const onMessage = vi.fn();
    const bridge = createBusBridge(bus, { onMessage });
    bridge.hold('a/#');
    expect(bridge.wanted('a/b')).toBe(false);
    bridge.publish(message('a/b'));
    expect(onMessage).not.toHaveBeenCalled();

    const other = vi.fn();
    const sub = bus.subscribe('a/b', other);
    expect(bridge.wanted('a/b')).toBe(true);
    expect(bridge.wanted('a/c')).toBe(false);
    bridge.publish(message('a/b'));
    expect(other).toHaveBeenCalledTimes(1);
    expect(onMessage).not.toHaveBeenCalled();
    sub.unsubscribe();
  });

  it('refuses an invalid filter without counting it', () => {
    const bridge = createBusBridge(createMemoryBus(), { onMessage: () => {} });
    expect(() => bridge.hold('a/#/b')).toThrow(TypeError);
    expect(bridge.filters.size).toBe(0);
  });

  it('says wanted when the bus cannot tell', () => {
    const bus: Bus = { publish: () => {}, subscribe: (filter) => ({ filter, unsubscribe: () => {} }) };
    expect(createBusBridge(bus, { onMessage: () => {} }).wanted('x')).toBe(true);
  });
});

describe('publishToBus', () => {
  const log = (): Logger & { warn: ReturnType<typeof vi.fn> } => {
    const warn = vi.fn();
    const logger: Logger = { debug: () => {}, info: () => {}, warn, error: () => {}, child: () => logger };
    return logger as Logger & { warn: ReturnType<typeof vi.fn> };
  };

  it('logs an invalid topic instead of throwing', () => {
    const logger = log();
    expect(() => publishToBus(createMemoryBus(), message('a/+'), logger)).not.toThrow();
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('turns a networked rejection into a log line and a settled promise', async () => {
    const logger = log();
    const bus: Bus = { publish: () => Promise.reject(new Error('down')), subscribe: (filter) => ({ filter, unsubscribe: () => {} }) };
    await expect(publishToBus(bus, message('a'), logger)).resolves.toBeUndefined();
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });
});
