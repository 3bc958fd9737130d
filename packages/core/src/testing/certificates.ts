/**
 * Throwaway X.509 certificates for TLS tests. Node cannot sign certificates, so this shells out
 * to the `openssl` CLI; tests that use it should skip when `hasOpenssl()` is false.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private key and its certificate, both PEM. */
export interface TestKeyPair {
  readonly key: Buffer;
  readonly cert: Buffer;
}

export interface TestCertificateAuthority extends TestKeyPair {
  /**
   * Issues a certificate for `commonName` signed by this CA. `extensions` are lines of an
   * openssl extension file, e.g. `subjectAltName=IP:127.0.0.1` or `extendedKeyUsage=clientAuth`.
   */
  issue(commonName: string, options?: { readonly extensions?: readonly string[] }): TestKeyPair;
}

export interface TestCertificates {
  /** Makes a self-signed CA. */
  ca(commonName: string): TestCertificateAuthority;
  /** Deletes the temporary directory that holds every key. */
  remove(): void;
}

export interface TestCertificatesOptions {
  /** `ec` is P-256, `rsa` 2048 bits (each RSA key takes noticeably longer to generate). @default 'ec' */
  readonly keyType?: 'ec' | 'rsa';
  /** Validity in days. @default 2 */
  readonly days?: number;
}

/** Whether the `openssl` CLI can be run here. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Throwaway CAs and the certificates they issue, for TLS tests only, made in a temporary
 * directory (call `remove()` when done). Runs the `openssl` CLI synchronously: Node only, and
 * throws where openssl is missing, so check `hasOpenssl()` first.
 */
export function createTestCertificates(options: TestCertificatesOptions = {}): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'protoplex-certs-'));
  const keyArgs = options.keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const days = String(options.days ?? 2);
  // stderr piped, not shown: openssl prints progress there, and a failure's error then carries it.
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const read = (name: string): TestKeyPair => ({ key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) });
  let files = 0;
  return {
    ca(commonName) {
      const ca = `ca${++files}`;
      openssl('req', '-x509', ...keyArgs, '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', days, '-subj', `/CN=${commonName}`);
      return {
        ...read(ca),
        issue(leafName, issued = {}) {
          const leaf = `leaf${++files}`;
          openssl('req', ...keyArgs, '-nodes', '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', `/CN=${leafName}`);
          const extensions = issued.extensions ?? [];
          if (extensions.length > 0) writeFileSync(join(dir, `${leaf}.ext`), `${extensions.join('\n')}\n`);
          openssl(
            'x509', '-req', '-in', `${leaf}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${leaf}.crt`, '-days', days,
            ...(extensions.length > 0 ? ['-extfile', `${leaf}.ext`] : []),
          );
          return read(leaf);
        },
      };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
