/**
 * How an adapter joins the bus: it holds on the bus exactly the filters its clients hold, one
 * bus subscription per distinct filter, counted, and never `#`. Then `hasSubscribers` can answer
 * no, a message nobody wants is never built, and on several nodes each node receives only what
 * its own clients asked for.
 *
 * The adapter keeps its clients' subscriptions in its own index (a `TopicTrie`) and matches each
 * message there once; the bridge only decides which messages reach the adapter at all.
 */
import type { Logger } from '../contract.js';
import { silentLogger } from '../logging.js';
import type { Bus, BusHandler, BusMessage, BusSubscription } from './types.js';

export interface BusBridgeOptions {
  /**
   * Receives each bus message that matches at least one held filter, once, however many held
   * filters match it, and never a message this bridge published itself.
   */
  readonly onMessage: BusHandler;
  /** Where a failed publish is reported (warn). @default silentLogger */
  readonly log?: Logger;
}

export interface BusBridge {
  /** One more holder of `filter` (a valid bus filter). The first holder subscribes on the bus. */
  hold(filter: string): void;
  /** One holder fewer. The last unsubscribes. Harmless for a filter that is not held. */
  release(filter: string): void;
  /**
   * Whether a message on `topic` could reach anybody outside this bridge. False means: do not
   * build the bus message. True when the bus cannot tell (a driver without `hasSubscribers`).
   */
  wanted(topic: string): boolean;
  /**
   * Publishes on the bus. The bridge's own subscriptions never hand the message back to
   * `onMessage` (the adapter has already delivered it to its own clients). Never throws: an
   * invalid topic or a failed networked publish is logged; the returned promise, when the driver
   * gives one, never rejects.
   */
  publish(message: BusMessage): void | Promise<void>;
  /** Held filters and how many holders each has (stats, tests). */
  readonly filters: ReadonlyMap<string, number>;
  /** Releases every filter at once (adapter shutdown). */
  close(): void;
}

/**
 * Creates the bridge between one adapter and the bus. Make one per adapter (in `setup`, on the
 * server-wide context) or per connection (on the connection's context), never one per
 * subscription: overlapping filters of one bridge are deduplicated, those of two bridges are not.
 */
export function createBusBridge(bus: Bus, options: BusBridgeOptions): BusBridge {
  const log = options.log ?? silentLogger;
  const onMessage = options.onMessage;
  const held = new Map<string, { count: number; subscription: BusSubscription }>();
  const counts = new Map<string, number>();
  // Messages this bridge has seen (published, or already handed over through another held
  // filter). Drivers hand one object to every matching subscription (the Bus contract), and a
  // WeakSet forgets each message with its last reference.
  const seen = new WeakSet<BusMessage>();
  const receive: BusHandler = (message) => {
    if (seen.has(message)) return;
    seen.add(message);
    onMessage(message);
  };
  const bridge: BusBridge = {
    filters: counts,
    hold(filter) {
      const entry = held.get(filter);
      if (entry) {
        entry.count++;
        counts.set(filter, entry.count);
        return;
      }
      // Subscribe first: an invalid filter throws here and leaves nothing counted.
      const subscription = bus.subscribe(filter, receive, { owner: bridge });
      held.set(filter, { count: 1, subscription });
      counts.set(filter, 1);
    },
    release(filter) {
      const entry = held.get(filter);
      if (!entry) return;
      if (--entry.count > 0) {
        counts.set(filter, entry.count);
        return;
      }
      held.delete(filter);
      counts.delete(filter);
      entry.subscription.unsubscribe();
    },
    wanted(topic) {
      return bus.hasSubscribers ? bus.hasSubscribers(topic, bridge) : true;
    },
    publish(message) {
      seen.add(message);
      return publishToBus(bus, message, log);
    },
    close() {
      for (const entry of held.values()) entry.subscription.unsubscribe();
      held.clear();
      counts.clear();
    },
  };
  return bridge;
}

/**
 * Publishes on `bus` without letting a failure escape: an invalid topic (thrown) or a networked
 * driver's rejection is logged. For publishers that hold no filters (an OCPP station's traffic);
 * adapters with subscribers of their own publish through their {@link BusBridge}.
 */
export function publishToBus(bus: Bus, message: BusMessage, log: Logger = silentLogger): void | Promise<void> {
  const report = (error: unknown): void => log.warn({ err: error, topic: message.topic }, 'bus publish failed');
  try {
    const done = bus.publish(message);
    if (done) return done.then(undefined, report);
  } catch (error) {
    report(error);
  }
  return undefined;
}
