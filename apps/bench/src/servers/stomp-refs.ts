/**
 * STOMP reference: the bench's flows written by hand on raw `ws`, with minimal STOMP 1.2 frame
 * handling (no header escaping, no heart-beating, no transactions): CONNECT, SUBSCRIBE to
 * `/topic/x` (every subscriber) or `/queue/x` (round robin under `prefetch-count`, `auto` or
 * `client-individual` acks), SEND, ACK, NACK, UNSUBSCRIBE, DISCONNECT with receipt.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { closeAll, listen } from './ws.js';
import type { ServerFactory } from './types.js';

interface Frame {
  readonly command: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** One frame per WebSocket message, as STOMP-over-WebSocket clients send them. */
export function parseFrame(text: string): Frame | undefined {
  const end = text.indexOf('\n\n');
  if (end < 0) return undefined;
  const lines = text.slice(0, end).split('\n');
  const command = lines[0]!.replace(/\r$/, '');
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon);
      // STOMP 1.2: "only the first header entry SHOULD be used".
      if (!(name in headers)) headers[name] = line.slice(colon + 1).replace(/\r$/, '');
    }
  }
  const nul = text.lastIndexOf('\0');
  return { command, headers, body: text.slice(end + 2, nul < end ? text.length : nul) };
}

interface Consumer {
  readonly ws: WebSocket;
  readonly id: string;
  readonly destination: string;
  readonly clientAck: boolean;
  readonly prefetch: number;
  unacked: number;
}

interface QueueState {
  readonly messages: string[];
  readonly consumers: Consumer[];
  next: number;
}

export const wsStomp: ServerFactory = async () => {
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('v12.stomp') ? 'v12.stomp' : false),
  });
  const topics = new Map<string, Set<Consumer>>();
  const queues = new Map<string, QueueState>();
  let messageId = 0;
  /** Unacknowledged client-individual deliveries by ack id. */
  const unacked = new Map<string, { consumer: Consumer; queue: QueueState; body: string }>();

  const message = (consumer: Consumer, body: string, ackId?: string): string =>
    `MESSAGE\nsubscription:${consumer.id}\nmessage-id:${++messageId}\ndestination:${consumer.destination}\n${ackId ? `ack:${ackId}\n` : ''}content-length:${Buffer.byteLength(body)}\n\n${body}\0`;

  const queueOf = (destination: string): QueueState => {
    let queue = queues.get(destination);
    if (!queue) queues.set(destination, (queue = { messages: [], consumers: [], next: 0 }));
    return queue;
  };

  const dispatch = (queue: QueueState): void => {
    while (queue.messages.length > 0 && queue.consumers.length > 0) {
      let consumer: Consumer | undefined;
      for (let tried = 0; tried < queue.consumers.length; tried++) {
        const candidate = queue.consumers[queue.next++ % queue.consumers.length]!;
        if (!candidate.clientAck || candidate.prefetch === 0 || candidate.unacked < candidate.prefetch) {
          consumer = candidate;
          break;
        }
      }
      if (!consumer) return;
      const body = queue.messages.shift()!;
      if (consumer.clientAck) {
        const ackId = String(++messageId);
        consumer.unacked++;
        unacked.set(ackId, { consumer, queue, body });
        consumer.ws.send(message(consumer, body, ackId));
      } else {
        consumer.ws.send(message(consumer, body));
      }
    }
  };

  wss.on('connection', (ws) => {
    const subscriptions = new Map<string, Consumer>();
    const remove = (consumer: Consumer): void => {
      if (consumer.destination.startsWith('/topic/')) topics.get(consumer.destination)?.delete(consumer);
      else {
        const queue = queueOf(consumer.destination);
        queue.consumers.splice(queue.consumers.indexOf(consumer), 1);
        for (const [id, entry] of unacked) {
          if (entry.consumer !== consumer) continue;
          unacked.delete(id);
          queue.messages.unshift(entry.body);
        }
        dispatch(queue);
      }
    };
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text === '\n' || text === '\r\n') return; // heart-beat
      const frame = parseFrame(text);
      if (!frame) return void ws.close(1002);
      const h = frame.headers;
      // STOMP 1.2: "If the client frame had a receipt header, the server MUST acknowledge its
      // processing with a RECEIPT frame" (DISCONNECT sends its own below).
      if (h.receipt !== undefined && frame.command !== 'DISCONNECT' && frame.command !== 'CONNECT' && frame.command !== 'STOMP') {
        queueMicrotask(() => ws.send(`RECEIPT\nreceipt-id:${h.receipt}\n\n\0`));
      }
      switch (frame.command) {
        case 'CONNECT':
        case 'STOMP':
          ws.send('CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:bench-raw\n\n\0');
          break;
        case 'SUBSCRIBE': {
          const destination = h.destination ?? '';
          const consumer: Consumer = {
            ws,
            id: h.id ?? '0',
            destination,
            clientAck: h.ack === 'client-individual' || h.ack === 'client',
            prefetch: Number(h['prefetch-count'] ?? 0),
            unacked: 0,
          };
          subscriptions.set(consumer.id, consumer);
          if (destination.startsWith('/topic/')) {
            let set = topics.get(destination);
            if (!set) topics.set(destination, (set = new Set()));
            set.add(consumer);
          } else {
            const queue = queueOf(destination);
            queue.consumers.push(consumer);
            dispatch(queue);
          }
          break;
        }
        case 'UNSUBSCRIBE': {
          const consumer = subscriptions.get(h.id ?? '');
          if (consumer) {
            subscriptions.delete(consumer.id);
            remove(consumer);
          }
          break;
        }
        case 'SEND': {
          const destination = h.destination ?? '';
          if (destination.startsWith('/topic/')) {
            for (const consumer of topics.get(destination) ?? []) consumer.ws.send(message(consumer, frame.body));
          } else {
            const queue = queueOf(destination);
            queue.messages.push(frame.body);
            dispatch(queue);
          }
          break;
        }
        case 'ACK':
        case 'NACK': {
          const entry = unacked.get(h.id ?? '');
          if (!entry) break;
          unacked.delete(h.id!);
          entry.consumer.unacked--;
          if (frame.command === 'NACK') entry.queue.messages.unshift(entry.body);
          dispatch(entry.queue);
          break;
        }
        case 'DISCONNECT':
          if (h.receipt) ws.send(`RECEIPT\nreceipt-id:${h.receipt}\n\n\0`);
          ws.close();
          break;
        default:
          ws.send(`ERROR\nmessage:unsupported frame\n\n\0`);
          ws.close(1002);
      }
    });
    ws.on('close', () => {
      for (const consumer of subscriptions.values()) remove(consumer);
      subscriptions.clear();
    });
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};
