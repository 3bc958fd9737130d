import type { Logger, Metrics } from './contract.js';

const noop = (): void => {};

/** A logger that drops everything; the default where none is given. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

/** Metrics that record nothing; the default where none are given. */
export const noopMetrics: Metrics = {
  increment: noop,
  set: noop,
  observe: noop,
};
