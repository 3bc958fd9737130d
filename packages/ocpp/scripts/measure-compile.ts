/**
 * Measures how long compiling every validator of each version takes (the cost of
 * `precompile: 'all'`), and the slowest single validators (the first-use stall without it).
 * Run: `pnpm exec tsx scripts/measure-compile.ts`. Not a test: the numbers depend on the machine.
 */
import { performance } from 'node:perf_hooks';
import { OCPP_VERSIONS } from '../src/constants.js';
import { actionsOf, isSendOnly, validatorOf, type Direction } from '../src/schemas.js';

const slowest: Array<{ what: string; ms: number }> = [];
let total = 0;
for (const version of OCPP_VERSIONS) {
  const started = performance.now();
  let count = 0;
  for (const action of actionsOf(version)) {
    const directions: Direction[] = isSendOnly(version, action) ? ['request'] : ['request', 'response'];
    for (const direction of directions) {
      const t0 = performance.now();
      validatorOf(version, action, direction);
      const ms = performance.now() - t0;
      slowest.push({ what: `${version} ${action} ${direction}`, ms });
      count++;
    }
  }
  const ms = performance.now() - started;
  total += ms;
  console.log(`${version}: ${count} validators in ${ms.toFixed(0)} ms`);
}
console.log(`all versions: ${total.toFixed(0)} ms`);
slowest.sort((a, b) => b.ms - a.ms);
console.log('slowest:');
for (const { what, ms } of slowest.slice(0, 8)) console.log(`  ${what}: ${ms.toFixed(1)} ms`);
