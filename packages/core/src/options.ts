/**
 * Option resolution every adapter shares: an explicit `undefined` means "the default", as it does
 * for a missing key, so `stomp({ heartBeat: config.heartBeat })` works when the config has none.
 */

/** Options as users may pass them: every key optional, `undefined` allowed. */
export type OptionsOf<Defaults> = { [K in keyof Defaults]?: Defaults[K] | undefined };

/**
 * `defaults` overlaid with the keys of `options` that are not undefined. Shallow: nested objects
 * are replaced, not merged.
 */
export function resolveOptions<Defaults extends object, Given extends object = OptionsOf<Defaults>>(defaults: Defaults, options: Given | undefined): Defaults & Omit<Given, keyof Defaults> {
  const out = { ...defaults } as Record<string, unknown>;
  if (options) {
    for (const key of Object.keys(options)) {
      const value = (options as Record<string, unknown>)[key];
      if (value !== undefined) out[key] = value;
    }
  }
  // Keys with a default are always set; keys without one (hooks) stay as optional as given.
  return out as Defaults & Omit<Given, keyof Defaults>;
}
