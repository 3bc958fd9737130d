/**
 * The demo server: every adapter on one port. MQTT, STOMP, WAMP, SIP and the template's lines
 * protocol on `/`, OCPP on `/ocpp/:identity`; all share one bus, so topics cross protocols.
 *
 * `/` also serves clients that offer no subprotocol (stompjs's `Stomp.over(() => new
 * WebSocket(url))`, embedded MQTT clients, `wscat`): the first message picks the adapter. OCPP's
 * path does not: OCPP-J requires the station to offer its version, and `onNoMatch: 'close'`
 * answers one that does not as the specification says.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createMemoryBus, encodeTopicLevel, type Bus, type BusMessage } from '@protoplex/core';
import { createServer, type ProtoplexServer } from '@protoplex/server';
import { mqtt } from '@protoplex/mqtt';
import { stomp } from '@protoplex/stomp';
import { ocpp } from '@protoplex/ocpp';
import { lines } from '@protoplex/adapter-template';
import { wamp } from '@protoplex/wamp';
import { sip } from '@protoplex/sip';
import type { Logger } from 'pino';
import { renderPage, type ServedId } from './page.js';

export interface DemoOptions {
  /** @default 8080, or $PORT */
  port?: number;
  /** @default '127.0.0.1', or $HOST */
  host?: string;
  logger?: Logger;
  /** Milliseconds the OCPP command endpoint waits for the station's answer. @default 10000 */
  commandTimeoutMs?: number;
  /** The bus every adapter shares. @default a new in-memory bus */
  bus?: Bus;
  /** The SIP registrar's domain. @default 'example.com', or $SIP_DOMAIN */
  sipDomain?: string;
  /** SIP users and their passwords. @default alice/alice and bob/bob, or $SIP_USERS (`alice:secret,bob:secret`) */
  sipUsers?: Readonly<Record<string, string>>;
}

/** `alice:secret,bob:secret` to `{ alice: 'secret', bob: 'secret' }`. */
export function parseSipUsers(text: string): Record<string, string> {
  const users: Record<string, string> = {};
  for (const entry of text.split(',')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const colon = trimmed.indexOf(':');
    if (colon <= 0) throw new TypeError(`SIP_USERS entries are user:password, got ${JSON.stringify(trimmed)}`);
    users[trimmed.slice(0, colon)] = trimmed.slice(colon + 1);
  }
  return users;
}

export interface Demo {
  readonly server: ProtoplexServer;
  readonly url: string;
  close(): Promise<void>;
}

const ROOT_PATH = '/';
const OCPP_PATH = '/ocpp/:identity';

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const bus = options.bus ?? createMemoryBus();
  const mqttAdapter = mqtt();
  const stompAdapter = stomp();
  const ocppAdapter = ocpp();
  // At the bus root, so that lines `demo.a` is MQTT `demo/a` and STOMP `/topic/demo.a`.
  const linesAdapter = lines({ busPrefix: '' });
  // Realm realm1, anonymous: what Autobahn|JS and wampy examples connect to.
  const wampAdapter = wamp({ realms: ['realm1'] });
  // A registrar and proxy for JsSIP and SIP.js softphones; a MESSAGE to sip:chat@{domain}
  // publishes on the bus topic sip/chat, and a bus message on sip/{user} reaches that user.
  const sipAdapter = sip({
    domain: options.sipDomain ?? process.env.SIP_DOMAIN ?? 'example.com',
    users: options.sipUsers ?? (process.env.SIP_USERS ? parseSipUsers(process.env.SIP_USERS) : { alice: 'alice', bob: 'bob' }),
    bus: true,
    bridge: ['chat'],
  });
  const commandTimeoutMs = options.commandTimeoutMs ?? 10_000;

  const served: ServedId[] = [
    ...[mqttAdapter, stompAdapter, linesAdapter, wampAdapter, sipAdapter].flatMap((a) => [...a.protocols, ...(a.aliases ?? [])].map((id) => ({ id, adapter: a.name, path: ROOT_PATH }))),
    ...ocppAdapter.protocols.map((id) => ({ id, adapter: ocppAdapter.name, path: '/ocpp/{identity}' })),
  ];

  let origin = 'http://127.0.0.1';
  const stats = () => {
    const s = server.stats();
    const bySubprotocol: Record<string, number> = {};
    for (const connection of server.connections) {
      bySubprotocol[connection.protocol] = (bySubprotocol[connection.protocol] ?? 0) + 1;
    }
    return {
      connections: s.connections,
      byAdapter: s.byProtocol,
      bySubprotocol,
      mqtt: mqttAdapter.stats(),
      stomp: stompAdapter.stats(),
      ocpp: ocppAdapter.stats(),
      wamp: wampAdapter.stats(),
      sip: sipAdapter.stats(),
    };
  };

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  /** Sends an OCPP command to a station through the bus, as an MQTT or STOMP client could. */
  const command = async (req: IncomingMessage, res: ServerResponse, identity: string, action: string): Promise<void> => {
    let body = '';
    for await (const chunk of req) body += chunk;
    let payload: unknown;
    try {
      payload = body === '' ? {} : JSON.parse(body);
    } catch {
      return json(res, 400, { error: 'body is not JSON' });
    }
    const topic = `ocpp/cs/${encodeTopicLevel(identity)}/${encodeTopicLevel(action)}`;
    const answer = await new Promise<BusMessage | undefined>((resolve) => {
      const subscription = bus.subscribe(`${topic}/result`, (message) => {
        clearTimeout(timer);
        subscription.unsubscribe();
        resolve(message);
      });
      const timer = setTimeout(() => {
        subscription.unsubscribe();
        resolve(undefined);
      }, commandTimeoutMs);
      bus.publish({
        topic,
        payload: new TextEncoder().encode(JSON.stringify(payload)),
        contentType: 'application/json',
        origin: { protocol: 'demo' },
        qos: 1,
      });
    });
    if (!answer) return json(res, 504, { error: `no answer from ${identity} within ${commandTimeoutMs} ms` });
    res.writeHead(200, { 'content-type': answer.contentType ?? 'application/json' }).end(Buffer.from(answer.payload));
  };

  const server: ProtoplexServer = createServer({
    bus,
    ...(options.logger ? { logger: options.logger } : {}),
    routes: [
      { path: ROOT_PATH, adapters: [mqttAdapter, stompAdapter, linesAdapter, wampAdapter, sipAdapter], recognize: true },
      { path: OCPP_PATH, adapters: [ocppAdapter], onNoMatch: 'close' },
    ],
    requestHandler(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderPage(served, origin));
        return;
      }
      if (req.method === 'GET' && url.pathname === '/api/stats') return json(res, 200, stats());
      if (req.method === 'GET' && url.pathname === '/metrics') return void server.metricsHandler(req, res);
      if (req.method === 'GET' && url.pathname === '/healthz') return void server.healthHandler(req, res);
      const match = /^\/api\/ocpp\/([^/]+)\/([A-Za-z0-9]+)$/.exec(url.pathname);
      if (req.method === 'POST' && match) {
        let identity: string;
        try {
          identity = decodeURIComponent(match[1]!);
        } catch {
          return json(res, 400, { error: 'bad identity' });
        }
        command(req, res, identity, match[2]!).catch((error: unknown) => json(res, 500, { error: String(error) }));
        return;
      }
      json(res, 404, { error: 'not found' });
    },
  });

  const port = options.port ?? Number(process.env.PORT ?? 8080);
  const host = options.host ?? process.env.HOST ?? '127.0.0.1';
  const address = await server.listen(port, host);
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${shownHost}:${address.port}`;
  return { server, url: origin, close: () => server.close() };
}
