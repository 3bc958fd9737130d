// `pnpm registry:generate`: rewrites src/registry/websocket.generated.ts from the committed
// iana/websocket-registries.xml. Offline and deterministic; CI runs generated.test.ts, which
// fails when the committed output differs from what this script would write.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateRegistrySource } from './registry-source.js';

const xmlUrl = new URL('../iana/websocket-registries.xml', import.meta.url);
const generatedUrl = new URL('../src/registry/websocket.generated.ts', import.meta.url);

try {
  const source = generateRegistrySource(readFileSync(xmlUrl, 'utf8'));
  let previous: string | undefined;
  try {
    previous = readFileSync(generatedUrl, 'utf8');
  } catch {
    previous = undefined;
  }
  const target = fileURLToPath(generatedUrl);
  if (previous === source) {
    console.log(`registry:generate: ${target} is already up to date`);
  } else {
    writeFileSync(generatedUrl, source);
    console.log(`registry:generate: wrote ${target}`);
  }
} catch (error) {
  console.error(
    `registry:generate: ${fileURLToPath(xmlUrl)}: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exitCode = 1;
}
