import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { capturingLogger } from './_test-utils.js';
import { ServerMetrics } from './metrics.js';

describe('ServerMetrics', () => {
  it('reads the per-protocol numbers at scrape time', async () => {
    const { logger } = capturingLogger();
    const registry = new Registry();
    const metrics = new ServerMetrics(registry, logger);
    const stats = metrics.statsFor('mqtt');
    expect(metrics.statsFor('mqtt')).toBe(stats);
    stats.messagesReceived += 3;
    stats.bytesReceived += 30;
    stats.open = 2;
    const text = await registry.metrics();
    expect(text).toContain('protoplex_messages_received_total{protocol="mqtt"} 3');
    expect(text).toContain('protoplex_bytes_received_total{protocol="mqtt"} 30');
    expect(text).toContain('protoplex_connections_open{protocol="mqtt"} 2');
    stats.messagesReceived++;
    expect(await registry.metrics()).toContain('protoplex_messages_received_total{protocol="mqtt"} 4');
  });

  it('implements core Metrics with lazily created, protocol-labelled series', async () => {
    const { logger, records } = capturingLogger();
    const registry = new Registry();
    const server = new ServerMetrics(registry, logger);
    const mqtt = server.forAdapter('mqtt');
    const stomp = server.forAdapter('stomp');
    mqtt.increment('publishes_total', { qos: '1' });
    mqtt.increment('publishes_total', { qos: '1' }, 2);
    stomp.increment('publishes_total', { qos: '0' });
    mqtt.set('sessions', 5);
    mqtt.observe('payload_bytes', 100);
    const text = await registry.metrics();
    expect(text).toContain('protoplex_publishes_total{protocol="mqtt",qos="1"} 3');
    expect(text).toContain('protoplex_publishes_total{protocol="stomp",qos="0"} 1');
    expect(text).toContain('protoplex_sessions{protocol="mqtt"} 5');
    expect(text).toContain('protoplex_payload_bytes_count{protocol="mqtt"} 1');
    expect(text).toContain('# TYPE protoplex_payload_bytes histogram');

    // Misuse is logged once and dropped, never thrown into the session.
    expect(() => mqtt.set('publishes_total', 1)).not.toThrow();
    expect(() => mqtt.set('publishes_total', 1)).not.toThrow();
    expect(() => mqtt.increment('publishes_total', { other: 'x' })).not.toThrow();
    expect(() => mqtt.increment('bad name')).not.toThrow();
    expect(() => mqtt.increment('publishes_total', { qos: '1', protocol: 'spoof' })).not.toThrow();
    const errors = records.filter((r) => r.level === 50);
    expect(errors.map((r) => r.metric)).toEqual(['publishes_total', 'bad name']);
    expect(await registry.metrics()).not.toContain('spoof');
  });

  it('counts handshakes by protocol, result and reason', async () => {
    const registry = new Registry();
    const metrics = new ServerMetrics(registry, capturingLogger().logger);
    metrics.statsFor('mqtt').handshakesAccepted++;
    metrics.refused('', 'version');
    metrics.refused('', 'version');
    const text = await registry.metrics();
    expect(text).toContain('protoplex_handshakes_total{protocol="mqtt",result="accepted"} 1');
    expect(text).toContain('protoplex_handshakes_total{protocol="",result="refused",reason="version"} 2');
  });
});
