import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateRegistrySource } from '../../scripts/registry-source.js';

// STYLE §1: generated code is never edited by hand, and CI fails when running the generator
// again would change the committed file.
describe('websocket.generated.ts', () => {
  it('is exactly what scripts/generate-registry.ts writes from iana/websocket-registries.xml', () => {
    const xml = readFileSync(new URL('../../iana/websocket-registries.xml', import.meta.url), 'utf8');
    const committed = readFileSync(new URL('./websocket.generated.ts', import.meta.url), 'utf8');
    const expected = generateRegistrySource(xml);
    expect(
      committed,
      'src/registry/websocket.generated.ts is out of date or was edited by hand: run `pnpm registry:generate` and commit the result',
    ).toBe(expected);
  });

  it('imports nothing at run time', () => {
    const committed = readFileSync(new URL('./websocket.generated.ts', import.meta.url), 'utf8');
    const imports = committed.split('\n').filter((line) => /^\s*import\b/.test(line));
    expect(imports).toEqual(['import type {']);
    expect(committed).toContain("} from './types.js';");
  });

  describe('refuses a registry it does not fully understand', () => {
    const xml = readFileSync(new URL('../../iana/websocket-registries.xml', import.meta.url), 'utf8');

    it('rejects XML that is not well-formed', () => {
      expect(() => generateRegistrySource(xml.slice(0, 2000))).toThrow(/not well-formed XML/);
    });

    it('rejects an unknown reference type', () => {
      const changed = xml.replace('type="rfc-errata"', 'type="iso"');
      expect(() => generateRegistrySource(changed)).toThrow(/unknown xref type "iso"/);
    });

    it('asks for a review when IANA rewords a row whose name is overridden', () => {
      const changed = xml.replace('No Status Rcvd', 'No Status Received');
      expect(() => generateRegistrySource(changed)).toThrow(/review the override/);
    });

    it('asks for an override when a new close code has a sentence for a description', () => {
      const changed = xml.replace(
        '<description>Timeout</description>',
        '<description>The peer did not answer within the agreed time</description>',
      );
      expect(() => generateRegistrySource(changed)).toThrow(/cannot derive a name/);
    });

    it('rejects close-code rows that leave a gap', () => {
      const changed = xml.replace('<value>3001-3002</value>', '<value>3001-3001</value>');
      expect(() => generateRegistrySource(changed)).toThrow(/must cover 1000-4999/);
    });

    it('rejects subprotocol ids that differ only by case', () => {
      const changed = xml.replace('<id>bfcp</id>', '<id>MQTT</id>');
      expect(() => generateRegistrySource(changed)).toThrow(/"mqtt" and "MQTT" differ only by case/);
    });
  });
});
