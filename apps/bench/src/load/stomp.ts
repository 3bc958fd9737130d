/**
 * STOMP 1.2 loads over raw `ws` (subprotocol `v12.stomp`, one frame per WebSocket message):
 *
 * - `stomp-fanout`: `subscribers` clients on `/topic/bench.fanout`, one producer keeping
 *   `inflight` SENDs not yet delivered everywhere. Deliveries per second.
 * - `stomp-queue`: `consumers` clients on `/queue/bench` with `ack:client-individual` and
 *   `prefetch-count`, one producer keeping `inflight` messages not yet consumed; each delivery is
 *   ACKed at once. Messages per second; latency is SEND to MESSAGE.
 *
 * Bodies are text: `<seq> <send time>` padded to `size` bytes.
 */
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { connect, connectMany, FanoutLoop, Loop, numberOption, trafficSession, type LoadGenerator } from './common.js';

/** Headers and body of a server frame (no escaping: the bench's values need none). */
function parse(text: string): { command: string; headers: Map<string, string>; body: string } {
  const end = text.indexOf('\n\n');
  const lines = text.slice(0, end).split('\n');
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (!headers.has(line.slice(0, colon))) headers.set(line.slice(0, colon), line.slice(colon + 1));
  }
  const nul = text.lastIndexOf('\0');
  return { command: lines[0]!, headers, body: text.slice(end + 2, nul < end ? text.length : nul) };
}

/** Connects and waits for CONNECTED; later frames go to `onFrame`. */
async function stompConnect(port: number, onFrame: (frame: ReturnType<typeof parse>, ws: WebSocket) => void): Promise<WebSocket> {
  const ws = await connect(`ws://127.0.0.1:${port}/`, ['v12.stomp']);
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text === '\n' || text === '\r\n') return;
      const frame = parse(text);
      if (frame.command === 'CONNECTED') return resolve();
      if (frame.command === 'ERROR') return reject(new Error(`ERROR ${frame.headers.get('message')}`));
      onFrame(frame, ws);
    });
    ws.once('close', (code) => reject(new Error(`closed with ${code} before CONNECTED`)));
    ws.send('CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n\0');
  });
  return ws;
}

/** SUBSCRIBE with a receipt, resolved when the RECEIPT arrives. */
function subscribe(ws: WebSocket, headers: string, receipts: Map<string, () => void>, receipt: string): Promise<void> {
  const done = new Promise<void>((resolve) => receipts.set(receipt, resolve));
  ws.send(`SUBSCRIBE\nid:0\n${headers}receipt:${receipt}\n\n\0`);
  return done;
}

/**
 * Connects `count` clients (`parallel` handshakes at a time) subscribed with `subscription`
 * headers, then the producer. MESSAGE frames go to `onMessage`; any other frame but a RECEIPT is
 * an error of the round.
 */
async function stompClients(
  port: number,
  loop: Loop,
  clients: { count: number; parallel: number; role: string; subscription: string },
  onMessage: (frame: ReturnType<typeof parse>, ws: WebSocket) => void,
): Promise<{ producer: WebSocket; sockets: WebSocket[] }> {
  const receipts = new Map<string, () => void>();
  const onFrame = (frame: ReturnType<typeof parse>, ws: WebSocket): void => {
    if (frame.command === 'RECEIPT') return receipts.get(frame.headers.get('receipt-id')!)?.();
    if (frame.command !== 'MESSAGE') return void loop.window.error(`${frame.command} ${frame.headers.get('message') ?? ''}`);
    onMessage(frame, ws);
  };
  const subs = await connectMany(
    clients.count,
    async (i) => {
      const ws = await stompConnect(port, onFrame);
      await subscribe(ws, clients.subscription, receipts, `sub-${i}`);
      return loop.watch(ws, clients.role);
    },
    clients.parallel,
  );
  const producer = await stompConnect(port, (frame) => loop.window.error(`producer got ${frame.command}`));
  return { producer, sockets: [producer, ...subs] };
}

function send(producer: WebSocket, destination: string, text: string): void {
  producer.send(`SEND\ndestination:${destination}\ncontent-type:text/plain\ncontent-length:${Buffer.byteLength(text)}\n\n${text}\0`);
}

const body = (seq: number, size: number): string => {
  const text = `${seq} ${performance.now()}`;
  return text.length >= size ? text : text + ' '.repeat(size - text.length);
};

const read = (text: string): { seq: number; sentAt: number } => {
  const space = text.indexOf(' ');
  return { seq: Number(text.slice(0, space)), sentAt: Number.parseFloat(text.slice(space + 1)) };
};

export const stompFanoutLoad: LoadGenerator = async ({ port, options }) => {
  const subscribers = numberOption(options, 'subscribers', 100);
  const inflight = numberOption(options, 'inflight', 4);
  const size = numberOption(options, 'size', 64);
  const destination = '/topic/bench.fanout';
  let producer: WebSocket | undefined;
  const loop = new FanoutLoop(subscribers, (seq) => send(producer!, destination, body(seq, size)));
  const clients = await stompClients(port, loop, { count: subscribers, parallel: 50, role: 'subscriber', subscription: `destination:${destination}\nack:auto\n` }, (frame) => {
    const { seq, sentAt } = read(frame.body);
    loop.delivered(seq, sentAt);
  });
  producer = clients.producer;
  return trafficSession(options, loop.traffic(clients.sockets, () => loop.publish(inflight)));
};

export const stompQueueLoad: LoadGenerator = async ({ port, options }) => {
  const consumers = numberOption(options, 'consumers', 10);
  const prefetch = numberOption(options, 'prefetch', 10);
  const inflight = numberOption(options, 'inflight', 50);
  const size = numberOption(options, 'size', 64);
  // A queue of its own per session: a server may still hold messages of an earlier session.
  const destination = `/queue/bench-${process.pid}-${Date.now().toString(36)}`;
  const loop = new Loop();
  let seq = 0;
  let producer: WebSocket | undefined;
  const next = (): void => {
    const text = body(seq++, size);
    loop.outstanding++;
    send(producer!, destination, text);
  };
  const subscription = `destination:${destination}\nack:client-individual\nprefetch-count:${prefetch}\n`;
  const clients = await stompClients(port, loop, { count: consumers, parallel: 10, role: 'consumer', subscription }, (frame, ws) => {
    // STOMP 1.2: ACK's id "MUST" be the value of the MESSAGE's ack header.
    ws.send(`ACK\nid:${frame.headers.get('ack')}\n\n\0`);
    loop.outstanding--;
    loop.window.record(read(frame.body).sentAt);
    if (loop.running) next();
  });
  producer = clients.producer;
  return trafficSession(
    options,
    loop.traffic(clients.sockets, () => {
      for (let i = 0; i < inflight; i++) next();
    }),
  );
};
