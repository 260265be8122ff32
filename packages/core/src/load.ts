import { z } from 'zod';

/**
 * What `scaleup load --barrier` prints on stderr once it is ready: the harness then tells every
 * load host 'go' at once.
 */
export const LOAD_READY_LINE = '@scaleup-load-ready';
/** What `scaleup nginx --ready-json` prints on stderr, followed by its details as JSON. */
export const NGINX_READY_LINE = '@scaleup-nginx-ready';

/** The load tools scaleup knows. One adapter per tool lives in @scaleup/driver. */
/** openloop is scaleup's own constant-rate tool (packages/driver/native); the others are closed loop. */
export const LOAD_TOOLS = ['autocannon', 'h2load', 'wrk', 'weighttp', 'openloop'] as const;
export type LoadToolName = (typeof LOAD_TOOLS)[number];
export const LoadToolNameSchema = z.enum(LOAD_TOOLS);

/**
 * What to load and how. Exactly one of `requests` (fixed-count mode, the seed's `-n`) or
 * `durationSeconds` is set.
 */
export const LoadSpecSchema = z
  .object({
    url: z.string(),
    requests: z.number().int().positive().optional(),
    durationSeconds: z.number().positive().optional(),
    connections: z.number().int().positive(),
    threads: z.number().int().positive(),
    keepAlive: z.boolean(),
    method: z.string().default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    timeoutSeconds: z.number().positive().default(30),
    /** CPUs the tool is pinned to (taskset list), or undefined for no pinning. */
    cpus: z.array(z.number().int().nonnegative()).optional(),
    /** Body size every successful response must have; a different size is a failed response. */
    expectedBodyBytes: z.number().int().nonnegative().optional(),
    /** Addresses beyond loopback and 198.18.0.0/15 the user named as servers (--server-host). */
    allowedTargets: z.array(z.string()).optional(),
    /**
     * Open loop: requests offered per second at fixed intended times, whatever the server does
     * (only a constant-rate tool runs it). Absent: closed loop, each connection waits for its answer.
     */
    ratePerSecond: z.number().positive().optional(),
    /** Open loop: the bound on connections a constant-rate tool may open (reported when reached). */
    maxConnections: z.number().int().positive().optional(),
  })
  .strict();
export type LoadSpec = z.infer<typeof LoadSpecSchema>;
export type LoadSpecInput = z.input<typeof LoadSpecSchema>;

export const LatencySchema = z
  .object({
    minMicros: z.number().nonnegative().nullable(),
    meanMicros: z.number().nonnegative().nullable(),
    stdevMicros: z.number().nonnegative().nullable(),
    maxMicros: z.number().nonnegative().nullable(),
    p50Micros: z.number().nonnegative().nullable(),
    p75Micros: z.number().nonnegative().nullable(),
    p90Micros: z.number().nonnegative().nullable(),
    p99Micros: z.number().nonnegative().nullable(),
    p999Micros: z.number().nonnegative().nullable(),
    /**
     * Absent for one tool run. histogram: merged from several hosts' full distributions (exact);
     * upper-bound: several hosts without distributions, each percentile the highest host's,
     * which the merged percentile cannot exceed.
     */
    merge: z.enum(['histogram', 'upper-bound']).optional(),
    /**
     * Where each latency starts. Absent or `response`: from the actual send (closed loop, which
     * omits what a stall delayed); `intended-send`: from the time the schedule meant the request
     * to go out (open loop), so a stall is charged for everything queued behind it.
     */
    measuredFrom: z.enum(['response', 'intended-send']).optional(),
  })
  .strict();
export type Latency = z.infer<typeof LatencySchema>;

/**
 * What an open-loop run offered and got. A send is late when the tool noticed it was due more
 * than `lateBoundMicros` after its intended time: the tool fell behind, not the server.
 */
export const OpenLoopSchema = z
  .object({
    offeredPerSecond: z.number().nonnegative(),
    achievedPerSecond: z.number().nonnegative(),
    planned: z.number().int().nonnegative(),
    sent: z.number().int().nonnegative(),
    lateSends: z.number().int().nonnegative(),
    lateBoundMicros: z.number().nonnegative(),
    maxSendLagMicros: z.number().nonnegative(),
    connectionsOpened: z.number().int().nonnegative(),
    connectionsPeak: z.number().int().nonnegative(),
    connectionLimit: z.number().int().positive(),
    /** Requests that found every connection busy with the limit reached, and waited. */
    waitedAtConnectionLimit: z.number().int().nonnegative(),
    /** HdrHistogram V2 compressed (base64) of every latency in microseconds, 1 us to 60 s. */
    histogram: z.string().optional(),
  })
  .strict();
export type OpenLoop = z.infer<typeof OpenLoopSchema>;

/**
 * What one run of a load tool measured. Throughput figures count succeeded responses only:
 * a tool that reports a large req/s over failed requests must not leak it here.
 */
export const LoadResultSchema = z
  .object({
    tool: LoadToolNameSchema,
    toolVersion: z.string(),
    /** The exact argument array the tool ran with (empty for parsed captures). */
    argv: z.array(z.string()),
    elapsedSeconds: z.number().nonnegative(),
    requests: z
      .object({
        total: z.number().int().nonnegative(),
        started: z.number().int().nonnegative(),
        done: z.number().int().nonnegative(),
        succeeded: z.number().int().nonnegative(),
        failed: z.number().int().nonnegative(),
        errored: z.number().int().nonnegative(),
        timedOut: z.number().int().nonnegative(),
      })
      .strict(),
    statusClasses: z
      .object({
        '1xx': z.number().int().nonnegative(),
        '2xx': z.number().int().nonnegative(),
        '3xx': z.number().int().nonnegative(),
        '4xx': z.number().int().nonnegative(),
        '5xx': z.number().int().nonnegative(),
      })
      .strict(),
    bytes: z
      .object({
        total: z.number().nonnegative(),
        headers: z.number().nonnegative().nullable(),
        body: z.number().nonnegative().nullable(),
      })
      .strict(),
    /** Succeeded responses per second. */
    requestsPerSecond: z.number().nonnegative(),
    /** Megabytes (10^6 bytes) per second of succeeded traffic, headers and body. */
    megabytesPerSecond: z.number().nonnegative(),
    latency: LatencySchema,
    /**
     * The whole latency distribution as [microseconds, count] pairs, ascending, where the tool
     * gives it (wrk, autocannon): what lets several hosts' runs merge into exact percentiles.
     * The runner drops it before results.json (it is large and the percentiles say enough).
     */
    latencyHistogram: z.array(z.tuple([z.number().nonnegative(), z.number().int().positive()])).optional(),
    /** CPU the tool itself used (user + system), and its share of the cores it had (0..1). */
    toolCpu: z
      .object({
        userSeconds: z.number().nonnegative(),
        systemSeconds: z.number().nonnegative(),
        cores: z.number().int().positive(),
        utilisation: z.number().nonnegative(),
      })
      .strict()
      .nullable(),
    /** Open-loop runs only (absent for closed-loop tools, and in every older results file). */
    openLoop: OpenLoopSchema.optional(),
    /** Problems the run had, in words; empty when clean. */
    errors: z.array(z.string()),
    /** Remarks on how something was measured (not problems of the run), e.g. a CPU fallback. */
    notes: z.array(z.string()),
    /** True when the tool finished and its output parsed completely. */
    completed: z.boolean(),
    rawOutputPath: z.string().nullable(),
  })
  .strict();
export type LoadResult = z.infer<typeof LoadResultSchema>;

/**
 * What `scaleup load --json --raw-inline` prints: the result and the tool's raw output in one
 * document, so a load host keeps no file of the run (a file there could outlive a dropped link).
 */
export const InlineLoadReportSchema = z
  .object({
    result: LoadResultSchema,
    rawOutput: z.string(),
  })
  .strict();
export type InlineLoadReport = z.infer<typeof InlineLoadReportSchema>;
