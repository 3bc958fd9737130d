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
import { closeAll, connect, connectMany, numberOption, trafficSession, until, Window, type LoadGenerator } from './common.js';

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
  const window = new Window();
  const receipts = new Map<string, () => void>();
  const missing = new Map<number, number>();
  let running = false;
  let closing = false;
  let seq = 0;
  let producer: WebSocket | undefined;
  const send = (): void => {
    missing.set(seq, subscribers);
    const text = body(seq++, size);
    producer!.send(`SEND\ndestination:${destination}\ncontent-type:text/plain\ncontent-length:${Buffer.byteLength(text)}\n\n${text}\0`);
  };
  const onFrame = (frame: ReturnType<typeof parse>): void => {
    if (frame.command === 'RECEIPT') return receipts.get(frame.headers.get('receipt-id')!)?.();
    if (frame.command !== 'MESSAGE') return void window.error(`${frame.command} ${frame.headers.get('message') ?? ''}`);
    const { seq: id, sentAt } = read(frame.body);
    window.record(sentAt);
    const left = (missing.get(id) ?? 1) - 1;
    if (left > 0) return void missing.set(id, left);
    missing.delete(id);
    if (running && producer) send();
  };
  const subs = await connectMany(
    subscribers,
    async (i) => {
      const ws = await stompConnect(port, onFrame);
      await subscribe(ws, `destination:${destination}\nack:auto\n`, receipts, `sub-${i}`);
      ws.on('close', (code) => !closing && window.error(`subscriber closed with ${code}`));
      return ws;
    },
    50,
  );
  producer = await stompConnect(port, (frame) => window.error(`producer got ${frame.command}`));
  const sockets = [producer, ...subs];
  return trafficSession(options, {
    window,
    start() {
      running = true;
      for (let i = 0; i < inflight; i++) send();
    },
    async stop() {
      running = false;
      await until(() => missing.size === 0);
      missing.clear();
    },
    async close() {
      closing = true;
      await closeAll(sockets);
    },
  });
};

export const stompQueueLoad: LoadGenerator = async ({ port, options }) => {
  const consumers = numberOption(options, 'consumers', 10);
  const prefetch = numberOption(options, 'prefetch', 10);
  const inflight = numberOption(options, 'inflight', 50);
  const size = numberOption(options, 'size', 64);
  // A queue of its own per session: a server may still hold messages of an earlier session.
  const destination = `/queue/bench-${process.pid}-${Date.now().toString(36)}`;
  const window = new Window();
  const receipts = new Map<string, () => void>();
  let running = false;
  let closing = false;
  let outstanding = 0;
  let seq = 0;
  let producer: WebSocket | undefined;
  const send = (): void => {
    const text = body(seq++, size);
    outstanding++;
    producer!.send(`SEND\ndestination:${destination}\ncontent-type:text/plain\ncontent-length:${Buffer.byteLength(text)}\n\n${text}\0`);
  };
  const onFrame = (frame: ReturnType<typeof parse>, ws: WebSocket): void => {
    if (frame.command === 'RECEIPT') return receipts.get(frame.headers.get('receipt-id')!)?.();
    if (frame.command !== 'MESSAGE') return void window.error(`${frame.command} ${frame.headers.get('message') ?? ''}`);
    // STOMP 1.2: ACK's id "MUST" be the value of the MESSAGE's ack header.
    ws.send(`ACK\nid:${frame.headers.get('ack')}\n\n\0`);
    outstanding--;
    window.record(read(frame.body).sentAt);
    if (running && producer) send();
  };
  const subs = await connectMany(
    consumers,
    async (i) => {
      const ws = await stompConnect(port, onFrame);
      await subscribe(ws, `destination:${destination}\nack:client-individual\nprefetch-count:${prefetch}\n`, receipts, `sub-${i}`);
      ws.on('close', (code) => !closing && window.error(`consumer closed with ${code}`));
      return ws;
    },
    10,
  );
  producer = await stompConnect(port, (frame) => window.error(`producer got ${frame.command}`));
  const sockets = [producer, ...subs];
  return trafficSession(options, {
    window,
    start() {
      running = true;
      for (let i = 0; i < inflight; i++) send();
    },
    async stop() {
      running = false;
      await until(() => outstanding <= 0);
      outstanding = 0;
    },
    async close() {
      closing = true;
      await closeAll(sockets);
    },
  });
};
