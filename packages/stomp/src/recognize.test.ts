import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { Client, Stomp, Versions } from '@stomp/stompjs';
import { createTestHarness } from '@protoplex/core/testing';
import { stomp } from './adapter.js';
import { parseFrame } from './codec.js';
import { recognizeStomp } from './recognize.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * The first message a `@stomp/stompjs` client sends, captured from a stand-in WebSocket that is
 * already open (so it sends CONNECT at once) and offered no subprotocol.
 */
async function firstMessageOf(make: (socket: () => WebSocketLike) => Client, connect: (client: Client) => void): Promise<string | Uint8Array> {
  const sent: Array<string | Uint8Array> = [];
  const socket: WebSocketLike = { readyState: 1, protocol: '', url: 'ws://127.0.0.1/', binaryType: 'blob', send: (data) => sent.push(data), close: () => socket.onclose?.({ code: 1000, reason: '', wasClean: true }) };
  const client = make(() => socket);
  client.debug = () => {};
  connect(client);
  await expect.poll(() => sent.length).toBeGreaterThan(0);
  await client.deactivate({ force: true });
  return sent[0]!;
}

interface WebSocketLike {
  readyState: number;
  protocol: string;
  url: string;
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(): void;
  onclose?: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
}

describe('recognize() with @stomp/stompjs frames', () => {
  it('recognizes the CONNECT of Stomp.over(() => new WebSocket(url)) as v12.stomp (accept-version:1.2,1.1,1.0)', async () => {
    const first = await firstMessageOf(
      (socket) => Stomp.over(socket as never),
      (client) => (client as ReturnType<typeof Stomp.over>).connect({ login: 'guest', passcode: 'guest' }, () => {}),
    );
    expect(typeof first).toBe('string');
    expect(first).toContain('accept-version:1.2,1.1,1.0\n');
    expect(recognizeStomp(first)).toBe('v12.stomp');
    expect(stomp().recognize(first, false)).toBe('v12.stomp');
  });

  it('recognizes a binary CONNECT (forceBinaryWSFrames) and picks the version the client limits itself to', async () => {
    const first = await firstMessageOf(
      (socket) => new Client({ webSocketFactory: socket as never, stompVersions: new Versions(['1.1', '1.0']), forceBinaryWSFrames: true, reconnectDelay: 0 }),
      (client) => client.activate(),
    );
    expect(first).toBeInstanceOf(Uint8Array);
    expect(recognizeStomp(first)).toBe('v11.stomp');
    expect(stomp().recognize(first, true)).toBe('v11.stomp');
  });

  it('hands the recognised connection to a session that answers CONNECTED on that version', async () => {
    const first = await firstMessageOf(
      (socket) => Stomp.over(socket as never),
      (client) => (client as ReturnType<typeof Stomp.over>).connect({}, () => {}),
    );
    const adapter = stomp();
    const protocol = adapter.recognize(first, false)!;
    const peer = await createTestHarness().connect(adapter, { protocol });
    peer.send(first);
    const [connected] = peer.takeText();
    expect(connected).toMatch(/^CONNECTED\n/);
    const frame = parseFrame(connected!, '1.2');
    expect('command' in frame && frame.headers.version).toBe('1.2');
  });
});

describe('recognize() rules', () => {
  it.each([
    ['CONNECT\naccept-version:1.2\nhost:/\n\n\0', 'v12.stomp'],
    ['STOMP\naccept-version:1.1,1.2\nhost:/\n\n\0', 'v12.stomp'],
    ['CONNECT\naccept-version:1.0,1.1\n\n\0', 'v11.stomp'],
    ['CONNECT\naccept-version: 1.0 \n\n\0', 'v10.stomp'],
    // STOMP 1.2 "Protocol Negotiation": no accept-version means a 1.0 client.
    ['CONNECT\nlogin:guest\npasscode:guest\n\n\0', 'v10.stomp'],
    ['CONNECT\n\n\0', 'v10.stomp'],
    // A frame ended by NUL without its blank line, as the parser accepts.
    ['CONNECT\nlogin:a\n\0', 'v10.stomp'],
    // No version served here: the best id, whose session sends the spec's ERROR listing 1.2.
    ['CONNECT\naccept-version:2.1\n\n\0', 'v12.stomp'],
    ['CONNECT\naccept-version:\n\n\0', 'v12.stomp'],
    // Heart-beat EOLs before the frame, CR LF line ends, the first of repeated headers.
    ['\n\r\n\nCONNECT\r\naccept-version:1.1\r\n\r\n\0', 'v11.stomp'],
    ['CONNECT\naccept-version:1.0\naccept-version:1.2\n\n\0', 'v10.stomp'],
    // A head that goes on past the message: accept-version may still come, so the best id.
    ['CONNECT\nlogin:guest\npass', 'v12.stomp'],
  ])('%j -> %s', (message, id) => {
    expect(recognizeStomp(message)).toBe(id);
    expect(recognizeStomp(bytes(message))).toBe(id);
  });

  it.each([
    '',
    '\n',
    'CONNECT',
    'CONNECTED\nversion:1.2\n\n\0',
    'CONNECT accept-version:1.2\n\n\0',
    'connect\naccept-version:1.2\n\n\0',
    'SEND\ndestination:/queue/a\n\nx\0',
    'SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\0',
    ' CONNECT\n\n\0',
    '{"jsonrpc":"2.0","method":"hello"}',
    '[1,"realm1",{}]',
  ])('refuses %j', (message) => {
    expect(recognizeStomp(message)).toBeUndefined();
    expect(recognizeStomp(bytes(message))).toBeUndefined();
  });

  it('refuses an MQTT CONNECT packet', () => {
    // MQTT 3.1.1 CONNECT: fixed header 0x10, remaining length, "MQTT", level 4.
    expect(recognizeStomp(new Uint8Array([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]))).toBeUndefined();
  });

  it('reads accept-version behind a long passcode, and only the head of a large message', () => {
    const jwt = 'x'.repeat(4000);
    expect(recognizeStomp(`CONNECT\npasscode:${jwt}\naccept-version:1.1\n\n\0`)).toBe('v11.stomp');
    const huge = 'CONNECT\naccept-version:1.0\n\n' + 'b'.repeat(1_000_000) + '\0';
    expect(recognizeStomp(huge)).toBe('v10.stomp');
    expect(recognizeStomp(bytes(huge))).toBe('v10.stomp');
  });

  test.prop([fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }))])('never throws and answers only with a STOMP id', (data) => {
    const id = recognizeStomp(data);
    expect(id === undefined || ['v12.stomp', 'v11.stomp', 'v10.stomp'].includes(id)).toBe(true);
  });

  test.prop([fc.string({ maxLength: 200 })])('recognizes nothing that does not start with a CONNECT or STOMP command line', (data) => {
    fc.pre(!/^(?:\r?\n)*(?:CONNECT|STOMP)\r?\n/.test(data));
    expect(recognizeStomp(data)).toBeUndefined();
  });
});
