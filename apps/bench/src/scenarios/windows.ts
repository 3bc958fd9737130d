import type { Mode } from '../types.js';

/**
 * Warm-up and measuring window of every throughput scenario: short in quick mode so the whole
 * quick run, adapters included, stays near 2 minutes on 2 cores; longer with `--full`.
 */
export function windows(mode: Mode): { warmupMs: number; windowMs: number } {
  return mode === 'full' ? { warmupMs: 1000, windowMs: 3000 } : { warmupMs: 250, windowMs: 800 };
}
