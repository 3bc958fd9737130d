/**
 * wss:// with client certificates (OCPP security profile 3): `request.tls` reports what the
 * certificate proved. Node cannot sign X.509 certificates, so the test makes a throwaway CA and
 * certificates with the `openssl` CLI, and skips when it is not installed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echo } from './_test-adapters.js';
import { closeAll, open, start } from './_test-utils.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

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

let dir: string;
let pki: Pki;

// EC keys: RSA key generation alone would take seconds.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function issue(name: string, cn: string, caName: string, ext?: string): void {
  openssl('req', ...KEY_ARGS, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  const extArgs = ext ? ['-extfile', `${name}.ext`] : [];
  if (ext) writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', ...extArgs);
}

describe.skipIf(!available)('TLS with client certificates', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'protoplex-tls-'));
    openssl('req', '-x509', ...KEY_ARGS, '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=Test CA');
    openssl('req', '-x509', ...KEY_ARGS, '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '1', '-subj', '/CN=Other CA');
    issue('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
    issue('client', 'CP1', 'ca');
    issue('stranger', 'CP2', 'other-ca');
    const read = (file: string): Buffer => readFileSync(join(dir, file));
    pki = {
      ca: read('ca.crt'),
      serverKey: read('server.key'),
      serverCert: read('server.crt'),
      clientKey: read('client.key'),
      clientCert: read('client.crt'),
      strangerKey: read('stranger.key'),
      strangerCert: read('stranger.crt'),
    };
  }, 20_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
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
