/**
 * WAMP references:
 *
 * - `ws-wamp`: a raw `ws` server that relays the bench's frames with the least work that still
 *   behaves as a router for these flows (JSON only, realm and roles not checked, no meta API,
 *   no options honoured but `acknowledge`): HELLO -> WELCOME, SUBSCRIBE -> SUBSCRIBED (one
 *   subscription id per topic), PUBLISH -> one EVENT encoded once and written to every other
 *   subscriber of that exact topic, REGISTER -> REGISTERED, CALL -> INVOCATION to the one callee
 *   with an invocation id mapped back to the caller's request id, YIELD -> RESULT, GOODBYE ->
 *   GOODBYE. No backpressure: like `ws` itself, it queues whatever a slow reader does not take.
 * - `fox-wamp`: fox-wamp 0.7's `FoxRouter` (in-memory engine; its SQLite engine is a separate
 *   module the bench never loads), `listenWAMP` on an HTTP server the bench binds to 127.0.0.1
 *   (given only a port, `ws` would listen on every interface). Realms are made on first HELLO.
 */
import { MessageType, WAMP_SERIALIZER_PROTOCOLS } from '@protoplex/wamp';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { WebSocketServer, type WebSocket } from 'ws';
import { closeAll, listen } from './ws.js';
import { UnavailableError, type ServerFactory } from './types.js';

const WAMP_JSON = WAMP_SERIALIZER_PROTOCOLS.json;

// The message codes from the router package itself: one table in the repository.
const M = MessageType;

interface Peer {
  readonly ws: WebSocket;
  readonly topics: Set<Topic>;
  readonly procedures: Set<string>;
}

interface Topic {
  readonly id: number;
  readonly uri: string;
  readonly subscribers: Set<Peer>;
}

/** Arguments and keyword arguments from `message[from]` on, as the message carried them. */
const payloadOf = (message: unknown[], from: number): unknown[] => message.slice(from, from + 2);

export const wsWamp: ServerFactory = async () => {
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    perMessageDeflate: false,
    maxPayload: 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has(WAMP_JSON) ? WAMP_JSON : false),
  });
  let ids = 0;
  const topics = new Map<string, Topic>();
  const topicsById = new Map<number, Topic>();
  const procedures = new Map<string, { id: number; callee: Peer }>();
  const invocations = new Map<number, { caller: Peer; request: number }>();
  const welcomeDetails = { roles: { broker: { features: {} }, dealer: { features: {} } } };

  const send = (peer: Peer, message: unknown[]): void => peer.ws.send(JSON.stringify(message));
  const error = (peer: Peer, type: number, request: unknown, uri: string): void => send(peer, [M.ERROR, type, request, {}, uri]);

  wss.on('connection', (ws) => {
    const peer: Peer = { ws, topics: new Set(), procedures: new Set() };
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return void ws.close(1003);
      let message: unknown[];
      try {
        message = JSON.parse(data.toString()) as unknown[];
      } catch {
        return void ws.close(1002);
      }
      switch (message[0]) {
        case M.HELLO:
          return send(peer, [M.WELCOME, ++ids, welcomeDetails]);
        case M.SUBSCRIBE: {
          const uri = message[3] as string;
          let topic = topics.get(uri);
          if (!topic) {
            topic = { id: ++ids, uri, subscribers: new Set() };
            topics.set(uri, topic);
            topicsById.set(topic.id, topic);
          }
          topic.subscribers.add(peer);
          peer.topics.add(topic);
          return send(peer, [M.SUBSCRIBED, message[1], topic.id]);
        }
        case M.UNSUBSCRIBE: {
          const topic = topicsById.get(message[2] as number);
          topic?.subscribers.delete(peer);
          if (topic) peer.topics.delete(topic);
          return send(peer, [M.UNSUBSCRIBED, message[1]]);
        }
        case M.PUBLISH: {
          const publication = ++ids;
          const topic = topics.get(message[3] as string);
          if (topic && topic.subscribers.size > 0) {
            // One encoding for every subscriber: the subscription id is the topic's.
            const event = Buffer.from(JSON.stringify([M.EVENT, topic.id, publication, {}, ...payloadOf(message, 4)]));
            for (const subscriber of topic.subscribers) if (subscriber !== peer) subscriber.ws.send(event, { binary: false });
          }
          if ((message[2] as { acknowledge?: boolean } | undefined)?.acknowledge) send(peer, [M.PUBLISHED, message[1], publication]);
          return;
        }
        case M.REGISTER: {
          const uri = message[3] as string;
          if (procedures.has(uri)) return error(peer, M.REGISTER, message[1], 'wamp.error.procedure_already_exists');
          const id = ++ids;
          procedures.set(uri, { id, callee: peer });
          peer.procedures.add(uri);
          return send(peer, [M.REGISTERED, message[1], id]);
        }
        case M.CALL: {
          const registration = procedures.get(message[3] as string);
          if (!registration) return error(peer, M.CALL, message[1], 'wamp.error.no_such_procedure');
          const invocation = ++ids;
          invocations.set(invocation, { caller: peer, request: message[1] as number });
          return send(registration.callee, [M.INVOCATION, invocation, registration.id, {}, ...payloadOf(message, 4)]);
        }
        case M.YIELD: {
          const pending = invocations.get(message[1] as number);
          if (!pending) return;
          invocations.delete(message[1] as number);
          return send(pending.caller, [M.RESULT, pending.request, {}, ...payloadOf(message, 3)]);
        }
        case M.ERROR: {
          // A callee's error for an INVOCATION goes back to its caller.
          if (message[1] !== M.INVOCATION) return;
          const pending = invocations.get(message[2] as number);
          if (!pending) return;
          invocations.delete(message[2] as number);
          return send(pending.caller, [M.ERROR, M.CALL, pending.request, {}, ...message.slice(4)]);
        }
        case M.GOODBYE:
          send(peer, [M.GOODBYE, {}, 'wamp.close.goodbye_and_out']);
          return void ws.close(1000);
        default:
          return void ws.close(1002);
      }
    });
    ws.on('close', () => {
      for (const topic of peer.topics) topic.subscribers.delete(peer);
      for (const uri of peer.procedures) procedures.delete(uri);
      for (const [id, pending] of invocations) if (pending.caller === peer) invocations.delete(id);
    });
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};

/** What the bench uses of fox-wamp (CommonJS, no types). */
interface FoxRouter {
  listenWAMP(wsOptions: Record<string, unknown>): WebSocketServer;
}

export const foxWamp: ServerFactory = async () => {
  let Router: new () => FoxRouter;
  try {
    Router = createRequire(import.meta.url)('fox-wamp') as new () => FoxRouter;
  } catch (error) {
    throw new UnavailableError(`fox-wamp does not load: ${(error as Error).message}`);
  }
  const router = new Router();
  const http: Server = createServer();
  // fox-wamp hands these options to its `ws` WebSocketServer and accepts `wamp.2.json` only.
  const wss = router.listenWAMP({ server: http, perMessageDeflate: false, maxPayload: 1024 * 1024 });
  // fox-wamp 0.7.28 lib/wamp/transport.js:10: a failed write (a client that went away with
  // writes pending, as when the load closes a flooded session) calls `this.close`, which its
  // writer does not have, and the TypeError would kill the server process. The bench's clients
  // stay connected inside a window, so this only happens when a session ends; let it pass.
  process.on('uncaughtException', (error) => {
    if (error instanceof TypeError && /this\.close is not a function/.test(error.message)) return;
    console.error(error);
    process.exit(1);
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};
