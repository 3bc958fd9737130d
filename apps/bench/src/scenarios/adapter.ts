import { allMounted } from './all-mounted.js';
import { windows } from './windows.js';
import type { Scenario, Side } from '../types.js';

/** The sides every scenario of one adapter compares. */
export type AdapterSides = Pick<Scenario, 'subject' | 'reference' | 'extraReferences'>;

/**
 * Protoplex with the adapter on `server` against `reference`, and `extraReferences` in the same
 * rounds. Call it once per scenario: the harness tells sides apart by identity, so no two
 * scenarios may share a side object.
 */
export function adapterSides(server: string, reference: Side, ...extraReferences: Side[]): AdapterSides {
  return {
    subject: { label: 'protoplex', server },
    reference: { ...reference },
    ...(extraReferences.length > 0 ? { extraReferences: extraReferences.map((side) => ({ ...side })) } : {}),
  };
}

/**
 * A throughput scenario of an adapter: the load `load` with `options` and the mode's warm-up and
 * window. `allMounted` adds the `<name>@all` variant with the adapter's default options.
 */
export function adapterThroughput(
  sides: AdapterSides,
  scenario: {
    readonly name: string;
    readonly description: string;
    readonly unit: string;
    readonly allMounted?: boolean;
    readonly fullOnly?: boolean;
    readonly load: string;
    readonly options: Readonly<Record<string, unknown>>;
  },
): Scenario {
  return {
    name: scenario.name,
    description: scenario.description,
    metric: 'throughput',
    unit: scenario.unit,
    higherIsBetter: true,
    ...(scenario.fullOnly ? { fullOnly: true } : {}),
    ...sides,
    ...(scenario.allMounted ? { allMounted: allMounted() } : {}),
    load: ({ mode }) => ({ name: scenario.load, options: { ...scenario.options, ...windows(mode) } }),
  };
}
