/**
 * Test helpers (never exported): an MQTT client over the core test harness that writes packets
 * through the codec and reads what the broker sent back.
 */
import { createTestHarness, type HarnessOptions, type TestHarness, type TestPeer } from '@protoplex/core/testing';
import { decodePackets, encodePacket, type ConnectPacket, type Packet } from './codec.js';
import { mqtt, type MqttAdapter } from './adapter.js';
import type { MqttOptions } from './types.js';

export interface TestClient {
  readonly peer: TestPeer;
  readonly version: 4 | 5;
  send(...packets: Packet[]): void;
  /** Packets the broker sent since the last call. */
  take(): Packet[];
  /** Raw messages the broker sent since the last call. */
  takeRaw(): Uint8Array[];
}

export interface TestBroker {
  readonly harness: TestHarness;
  readonly adapter: MqttAdapter;
  /** Opens a connection and sends CONNECT (and waits for the CONNACK unless `connect: false`). */
  client(options?: Partial<ConnectPacket> & { version?: 4 | 5; connect?: false }): Promise<TestClient>;
}

/** Lets promise callbacks (session lookup, async hooks) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A broker (with `$SYS` off unless asked) on a test harness; `harness` sets its bus, clock or log. */
export function createTestBroker(options: MqttOptions = {}, harnessOptions: HarnessOptions = {}): TestBroker {
  const harness = createTestHarness(harnessOptions);
  const adapter = mqtt({ sysInterval: 0, ...options });
  let counter = 0;
  return {
    harness,
    adapter,
    async client(connect = {}) {
      const version = connect.version ?? 4;
      const peer = await harness.connect(adapter);
      let cursor = 0;
      const client: TestClient = {
        peer,
        version,
        send(...packets) {
          for (const packet of packets) peer.send(encodePacket(packet, version));
        },
        take() {
          const out: Packet[] = [];
          for (const message of client.takeRaw()) {
            const { packets, error } = decodePackets(message, version);
            if (error) throw new Error(`broker sent an unparseable message: ${error.message}`);
            out.push(...packets);
          }
          return out;
        },
        takeRaw() {
          const messages = peer.received.slice(cursor).map((m) => m.data as Uint8Array);
          cursor = peer.received.length;
          return messages;
        },
      };
      if (connect.connect === false) return client;
      const { version: _v, connect: _c, ...fields } = connect;
      client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: `c${++counter}`, clean: true, keepalive: 0, ...fields });
      await flush();
      return client;
    },
  };
}
