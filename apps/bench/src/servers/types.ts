/** A server started inside the server child process. */
export interface RunningServer {
  readonly port: number;
  /** Open WebSocket connections right now, for sanity checks (idle-memory). */
  connections(): number;
  close(): Promise<void>;
}

export type ServerFactory = (options: Readonly<Record<string, unknown>>) => Promise<RunningServer>;

/** Thrown when a subject's package is not ready yet; the scenario is reported as skipped. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}
