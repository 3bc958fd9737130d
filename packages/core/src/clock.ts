import type { Clock, Timer } from './contract.js';

/** The real clock, over Node's timers. Timers are unref'd: a pending keep-alive never holds the process open. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    return wrap(setTimeout(callback, ms));
  },
  setInterval(callback, ms) {
    return wrap(setInterval(callback, ms));
  },
};

function wrap(handle: ReturnType<typeof setTimeout>): Timer {
  handle.unref?.();
  return {
    cancel: () => clearTimeout(handle),
    refresh: () => void handle.refresh(),
  };
}
