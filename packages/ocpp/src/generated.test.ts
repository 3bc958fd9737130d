import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILES, generatedPath, renderTypes } from '../scripts/generate-types.js';
import type { OcppVersion } from './constants.js';

describe('generated types', () => {
  for (const version of Object.keys(GENERATED_FILES) as OcppVersion[]) {
    it(`src/generated/${GENERATED_FILES[version].file} is what scripts/generate-types.ts writes (run \`pnpm run types:generate\`)`, () => {
      expect(readFileSync(generatedPath(version), 'utf8')).toBe(renderTypes(version));
    });
  }
});
