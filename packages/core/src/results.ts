import { z } from 'zod';
import { LoadResultSchema, LoadToolNameSchema } from './load.ts';
import { SEND_MODES } from './server-stats.ts';

/**
 * results.json: the single source of truth a run writes and every exporter reads. Validated on
 * write and on read; units live in field names. Bump RESULTS_SCHEMA_VERSION on any change a
 * reader of the old version could misread.
 */
export const RESULTS_SCHEMA_ID = 'scaleup.results';
export const RESULTS_SCHEMA_VERSION = 1;

const nonNegative = z.number().nonnegative();
const count = z.number().int().nonnegative();

export const StatSummarySchema = z
  .object({
    n: count,
    median: nonNegative,
    min: nonNegative,
    max: nonNegative,
    mean: nonNegative,
    stdev: nonNegative,
    cv: nonNegative,
    ciLow: nonNegative,
    ciHigh: nonNegative,
    confidence: z.number().gt(0).lt(1),
  })
  .strict();
export type StatSummary = z.infer<typeof StatSummarySchema>;

export const RatioSchema = z
  .object({
    /** Scenario id of the baseline (nginx at the same payload). */
    baseline: z.string(),
    ratio: nonNegative,
    ciLow: nonNegative,
    ciHigh: nonNegative,
    confidence: z.number().gt(0).lt(1),
    paired: z.boolean(),
    n: count,
  })
  .strict();
export type Ratio = z.infer<typeof RatioSchema>;

export const ToolInfoSchema = z
  .object({
    name: LoadToolNameSchema,
    version: z.string().nullable(),
    path: z.string().nullable(),
    /** Why the tool cannot be used, with the command that installs it; null when available. */
    missing: z.string().nullable(),
  })
  .strict();
export type ToolInfo = z.infer<typeof ToolInfoSchema>;

export const EnvironmentSchema = z
  .object({
    hostname: z.string(),
    cpuModel: z.string(),
    physicalCores: count.nullable(),
    logicalCores: count,
    smt: z.boolean().nullable(),
    memoryBytes: count,
    kernel: z.string(),
    distribution: z.string().nullable(),
    virtualisation: z.string().nullable(),
    cpuGovernor: z.string().nullable(),
    nodeVersion: z.string(),
    nginx: z
      .object({ version: z.string().nullable(), path: z.string().nullable(), missing: z.string().nullable() })
      .strict(),
    tools: z.array(ToolInfoSchema),
    openFilesSoft: z.number().nullable(),
    openFilesHard: z.number().nullable(),
    /** The sysctls the seed tuned, as the kernel reports them (null when unreadable). */
    sysctls: z.record(z.string(), z.string().nullable()),
    git: z.object({ commit: z.string().nullable(), dirty: z.boolean().nullable() }).strict(),
  })
  .strict();
export type Environment = z.infer<typeof EnvironmentSchema>;

export const TuningCheckSchema = z
  .object({
    setting: z.string(),
    actual: z.string().nullable(),
    recommended: z.string(),
    ok: z.boolean(),
    /** What a shortfall limits, in words. */
    impact: z.string(),
    fix: z.string(),
  })
  .strict();
export type TuningCheck = z.infer<typeof TuningCheckSchema>;

export const ProcessCpuSampleSchema = z
  .object({
    pid: z.number().int().positive(),
    role: z.enum(['master', 'worker', 'nginx-master', 'nginx-worker', 'server']),
    userSeconds: nonNegative,
    systemSeconds: nonNegative,
  })
  .strict();
export type ProcessCpuSample = z.infer<typeof ProcessCpuSampleSchema>;

export const WorkerShareSchema = z
  .object({ slot: count, pid: z.number().int().positive(), requests: count, connections: count })
  .strict();
export type WorkerShare = z.infer<typeof WorkerShareSchema>;

/** Kernel TCP counters (/proc/net/netstat, /proc/net/snmp) as deltas over one repetition. */
export const TcpCountersSchema = z
  .object({
    listenOverflows: count,
    listenDrops: count,
    resetsSent: count,
    resetsReceivedEstablished: count,
    connectionsAborted: count,
    retransmittedSegments: count,
  })
  .strict();
export type TcpCounters = z.infer<typeof TcpCountersSchema>;

export const VerdictSchema = z
  .object({
    valid: z.boolean(),
    /** Why the repetition is invalid; empty when valid. */
    reasons: z.array(z.string()),
    /** The load tool, not the server, was the bottleneck: the figure measures the client. */
    clientBound: z.boolean(),
    clientBoundReason: z.string().nullable(),
  })
  .strict();
export type Verdict = z.infer<typeof VerdictSchema>;

export const RepetitionSchema = z
  .object({
    /** 0-based round in the interleaved schedule; reps of one round share drift. */
    round: count,
    startedAt: z.string(),
    load: LoadResultSchema,
    serverCpu: z.array(ProcessCpuSampleSchema),
    /** Sum of serverCpu over the repetition's wall time and the server's cores (0..1). */
    serverCpuUtilisation: nonNegative.nullable(),
    workers: z.array(WorkerShareSchema).nullable(),
    tcp: TcpCountersSchema.nullable(),
    verdict: VerdictSchema,
  })
  .strict();
export type Repetition = z.infer<typeof RepetitionSchema>;

export const ServerDescriptionSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('scaleup'),
      resource: z.enum(['fixed', 'file', 'data']),
      accept: z.enum(['shared', 'rr', 'reuseport']),
      workers: z.number().int().positive(),
      backlog: z.number().int().positive(),
      send: z.enum(SEND_MODES),
      /** Whether large responses actually went out with sendfile(2) (the native addon loaded). */
      zeroCopy: z.boolean(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('nginx'),
      preset: z.enum(['stock', 'tuned']),
      workers: z.number().int().positive(),
      version: z.string().nullable(),
      /** Every value written into nginx.conf, as the runner reported it. */
      settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    })
    .strict(),
  z
    .object({
      kind: z.literal('command'),
      command: z.array(z.string()),
      cwd: z.string().nullable(),
    })
    .strict(),
]);
export type ServerDescription = z.infer<typeof ServerDescriptionSchema>;

export const ScenarioResultSchema = z
  .object({
    id: z.string(),
    label: z.string(),
    payloadBytes: count,
    /** Scenarios with the same group run interleaved and share a baseline. */
    group: z.string(),
    baseline: z.boolean(),
    server: ServerDescriptionSchema,
    url: z.string().nullable(),
    /** Set when the scenario did not run, with the reason and what would fix it. */
    skipped: z.string().nullable(),
    verification: z
      .object({
        status: count,
        bodyBytes: count,
        expectedBodyBytes: count,
        /**
         * The whole response (status line, headers, body) to the tools' keep-alive GET, when it
         * has a Content-Length: every response of a run has this size, which checks tools that
         * count only total bytes (wrk).
         */
        responseBytes: count.nullable(),
        ok: z.boolean(),
        detail: z.string().nullable(),
      })
      .strict()
      .nullable(),
    warmup: z
      .object({ runs: count, requestsPerSecond: z.array(nonNegative) })
      .strict()
      .nullable(),
    repetitions: z.array(RepetitionSchema),
    summary: z
      .object({
        validRepetitions: count,
        invalidRepetitions: count,
        clientBoundRepetitions: count,
        requestsPerSecond: StatSummarySchema.nullable(),
        megabytesPerSecond: StatSummarySchema.nullable(),
        ratioToBaseline: RatioSchema.nullable(),
        /** Jain's index over workers' request and connection shares, median over repetitions. */
        fairnessRequests: z.number().min(0).max(1).nullable(),
        fairnessConnections: z.number().min(0).max(1).nullable(),
      })
      .strict()
      .nullable(),
  })
  .strict();
export type ScenarioResult = z.infer<typeof ScenarioResultSchema>;

export const LoadPlanSchema = z
  .object({
    tool: LoadToolNameSchema,
    requests: count.nullable(),
    durationSeconds: nonNegative.nullable(),
    connections: z.number().int().positive(),
    /** Connections for the nginx baseline when it differs (the seed gave nginx 1000). */
    baselineConnections: z.number().int().positive().nullable(),
    threads: z.number().int().positive(),
    keepAlive: z.boolean(),
    repetitions: z.number().int().positive(),
    warmupRuns: count,
    warmupSeconds: nonNegative,
  })
  .strict();
export type LoadPlan = z.infer<typeof LoadPlanSchema>;

export const TopologySchema = z
  .object({
    pinned: z.boolean(),
    serverCpus: z.array(count).nullable(),
    loadCpus: z.array(count).nullable(),
    /** The cgroup CPU quota the servers ran under (profile serverCpuQuotaCores), null for none. */
    serverCpuQuotaCores: z.number().positive().nullable().default(null),
    description: z.string(),
  })
  .strict();
export type Topology = z.infer<typeof TopologySchema>;

export const ResultsFileSchema = z
  .object({
    schema: z.literal(RESULTS_SCHEMA_ID),
    schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
    /** False while the run is going on, and forever when it was interrupted. */
    complete: z.boolean(),
    interrupted: z.string().nullable(),
    run: z
      .object({
        id: z.string(),
        startedAt: z.string(),
        finishedAt: z.string().nullable(),
        profile: z.string(),
        suite: z.string(),
        argv: z.array(z.string()),
        scaleupVersion: z.string(),
      })
      .strict(),
    environment: EnvironmentSchema,
    tuning: z.array(TuningCheckSchema),
    topology: TopologySchema,
    plan: LoadPlanSchema,
    scenarios: z.array(ScenarioResultSchema),
    warnings: z.array(z.string()),
  })
  .strict();
export type ResultsFile = z.infer<typeof ResultsFileSchema>;

export class ResultsSchemaError extends Error {
  override name = 'ResultsSchemaError';
}

/** Every schema problem as `path: message`, so a user sees all of them at once. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}

/**
 * Parses results.json text or an already-parsed value. A file from a newer schema version is
 * refused with that reason rather than as a pile of field errors.
 */
export function parseResults(raw: unknown, source = 'results.json'): ResultsFile {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new ResultsSchemaError(`${source}: not JSON (${(error as Error).message})`);
    }
  }
  if (typeof value !== 'object' || value === null)
    throw new ResultsSchemaError(`${source}: not a results object`);
  const header = value as { schema?: unknown; schemaVersion?: unknown };
  if (header.schema !== RESULTS_SCHEMA_ID) {
    throw new ResultsSchemaError(
      `${source}: not a scaleup results file (schema is ${JSON.stringify(header.schema)})`,
    );
  }
  if (typeof header.schemaVersion === 'number' && header.schemaVersion > RESULTS_SCHEMA_VERSION) {
    throw new ResultsSchemaError(
      `${source}: schema version ${header.schemaVersion} is newer than this scaleup reads (${RESULTS_SCHEMA_VERSION}); update scaleup`,
    );
  }
  const parsed = ResultsFileSchema.safeParse(value);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues);
    // One readable line: the first few problems, then how many more there are.
    const shown = issues.slice(0, 5).join('; ');
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    throw new ResultsSchemaError(`${source}: does not match the results schema: ${shown}${more}`);
  }
  return parsed.data;
}

/** Validates before serialising: a writer can never produce a file readers would refuse. */
export function serializeResults(results: ResultsFile): string {
  const parsed = ResultsFileSchema.safeParse(results);
  if (!parsed.success) {
    throw new ResultsSchemaError(
      `refusing to write invalid results: ${formatIssues(parsed.error.issues).slice(0, 20).join('; ')}`,
    );
  }
  return `${JSON.stringify(parsed.data, null, 2)}\n`;
}
