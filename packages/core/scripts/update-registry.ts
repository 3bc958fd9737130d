// `pnpm registry:update`: the maintainer path. Downloads IANA's current websocket.xml, checks it
// is the registry we know how to read, then replaces iana/websocket-registries.xml and rewrites
// src/registry/websocket.generated.ts. Nothing is written unless every step succeeded, so a
// network failure or a registry change the generator does not understand leaves the repo as is.
// Review the diff (new ids, renamed close codes) before committing.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseRegistry, renderRegistrySource, type RegistryData } from './registry-source.js';

const SOURCE = 'https://www.iana.org/assignments/websocket/websocket.xml';
const TIMEOUT_MS = 30_000;

const xmlUrl = new URL('../iana/websocket-registries.xml', import.meta.url);
const generatedUrl = new URL('../src/registry/websocket.generated.ts', import.meta.url);

class UpdateError extends Error {}

function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch() reports "fetch failed" and keeps the real reason (ENOTFOUND, ECONNREFUSED, a TLS
  // error, the timeout) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

async function download(): Promise<string> {
  let response: Response;
  try {
    response = await fetch(SOURCE, {
      headers: { accept: 'application/xml, text/xml;q=0.9' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new UpdateError(
      `could not download ${SOURCE} (${explain(error)}). Check the network or proxy settings and try again.`,
    );
  }
  if (!response.ok) {
    throw new UpdateError(`${SOURCE} answered HTTP ${response.status} ${response.statusText}.`);
  }
  try {
    return await response.text();
  } catch (error) {
    throw new UpdateError(`the download of ${SOURCE} broke off (${explain(error)}).`);
  }
}

function check(xml: string): RegistryData {
  let data: RegistryData;
  try {
    // Parses, checks and names everything the generated file needs, including the
    // <registry id="subprotocol-name"> table; throws naming the row it could not read.
    data = parseRegistry(xml);
  } catch (error) {
    throw new UpdateError(
      `${SOURCE} is not a registry this generator understands: ${explain(error)}. ` +
        'If IANA changed the format, adapt scripts/registry-source.ts.',
    );
  }
  if (data.subprotocols.length === 0) {
    throw new UpdateError(`${SOURCE} has an empty subprotocol-name registry.`);
  }
  return data;
}

function summary(previous: RegistryData | undefined, next: RegistryData): string {
  if (previous === undefined) return `registry updated ${next.updated}`;
  const before = new Set(previous.subprotocols.map((record) => record.id));
  const after = new Set(next.subprotocols.map((record) => record.id));
  const added = [...after].filter((id) => !before.has(id));
  const removed = [...before].filter((id) => !after.has(id));
  const codes = (data: RegistryData): string =>
    data.closeCodeNames.map(([name, code]) => `${name}=${code}`).join(',');
  return [
    `registry updated ${previous.updated} -> ${next.updated}`,
    `subprotocols ${before.size} -> ${after.size}`,
    added.length > 0 ? `added: ${added.join(', ')}` : undefined,
    removed.length > 0 ? `REMOVED: ${removed.join(', ')}` : undefined,
    codes(previous) === codes(next) ? undefined : 'close code names changed',
  ]
    .filter((line) => line !== undefined)
    .join('\n  ');
}

async function main(): Promise<void> {
  const xml = await download();
  const next = check(xml);
  const source = renderRegistrySource(next);

  let previous: RegistryData | undefined;
  try {
    previous = parseRegistry(readFileSync(xmlUrl, 'utf8'));
  } catch {
    previous = undefined;
  }

  writeFileSync(xmlUrl, xml);
  writeFileSync(generatedUrl, source);
  console.log(`registry:update: wrote ${fileURLToPath(xmlUrl)}`);
  console.log(`registry:update: wrote ${fileURLToPath(generatedUrl)}`);
  console.log(`  ${summary(previous, next)}`);
  console.log('Run the tests, review `git diff`, and add a changeset for @protoplex/core.');
}

main().catch((error: unknown) => {
  console.error(
    error instanceof UpdateError
      ? `registry:update failed: ${error.message}\nNothing was changed.`
      : `registry:update failed while writing: ${explain(error)}\nCheck \`git status\` for a half-written update.`,
  );
  process.exitCode = 1;
});
