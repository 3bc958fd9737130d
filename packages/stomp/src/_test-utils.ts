/**
 * Test helpers shared by the unit tests (never exported, not published): write frames through
 * the codec and read what the adapter sent back as frames.
 */
import { createTestHarness, type HarnessOptions, type TestHarness, type TestPeer } from '@protoplex/core/testing';
import { encodeFrame, parseFrame, type StompFrame } from './codec.js';
import { STOMP_PROTOCOLS, VERSION_OF_SUBPROTOCOL, type StompSubprotocol } from './constants.js';
import { stomp, type StompAdapter, type StompOptions } from './adapter.js';

export interface Client {
  readonly peer: TestPeer;
  readonly protocol: StompSubprotocol;
  /** Sends one frame as a text message (binary when the body is not UTF-8). */
  send(command: string, headers?: Record<string, string>, body?: string | Uint8Array): void;
  /** Frames the adapter sent since the last call; heart-beat EOLs come back as `HEARTBEAT`. */
  frames(): StompFrame[];
}

export function client(peer: TestPeer, protocol: StompSubprotocol): Client {
  const version = VERSION_OF_SUBPROTOCOL[protocol];
  return {
    peer,
    protocol,
    send(command, headers = {}, body = '') {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      const wire = encodeFrame({ command, headers, body: bytes }, version);
      if (typeof body === 'string') peer.send(new TextDecoder().decode(wire));
      else peer.send(wire, true);
    },
    frames() {
      return peer.take().map(({ data }) => {
        if ((typeof data === 'string' && data === '\n') || (typeof data !== 'string' && data.length === 1 && data[0] === 0x0a)) {
          return { command: 'HEARTBEAT', headers: {}, body: new Uint8Array(0) };
        }
        const parsed = parseFrame(data, version);
        if (!('command' in parsed)) throw new Error(`adapter sent an unparsable frame: ${parsed.message}`);
        return parsed;
      });
    },
  };
}

export const text = (frame: StompFrame | undefined): string => (frame ? Buffer.from(frame.body).toString('utf8') : '');

export interface Setup {
  readonly harness: TestHarness;
  readonly adapter: StompAdapter;
  /** Opens a connection on `protocol` and, unless `connect` is false, sends CONNECT and reads CONNECTED. */
  open(protocol?: StompSubprotocol, connectHeaders?: Record<string, string> | false): Promise<Client>;
}

export function setup(options: StompOptions = {}, harnessOptions: HarnessOptions = {}): Setup {
  const harness = createTestHarness(harnessOptions);
  const adapter = stomp(options);
  return {
    harness,
    adapter,
    async open(protocol = STOMP_PROTOCOLS[0], connectHeaders = {}) {
      const peer = await harness.connect(adapter, { protocol });
      const c = client(peer, protocol);
      if (connectHeaders !== false) {
        const version = VERSION_OF_SUBPROTOCOL[protocol];
        c.send('CONNECT', { 'accept-version': version, host: '/', 'heart-beat': '0,0', ...connectHeaders });
        const [connected] = c.frames();
        if (connected?.command !== 'CONNECTED') throw new Error(`expected CONNECTED, got ${connected?.command}: ${text(connected)}`);
      }
      return c;
    },
  };
}
