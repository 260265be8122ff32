import { HttpServer, type HttpTimeouts } from '../http-server.ts';
import type { Resource } from '../resource.ts';
import type { ZeroCopySender } from '../zero-copy.ts';
import type { WorkerEngine } from './engine.ts';

/** `--engine net` (the default): our own HTTP/1.x loop on node:net, with sendfile from memory. */
export function netEngine(
  resource: Resource,
  timeouts: HttpTimeouts,
  zeroCopy: ZeroCopySender | null,
): WorkerEngine {
  const http = new HttpServer(resource, timeouts, { zeroCopy });
  return {
    server: http.server,
    counters: http.counters,
    zeroCopyResponses: () => http.zeroCopy?.responses ?? 0,
    shutdown: () => http.shutdown(),
    destroyAll: () => http.destroyAll(),
  };
}
