export {
  LOAD_TOOLS,
  LoadToolNameSchema,
  LoadSpecSchema,
  LatencySchema,
  LoadResultSchema,
  type LoadToolName,
  type LoadSpec,
  type LoadSpecInput,
  type Latency,
  type LoadResult,
} from './load.ts';
export {
  ACCEPT_MODES,
  RESOURCE_KINDS,
  WorkerStatsSchema,
  ServerStatsFileSchema,
  type AcceptMode,
  type ResourceKind,
  type WorkerStats,
  type ServerStatsFile,
} from './server-stats.ts';
export { UsageError } from './errors.ts';
