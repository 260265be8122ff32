export type { WorkerEngine } from './engines/engine.ts';
export { NodeHttpEngine, type ResponseParts, requestHeadOf, splitResponse } from './engines/http.ts';
export { netEngine } from './engines/net.ts';
export { FileResource, type FileResourceOptions } from './file-resource.ts';
export {
  hasBareLineFeed,
  MAX_BODY_BYTES,
  MAX_HEAD_BYTES,
  MAX_HEADERS,
  newRequestHead,
  parseRequestHead,
  type RequestHead,
} from './http-parser.ts';
export { DEFAULT_TIMEOUTS, type HttpCounters, HttpServer, type HttpTimeouts } from './http-server.ts';
export { type ExitingProcess, followExit, respawnDelayMs, runServer, type ServerIo } from './master.ts';
export { readSomaxconn } from './master-setup.ts';
export { DEFAULT_MIME_TYPE, MIME_TYPES, mimeTypeFor } from './mime.ts';
export {
  MAX_PAYLOAD_BYTES,
  MAX_WORKERS,
  parseServerArgs,
  SERVER_DEFAULTS,
  SERVER_USAGE,
  type ServerOptions,
  supportsReusePort,
} from './options.ts';
export {
  directoryLocation,
  isInsideRoot,
  resolveTargetPath,
  type TargetPath,
  targetPathPart,
} from './paths.ts';
export { parseRange, type RangeResult } from './ranges.ts';
export { createMemoryResource, payloadOf, type Reply, type Resource, type StreamReply } from './resource.ts';
export { CachedResponse, isPrebuiltResponse } from './responses.ts';
export {
  loadReusePort,
  type ReusePortAddon,
  type ReusePortLoad,
  reusePortPlan,
} from './reuse-port.ts';
export { formatWorkerLine, readyLine, statsFile, type WorkerSample, workerStats } from './stats.ts';
export { makeTempRoot, pidAlive, sweepStaleTempRoots, TEMP_ROOT_PATTERN } from './temp-root.ts';
export {
  etagMatches,
  type FileStamp,
  ifRangeAllows,
  isNotModified,
  makeEtag,
  sameStamp,
  stampOf,
} from './validators.ts';
export { createResource, runWorker, type WorkerConfig } from './worker.ts';
export {
  DEFAULT_ZERO_COPY_LIMITS,
  loadZeroCopy,
  NATIVE_ADDON_ENV,
  nativeAddonPath,
  socketFd,
  type ZeroCopyAddon,
  type ZeroCopyLimits,
  type ZeroCopyLoad,
  ZeroCopySender,
} from './zero-copy.ts';
export {
  type BuildResult,
  buildZeroCopyAddon,
  compilerArgs,
  compilerCommand,
  nodeApiIncludeDir,
  ZERO_COPY_ADDON,
  ZERO_COPY_SOURCE,
} from './zero-copy-build.ts';
