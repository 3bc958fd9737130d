import { windows } from './windows.js';
import type { Scenario, ScenarioContext } from '../types.js';

function echo(name: string, size: number, deflate: boolean, description: string): Scenario {
  const serverOptions = { perMessageDeflate: deflate };
  return {
    name,
    description,
    metric: 'throughput',
    unit: 'msg/s',
    higherIsBetter: true,
    goal: { ratio: 0.95, p99Within: 1.1, text: 'throughput ratio >= 0.95 and p99 within 1.1x' },
    subject: { label: 'protoplex', server: 'protoplex-echo', serverOptions },
    reference: { label: 'ws', server: 'ws-echo', serverOptions },
    load: ({ mode }: ScenarioContext) => ({
      name: 'echo',
      options: {
        connections: mode === 'full' ? 200 : 100,
        depth: 1,
        size,
        perMessageDeflate: deflate,
      ...windows(mode),
      },
    }),
  };
}

export const echo64 = echo('echo-64b', 64, false, 'Echo of 64-byte binary messages over 100 connections (200 with --full), one message in flight per connection.');
export const echo4k = echo('echo-4k', 4096, false, 'Echo of 4-KiB binary messages over 100 connections (200 with --full), one message in flight per connection.');
/** Full mode only: it costs ~20 s and deflate is off by default in @protoplex/server. */
export const echo4kDeflate: Scenario = { ...echoDeflate(), fullOnly: true };
function echoDeflate(): Scenario {
  return echo(
  'echo-4k-deflate',
  4096,
  true,
  'Echo of 4-KiB compressible JSON-like messages with permessage-deflate on both ends, 200 connections (--full only).',
);
}
