import type { Server } from 'node:net';
import type { HttpCounters } from '../http-server.ts';

/**
 * What a worker needs from whatever speaks HTTP in it: a server to listen with (the worker passes
 * it the shared handle, its own SO_REUSEPORT fd or a port), counters, and a graceful stop.
 */
export interface WorkerEngine {
  readonly server: Server;
  readonly counters: HttpCounters;
  /** Responses that went out whole with sendfile(2); always 0 where the engine cannot do that. */
  zeroCopyResponses(): number;
  /** Stops accepting, lets in-flight requests finish; resolves once no connection is left. */
  shutdown(): Promise<void>;
  destroyAll(): void;
}
