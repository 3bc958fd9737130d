/**
 * wss:// with client certificates (OCPP security profile 3): `request.tls` reports what the
 * certificate proved. Node cannot sign X.509 certificates, so the test makes a throwaway CA and
 * certificates with the `openssl` CLI, and skips when it is not installed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificates, hasOpenssl, type TestCertificates } from '@protoplex/core/testing';
import { echo } from './_test-adapters.js';
import { closeAll, open, start } from './_test-utils.js';

const available = hasOpenssl();
if (!available) console.warn('tls.e2e.test.ts: skipped, the openssl CLI is not installed');

interface Pki {
  ca: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
  strangerKey: Buffer;
  strangerCert: Buffer;
}

let certificates: TestCertificates | undefined;
let pki: Pki;

describe.skipIf(!available)('TLS with client certificates', () => {
  beforeAll(() => {
    certificates = createTestCertificates();
    const ca = certificates.ca('Test CA');
    const otherCa = certificates.ca('Other CA');
    const server = ca.issue('localhost', { extensions: ['subjectAltName=IP:127.0.0.1,DNS:localhost'] });
    const client = ca.issue('CP1');
    const stranger = otherCa.issue('CP2');
    pki = {
      ca: ca.cert,
      serverKey: server.key,
      serverCert: server.cert,
      clientKey: client.key,
      clientCert: client.cert,
      strangerKey: stranger.key,
      strangerCert: stranger.cert,
    };
  }, 20_000);

  afterAll(() => {
    certificates?.remove();
  });
  afterEach(closeAll);

  it('fills request.tls from the verified client certificate', async () => {
    const adapter = echo();
    const { port } = await start({
      adapters: [adapter],
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
    });
    const ws = await open(`wss://127.0.0.1:${port}`, ['echo.test'], { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert });
    const tls = adapter.rec.opened[0]!.request.tls!;
    expect(tls.authorized).toBe(true);
    expect(tls.authorizationError).toBeUndefined();
    expect(tls.peerCertificate!.subject.CN).toBe('CP1');
    expect(tls.peerCertificate!.issuer.CN).toBe('Test CA');
    expect(tls.peerCertificate!.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(tls.peerCertificate!.raw.length).toBeGreaterThan(100);
    ws.close();
  });

  it('reports an unverified certificate so authorize can refuse it', async () => {
    const adapter = echo();
    const { port } = await start({
      adapters: [adapter],
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
    });
    const stranger = await open(`wss://127.0.0.1:${port}`, ['echo.test'], { ca: pki.ca, key: pki.strangerKey, cert: pki.strangerCert });
    const tls = adapter.rec.opened[0]!.request.tls!;
    expect(tls.authorized).toBe(false);
    expect(tls.authorizationError).toBeTruthy();
    expect(tls.peerCertificate!.subject.CN).toBe('CP2');
    stranger.close();
    const anonymous = await open(`wss://127.0.0.1:${port}`, ['echo.test'], { ca: pki.ca });
    expect(adapter.rec.opened[1]!.request.tls).toMatchObject({ authorized: false });
    expect(adapter.rec.opened[1]!.request.tls!.peerCertificate).toBeUndefined();
    anonymous.close();
  });
});
