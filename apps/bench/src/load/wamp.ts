/**
 * WAMP v2 loads, spoken with raw `ws` (subprotocol `wamp.2.json`, one JSON array per text
 * message, realm `realm1`); no WAMP client library, so the load costs the same against every
 * router:
 *
 * - `wamp-fanout`: `subscribers` sessions SUBSCRIBE to `bench.fanout`; one publisher keeps
 *   `inflight` PUBLISHes (no `acknowledge`) not yet delivered as EVENT to every subscriber.
 *   Events delivered per second; latency is PUBLISH to each EVENT.
 * - `wamp-calls`: one callee REGISTERs `bench.echo` and answers every INVOCATION with a YIELD of
 *   its arguments; one caller keeps `inflight` CALLs outstanding. Calls per second; latency is
 *   CALL to RESULT.
 * - `wamp-flood`: one publisher PUBLISHes as fast as the router reads (bounded only by its own
 *   `ws` send buffer); a `slow` subscriber stops reading (its socket is paused), a `fast` one
 *   reads everything. Counts and times the fast subscriber's EVENTs; the number that matters is
 *   the server's RSS at the end of the window (a router without backpressure queues every
 *   EVENT for the slow subscriber).
 *
 * Arguments are `[seq, sentAt, pad]`: a sequence number, the send time (performance.now()) and
 * padding so that the JSON of the arguments list is about `size` bytes.
 */
import { performance } from 'node:perf_hooks';
import { MessageType, WAMP_SERIALIZER_PROTOCOLS } from '@protoplex/wamp';
import type { WebSocket } from 'ws';
import { closeAll, connect, connectMany, FanoutLoop, Loop, numberOption, sleep, trafficSession, type LoadGenerator, type Traffic } from './common.js';

/** Message types of the WAMP v2 Basic Profile, from the router package: one table in the repository. */
export const WAMP = MessageType;

export const WAMP_JSON = WAMP_SERIALIZER_PROTOCOLS.json;
export const REALM = 'realm1';
const TOPIC = 'bench.fanout';
const PROCEDURE = 'bench.echo';

type Message = [number, ...unknown[]];

/** A joined session: the socket, and the next request id (session scope, from 1). */
interface WampClient {
  readonly ws: WebSocket;
  nextId(): number;
  /** Sends `message` and resolves with the first reply of type `expect` whose request id is `message[1]`. */
  request(message: Message, expect: number): Promise<Message>;
}

const parse = (data: Buffer): Message => JSON.parse(data.toString()) as Message;

/**
 * Connects, sends HELLO with `roles`, waits for WELCOME. Every later message goes to
 * `onMessage` unless a pending `request` takes it.
 */
async function join(port: number, roles: Record<string, object>, onMessage: (message: Message, data: Buffer) => void): Promise<WampClient> {
  const ws = await connect(`ws://127.0.0.1:${port}/`, [WAMP_JSON]);
  let id = 0;
  const waiting = new Map<number, { expect: number; resolve: (m: Message) => void; reject: (e: Error) => void }>();
  let welcome: { resolve: () => void; reject: (e: Error) => void } | undefined;
  ws.on('message', (data: Buffer) => {
    const message = parse(data);
    if (welcome) {
      const w = welcome;
      welcome = undefined;
      if (message[0] === WAMP.WELCOME) w.resolve();
      else w.reject(new Error(`HELLO answered with ${data.toString().slice(0, 200)}`));
      return;
    }
    // Replies to SUBSCRIBE/REGISTER carry the request id second; ERROR carries it third.
    const requestId = message[0] === WAMP.ERROR ? message[2] : message[1];
    const pending = waiting.size > 0 ? waiting.get(requestId as number) : undefined;
    if (pending) {
      waiting.delete(requestId as number);
      if (message[0] === pending.expect) pending.resolve(message);
      else pending.reject(new Error(`expected message type ${pending.expect}, got ${data.toString().slice(0, 200)}`));
      return;
    }
    onMessage(message, data);
  });
  await new Promise<void>((resolve, reject) => {
    welcome = { resolve, reject };
    ws.once('close', (code) => welcome && reject(new Error(`closed with ${code} before WELCOME`)));
    ws.send(JSON.stringify([WAMP.HELLO, REALM, { roles }]));
  });
  return {
    ws,
    nextId: () => ++id,
    request(message, expect) {
      const done = new Promise<Message>((resolve, reject) => waiting.set(message[1] as number, { expect, resolve, reject }));
      ws.send(JSON.stringify(message));
      return done;
    },
  };
}

/** `[seq, sentAt, pad]` with the padding that brings its JSON to about `size` bytes. */
function args(seq: number, size: number): [number, number, string] {
  const sentAt = performance.now();
  const head = `[${seq},${sentAt},""]`.length;
  return [seq, sentAt, head >= size ? '' : 'x'.repeat(size - head)];
}

/** The arguments list of an EVENT (index 4), RESULT (3) or INVOCATION (4). */
const argsOf = (message: Message, index: number): [number, number] | undefined => {
  const list = message[index];
  return Array.isArray(list) && typeof list[0] === 'number' && typeof list[1] === 'number' ? (list as [number, number]) : undefined;
};

/** Subscribes `count` sessions to TOPIC, `parallel` at a time; EVENTs go to `onEvent`. */
async function subscribers(port: number, count: number, loop: Loop, onEvent: (message: Message) => void): Promise<WebSocket[]> {
  const onMessage = (message: Message, data: Buffer): void => {
    if (message[0] === WAMP.EVENT) onEvent(message);
    else loop.window.error(`subscriber got ${data.toString().slice(0, 120)}`);
  };
  return connectMany(
    count,
    async () => {
      const client = await join(port, { subscriber: {} }, onMessage);
      await client.request([WAMP.SUBSCRIBE, client.nextId(), {}, TOPIC], WAMP.SUBSCRIBED);
      return loop.watch(client.ws, 'subscriber');
    },
    50,
  );
}

export const wampFanoutLoad: LoadGenerator = async ({ port, options }) => {
  const count = numberOption(options, 'subscribers', 10);
  const inflight = numberOption(options, 'inflight', 4);
  const size = numberOption(options, 'size', 64);
  let publisher: WampClient | undefined;
  const loop = new FanoutLoop(count, (seq) => publisher!.ws.send(JSON.stringify([WAMP.PUBLISH, publisher!.nextId(), {}, TOPIC, args(seq, size)])));
  const subs = await subscribers(port, count, loop, (message) => {
    const stamp = argsOf(message, 4);
    if (stamp) loop.delivered(stamp[0], stamp[1]);
    else loop.window.error(`EVENT without the stamp: ${JSON.stringify(message).slice(0, 120)}`);
  });
  publisher = await join(port, { publisher: {} }, (message) => loop.window.error(`publisher got ${JSON.stringify(message).slice(0, 120)}`));
  loop.watch(publisher.ws, 'publisher');
  // Give the router a moment to settle every subscription before the first publish.
  await sleep(50);
  return trafficSession(options, loop.traffic([publisher.ws, ...subs], () => loop.publish(inflight)));
};

export const wampCallsLoad: LoadGenerator = async ({ port, options }) => {
  const inflight = numberOption(options, 'inflight', 100);
  const size = numberOption(options, 'size', 64);
  const loop = new Loop();
  const { window } = loop;
  const callee = await join(port, { callee: {} }, (message, data) => {
    if (message[0] !== WAMP.INVOCATION) return void window.error(`callee got ${data.toString().slice(0, 120)}`);
    // YIELD the invocation's arguments back.
    callee.ws.send(JSON.stringify([WAMP.YIELD, message[1], {}, message[4] ?? []]));
  });
  loop.watch(callee.ws, 'callee');
  await callee.request([WAMP.REGISTER, callee.nextId(), {}, PROCEDURE], WAMP.REGISTERED);
  let seq = 0;
  let caller: WampClient | undefined;
  const call = (): void => {
    loop.outstanding++;
    caller!.ws.send(JSON.stringify([WAMP.CALL, caller!.nextId(), {}, PROCEDURE, args(seq++, size)]));
  };
  caller = await join(port, { caller: {} }, (message, data) => {
    loop.outstanding--;
    const stamp = message[0] === WAMP.RESULT ? argsOf(message, 3) : undefined;
    if (stamp) window.record(stamp[1]);
    else window.error(`caller got ${data.toString().slice(0, 120)}`);
    if (loop.running) call();
  });
  loop.watch(caller.ws, 'caller');
  return trafficSession(
    options,
    loop.traffic([caller.ws, callee.ws], () => {
      for (let i = 0; i < inflight; i++) call();
    }),
  );
};

export const wampFloodLoad: LoadGenerator = async ({ port, options }) => {
  const size = numberOption(options, 'size', 64);
  /** The publisher's own `ws` buffer may hold this much before it waits a turn of the event loop. */
  const highWater = numberOption(options, 'highWaterBytes', 256 * 1024);
  const loop = new Loop();
  const { window } = loop;
  const [slow, fast] = await subscribers(port, 2, loop, (message) => {
    const stamp = argsOf(message, 4);
    if (stamp) window.record(stamp[1]);
  });
  const publisher = await join(port, { publisher: {} }, (message) => window.error(`publisher got ${JSON.stringify(message).slice(0, 120)}`));
  loop.watch(publisher.ws, 'publisher');
  await sleep(50);
  // The slow subscriber stops reading: the router's writes to it back up.
  slow!.pause();
  let seq = 0;
  let timer: NodeJS.Immediate | undefined;
  const flood = (): void => {
    timer = undefined;
    if (!loop.running) return;
    for (let i = 0; i < 256 && publisher.ws.bufferedAmount < highWater; i++) {
      publisher.ws.send(JSON.stringify([WAMP.PUBLISH, publisher.nextId(), {}, TOPIC, args(seq++, size)]));
    }
    timer = setImmediate(flood);
  };
  const sockets = [publisher.ws, slow!, fast!];
  const traffic: Traffic = {
    window,
    start: () => {
      loop.running = true;
      flood();
    },
    stop: async () => {
      loop.running = false;
      if (timer) clearImmediate(timer);
    },
    close: async () => {
      loop.closing = true;
      await closeAll(sockets);
    },
  };
  return trafficSession(options, traffic);
};
