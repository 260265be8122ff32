import { z } from 'zod';
import { LoadResultSchema, LoadToolNameSchema } from './load.ts';
import { ProfileBreakdownSchema } from './profile.ts';
import { SloSchema } from './rates.ts';
import { ACCEPT_MODES, SEND_MODES, SERVER_ENGINES } from './server-stats.ts';

/**
 * results.json: the single source of truth a run writes and every exporter reads. Validated on
 * write and on read; units live in field names. Bump RESULTS_SCHEMA_VERSION on any change a
 * reader of the old version could misread.
 */
export const RESULTS_SCHEMA_ID = 'scaleup.results';
export const RESULTS_SCHEMA_VERSION = 2;

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
    /** Order-statistic interval of the median (distribution-free). */
    ciLow: nonNegative,
    ciHigh: nonNegative,
    /** The coverage the interval really has: below confidenceTarget when n is too small for it. */
    confidence: z.number().min(0).lt(1),
    confidenceTarget: z.number().gt(0).lt(1),
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
    /** Reached coverage (a lower bound for ratio-of-medians); see core/stats ratioEstimate. */
    confidence: z.number().min(0).lt(1),
    confidenceTarget: z.number().gt(0).lt(1),
    /**
     * median-of-paired-ratios: the median over rounds of (server / baseline in that round);
     * ratio-of-medians: when too few rounds pair up.
     */
    statistic: z.enum(['median-of-paired-ratios', 'ratio-of-medians']),
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
    memoryBytes: count.nullable(),
    kernel: z.string().nullable(),
    distribution: z.string().nullable(),
    virtualisation: z.string().nullable(),
    cpuGovernor: z.string().nullable(),
    nodeVersion: z.string().nullable(),
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

/** One load host's own result, kept beside the merged one when several hosts loaded together. */
export const HostLoadResultSchema = LoadResultSchema.extend({ host: z.string() }).strict();
export type HostLoadResult = z.infer<typeof HostLoadResultSchema>;

/** The load of a repetition: one tool run, or the honest merge of several hosts' runs. */
export const RepetitionLoadSchema = LoadResultSchema.extend({
  hosts: z.array(HostLoadResultSchema).optional(),
}).strict();
export type RepetitionLoad = z.infer<typeof RepetitionLoadSchema>;

/**
 * Per successful response (never counting failed, errored or wrong-sized ones): each figure is
 * null where it could not be measured (no server processes read, no tool CPU, perf missing or
 * refused, no successful response).
 */
export const RepetitionCostSchema = z
  .object({
    /** User + system CPU of every server process over the repetition. */
    serverCpuMicrosPerResponse: nonNegative.nullable(),
    /** User + system CPU of the load tool (every load host's, summed). */
    toolCpuMicrosPerResponse: nonNegative.nullable(),
    /** raw_syscalls:sys_enter counted by perf stat for every thread of the server's processes. */
    serverSyscallsPerResponse: nonNegative.nullable(),
    /**
     * Voluntary + involuntary context switches from /proc/<pid>/status of each server process:
     * its main thread (a Node worker's event loop, an nginx worker), not helper threads.
     */
    serverContextSwitchesPerResponse: nonNegative.nullable(),
  })
  .strict();
export type RepetitionCost = z.infer<typeof RepetitionCostSchema>;

export const RepetitionSchema = z
  .object({
    /** 0-based round in the interleaved schedule; reps of one round share drift. */
    round: count,
    startedAt: z.string(),
    load: RepetitionLoadSchema,
    serverCpu: z.array(ProcessCpuSampleSchema),
    /** Sum of serverCpu over the repetition's wall time and the server's cores (0..1). */
    serverCpuUtilisation: nonNegative.nullable(),
    workers: z.array(WorkerShareSchema).nullable(),
    tcp: TcpCountersSchema.nullable(),
    /**
     * The share of the server host's CPU time its hypervisor took (steal, /proc/stat) during
     * the repetition: a virtual machine's noise, measured; null where not readable.
     */
    stealFraction: z.number().min(0).max(1).nullable().default(null),
    /** What each side spent per successful response; absent in results written before it existed. */
    cost: RepetitionCostSchema.optional(),
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
      /** What spoke HTTP in the workers; absent (results before engines existed) means net. */
      engine: z.enum(SERVER_ENGINES).optional(),
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
  z
    .object({
      /** A server measured by hand elsewhere (bench import): only what the manifest says of it. */
      kind: z.literal('imported'),
      name: z.string(),
      workers: z.number().int().positive().nullable(),
    })
    .strict(),
]);
export type ServerDescription = z.infer<typeof ServerDescriptionSchema>;

/** A (sweep) point: what a scenario ran with. A run without a sweep has one point per scenario. */
export const PointSchema = z
  .object({
    workers: z.number().int().positive(),
    connections: z.number().int().positive(),
    /** CPUs the server side had (split pinning), null when unpinned. */
    serverCpus: z.array(count).nullable(),
    loadCpus: z.array(count).nullable(),
    /** scaleup's accept mode at this point; null for servers without one (nginx, commands). */
    accept: z.enum(ACCEPT_MODES).nullable(),
    /**
     * Open loop (bench --rates): responses per second offered at this point, absolute, resolved
     * from the rate step after warm-up; null for closed-loop load.
     */
    offeredRate: z.number().positive().nullable().default(null),
    /** The rate step as asked (`75%` of the server's own capacity, or `20000`); null for closed loop. */
    rateStep: z.string().nullable().default(null),
  })
  .strict();
export type Point = z.infer<typeof PointSchema>;

/** A median over repetitions of one latency percentile, with its spread (never an average). */
export const LatencySummarySchema = z
  .object({
    p50Micros: StatSummarySchema.nullable(),
    p90Micros: StatSummarySchema.nullable(),
    p99Micros: StatSummarySchema.nullable(),
    p999Micros: StatSummarySchema.nullable(),
    /** The largest latency of each repetition, median over repetitions; absent in older files. */
    maxMicros: StatSummarySchema.nullable().optional(),
    /** Some repetitions' percentiles are upper bounds (merged from hosts without histograms). */
    upperBound: z.boolean(),
  })
  .strict();
export type LatencySummary = z.infer<typeof LatencySummarySchema>;

export const ResponseFormSchema = z
  .object({
    /** Whole response on the wire: status line, headers, body. */
    bytes: count,
    /** The server closes the connection after this response (Connection: close). */
    closes: z.boolean(),
  })
  .strict();
export type ResponseForm = z.infer<typeof ResponseFormSchema>;

export const ScenarioSummarySchema = z
  .object({
    validRepetitions: count,
    invalidRepetitions: count,
    clientBoundRepetitions: count,
    /** Repetitions in which the load tool ran at >= 90% of its cores. */
    toolSaturatedRepetitions: count,
    /** Most repetitions had the tool saturated: the figure is a lower bound of the server's. */
    lowerBound: z.boolean(),
    requestsPerSecond: StatSummarySchema.nullable(),
    megabytesPerSecond: StatSummarySchema.nullable(),
    ratioToBaseline: RatioSchema.nullable(),
    /**
     * Server CPU per successful response over valid repetitions (median and interval, like
     * requestsPerSecond); absent in older files and where no repetition recorded it.
     */
    serverCpuMicrosPerResponse: StatSummarySchema.nullable().optional(),
    /**
     * The baseline's server CPU per response divided by this scenario's: the median over rounds
     * where both have it (paired by round), with its interval. Above 1: cheaper per response.
     */
    efficiencyToBaseline: RatioSchema.nullable().optional(),
    latency: LatencySummarySchema.nullable(),
    /** Jain's index over workers' request and connection shares, median over repetitions. */
    fairnessRequests: z.number().min(0).max(1).nullable(),
    fairnessConnections: z.number().min(0).max(1).nullable(),
    /** The busiest worker's share of requests and of connections, median over repetitions. */
    busiestShareRequests: z.number().min(0).max(1).nullable(),
    busiestShareConnections: z.number().min(0).max(1).nullable(),
  })
  .strict();
export type ScenarioSummary = z.infer<typeof ScenarioSummarySchema>;

/**
 * A CPU profile of the server's processes under load (bench --cpu-profile), recorded during one
 * extra repetition that no statistic counts. `folded` paths are relative to the results directory.
 */
export const ScenarioProfileSchema = z
  .object({
    /** Folded stacks of every server process: `profiles/<scenario id>.folded`. */
    folded: z.string(),
    samples: count,
    sampleHz: z.number().positive(),
    /** The perf event sampled (cpu-clock: a software clock, no hardware counters needed). */
    event: z.string(),
    breakdown: ProfileBreakdownSchema,
    /** The load tool's own profile (--cpu-profile tool), `profiles/<scenario id>.tool.folded`. */
    tool: z
      .object({ folded: z.string(), samples: count, breakdown: ProfileBreakdownSchema })
      .strict()
      .nullable(),
  })
  .strict();
export type ScenarioProfile = z.infer<typeof ScenarioProfileSchema>;

export const ScenarioResultSchema = z
  .object({
    /** Unique per result: the scenario id, with its point in a sweep (`2a@w2,c64`). */
    id: z.string(),
    /** The suite's scenario id this result measures (equal to id without a sweep). */
    scenarioId: z.string(),
    /** The id `pnpm compare` matches on in other runs, when not scenarioId. */
    compareAs: z.string().nullable().default(null),
    point: PointSchema,
    /** Where the server ran: 'local' or the ssh destination. */
    serverHost: z.string(),
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
        /**
         * Every whole-response form seen on one keep-alive connection until the server closed it
         * or the probe stopped (e.g. nginx's 100th response carries Connection: close and is a
         * few bytes shorter); traffic totals must be an exact mix of these.
         */
        responseForms: z.array(ResponseFormSchema),
        /** The server closed a keep-alive connection after this many responses; null if it did not. */
        closeAfterRequests: z.number().int().positive().nullable(),
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
    summary: ScenarioSummarySchema.nullable(),
    /** Null without --cpu-profile, when the scenario was skipped, or when profiling failed. */
    profile: ScenarioProfileSchema.nullable().default(null),
    /** Why a profile was asked for and is missing (or partial: the tool's failed), in one line. */
    profileProblem: z.string().nullable().default(null),
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
    /** Rounds per group: the fixed count, or the minimum when adaptive. */
    repetitions: z.number().int().positive(),
    warmupRuns: count,
    warmupSeconds: nonNegative,
    /** The swept values; a run without a sweep has one value on each axis. */
    sweep: z
      .object({
        workers: z.array(z.number().int().positive()).min(1),
        connections: z.array(z.number().int().positive()).min(1),
        /** CPUs given to the server side per point (split pinning); null: the profile's split. */
        serverCpus: z.array(z.number().int().positive()).min(1).nullable(),
        accept: z.array(z.enum(ACCEPT_MODES)).min(1).nullable(),
      })
      .strict(),
    /** Adaptive repetitions: add rounds until every ratio's interval is this tight, within bounds. */
    adaptive: z
      .object({
        targetCiPercent: z.number().positive(),
        maxRepetitions: z.number().int().positive(),
        timeBudgetSeconds: z.number().positive().nullable(),
      })
      .strict()
      .nullable(),
    /** The level every interval aims for. */
    confidenceTarget: z.number().gt(0).lt(1),
    /** Load hosts ('local' when the tool ran here). */
    loadHosts: z.array(z.string()).min(1),
    /**
     * Open-loop rate steps (bench --rates) as normalised text (`25%`, `20000`); null: closed loop.
     * With rates, `tool` is the constant-rate tool and warm-up used a closed-loop one.
     */
    rates: z.array(z.string()).min(1).nullable().default(null),
    /** Latency objectives (bench --slo) whose capacity every latency curve reports. */
    slo: z.array(SloSchema).default([]),
  })
  .strict();
export type LoadPlan = z.infer<typeof LoadPlanSchema>;

export const CALIBRATION_METHODS = ['none', 'tool-cores', 'server-quota', 'load-hosts'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

/** What one server's last warm-up run cost each side, the figures a group's calibration used. */
export const CalibrationCostSchema = z
  .object({
    resultId: z.string(),
    serverCpuMicrosPerResponse: nonNegative.nullable(),
    toolCpuMicrosPerResponse: nonNegative.nullable(),
    /**
     * The tool's CPU over the time of the cores it could use (1 = flat out), uncalibrated: its
     * threads' or CPUs' cores, whichever fewer, and unpinned no more than the servers left it.
     */
    toolBusyFraction: nonNegative.nullable(),
  })
  .strict();
export type CalibrationCost = z.infer<typeof CalibrationCostSchema>;

/** One warm-up run per point under a quota, and how busy the tool was in it. */
export const CalibrationRecheckSchema = z
  .object({
    quotaCores: z.number().positive(),
    toolBusyFraction: nonNegative.nullable(),
  })
  .strict();
export type CalibrationRecheck = z.infer<typeof CalibrationRecheckSchema>;

/** A quota lowered between two rounds because the tool saturated again under the last one. */
export const CalibrationAdjustmentSchema = z
  .object({
    /** The round (1-based) after which the quota changed; later rounds ran under it. */
    afterRound: z.number().int().positive(),
    quotaCores: z.number().positive(),
    /** The busiest the tool was in a valid repetition of that round. */
    toolBusyFraction: nonNegative,
    why: z.string(),
  })
  .strict();
export type CalibrationAdjustment = z.infer<typeof CalibrationAdjustmentSchema>;

/** What the warm-up of one payload group measured, what was chosen from it, and what it reached. */
export const CalibrationGroupSchema = z
  .object({
    group: z.string(),
    costs: z.array(CalibrationCostSchema),
    /** The busiest the tool was against any server of the group before calibrating. */
    toolBusyFraction: nonNegative.nullable(),
    /** server-quota: the CPU quota every server of the group ran under; null: no cap needed. */
    serverQuotaCores: z.number().positive().nullable(),
    /** tool-cores: the CPUs the tool was given (and as many threads); null otherwise. */
    toolCpus: z.array(count).nullable(),
    /** 1 - the tool's busiest fraction in the last warm-up run under the choice; null: not rechecked. */
    headroomFraction: z.number().nullable(),
    /**
     * server-quota: each re-check under a quota, the first at the chosen one, then (while the
     * tool had less than 20% to spare, at most twice more) lowered; the last is serverQuotaCores.
     */
    rechecks: z.array(CalibrationRecheckSchema).default([]),
    /** Quotas lowered during the rounds (at most 3, only downward); empty in older files. */
    adjustments: z.array(CalibrationAdjustmentSchema).default([]),
    /** The decision in words, as the CLI printed it. */
    decision: z.string(),
  })
  .strict();
export type CalibrationGroup = z.infer<typeof CalibrationGroupSchema>;

/** How the run kept the load tool from being the bottleneck (or why it did not). */
export const CalibrationSchema = z
  .object({
    method: z.enum(CALIBRATION_METHODS),
    reason: z.string(),
    groups: z.array(CalibrationGroupSchema),
  })
  .strict();
export type Calibration = z.infer<typeof CalibrationSchema>;

export const TopologySchema = z
  .object({
    pinned: z.boolean(),
    serverCpus: z.array(count).nullable(),
    loadCpus: z.array(count).nullable(),
    /** The cgroup CPU quota the servers ran under (profile serverCpuQuotaCores), null for none. */
    serverCpuQuotaCores: z.number().positive().nullable().default(null),
    description: z.string(),
    /** What calibrating the split from the warm-up decided; null for runs before it existed. */
    calibration: CalibrationSchema.nullable().default(null),
  })
  .strict();
export type Topology = z.infer<typeof TopologySchema>;

/** Why a group's rounds ended. */
export const GroupStopSchema = z
  .object({
    group: z.string(),
    rounds: count,
    stoppedBy: z.enum(['fixed', 'target-reached', 'max-repetitions', 'time-budget', 'interrupted']),
    /** The widest ratio interval's half-width relative to its ratio when the rounds ended. */
    worstHalfWidth: z.number().nonnegative().nullable(),
    /** The result whose ratio was widest. */
    worstResult: z.string().nullable(),
  })
  .strict();
export type GroupStop = z.infer<typeof GroupStopSchema>;

const EstimateSchema = z
  .object({
    value: nonNegative,
    ciLow: nonNegative,
    ciHigh: nonNegative,
    confidence: z.number().min(0).lt(1),
    confidenceTarget: z.number().gt(0).lt(1),
  })
  .strict();
export type Estimate = z.infer<typeof EstimateSchema>;

/** One server's throughput against worker count at fixed connections (and accept mode). */
export const ScalingCurveSchema = z
  .object({
    scenarioId: z.string(),
    label: z.string(),
    payloadBytes: count,
    baseline: z.boolean(),
    connections: z.number().int().positive(),
    accept: z.enum(ACCEPT_MODES).nullable(),
    /** The smallest worker count measured: speedup 1 by definition. */
    baseWorkers: z.number().int().positive(),
    points: z.array(
      z
        .object({
          workers: z.number().int().positive(),
          resultId: z.string(),
          serverCpuCount: count.nullable(),
          requestsPerSecond: nonNegative.nullable(),
          /** Median over rounds of rps(w) / rps(base) in the same round, with its interval. */
          speedup: EstimateSchema.nullable(),
          /** Speedup divided by workers / baseWorkers (1 = linear). */
          efficiency: EstimateSchema.nullable(),
          /** The load tool was saturated here: the point is a lower bound, not the server's limit. */
          lowerBound: z.boolean(),
        })
        .strict(),
    ),
    /**
     * The worker count after which more workers no longer raised throughput beyond the noise
     * (the base count when the first step did not rise); null when the base has no valid figure.
     */
    stopsRisingAt: z.number().int().positive().nullable(),
  })
  .strict();
export type ScalingCurve = z.infer<typeof ScalingCurveSchema>;

/** One rate step of one server: what was offered, what came back, and how late. */
export const LatencyCurvePointSchema = z
  .object({
    resultId: z.string(),
    rateStep: z.string(),
    offeredPerSecond: z.number().positive(),
    /** Succeeded responses per second over valid repetitions (median and interval). */
    achievedPerSecond: StatSummarySchema.nullable(),
    /** Each repetition's percentiles from its (hosts') merged histogram, medians over repetitions. */
    latency: LatencySummarySchema.nullable(),
    /**
     * Latency against percentile from the histograms of every valid repetition added together,
     * as HdrHistogram plots it; null without histograms.
     */
    spectrum: z
      .array(z.object({ percentile: z.number().min(0).max(100), micros: nonNegative }).strict())
      .nullable(),
    validRepetitions: count,
    /** The median achieved rate was within 1% of the offered one; null without valid repetitions. */
    keptUp: z.boolean().nullable(),
  })
  .strict();
export type LatencyCurvePoint = z.infer<typeof LatencyCurvePointSchema>;

/** The highest offered rate at which a latency objective held. */
export const CapacityAtSloSchema = z
  .object({
    slo: SloSchema,
    /**
     * Median over rounds of each round's capacity: the highest offered rate whose percentile
     * stayed within the bound at it and at every lower judged rate, with the interval the rounds
     * give; 0 in a round where even the lowest rate broke it. A step that could not be judged
     * (invalid, e.g. the tool fell behind, or the percentile unknown) is passed over; a round whose
     * first judged step broke it above such a step takes no part; null when no round could
     * (core/latency-curves.ts).
     */
    ratePerSecond: EstimateSchema.nullable(),
    /**
     * below-lowest: the lowest offered rate already broke the objective (capacity is below it);
     * at-highest: the highest offered rate kept it (capacity is at least that); null: bracketed.
     */
    censored: z.enum(['below-lowest', 'at-highest']).nullable(),
    /** This capacity over the baseline's, median over rounds (paired by round) with its interval. */
    ratioToBaseline: RatioSchema.nullable(),
  })
  .strict();
export type CapacityAtSlo = z.infer<typeof CapacityAtSloSchema>;

/** Latency against offered load for one server (bench --rates), and its capacity at each objective. */
export const LatencyCurveSchema = z
  .object({
    scenarioId: z.string(),
    label: z.string(),
    payloadBytes: count,
    group: z.string(),
    baseline: z.boolean(),
    /** The scenario id of the baseline this curve is compared with; null for a baseline. */
    baselineScenarioId: z.string().nullable(),
    /** Ascending offered rate. */
    points: z.array(LatencyCurvePointSchema),
    /** One per objective of plan.slo, in that order. */
    capacityAtSlo: z.array(CapacityAtSloSchema),
  })
  .strict();
export type LatencyCurve = z.infer<typeof LatencyCurveSchema>;

/** A host of the run other than the harness itself, and what it was used for. */
export const HostEnvironmentSchema = z
  .object({
    name: z.string(),
    roles: z.array(z.enum(['server', 'load'])),
    /** The address others reached it at (server) or it connected from (load), as found. */
    address: z.string().nullable(),
    hostname: z.string(),
    cpuModel: z.string(),
    logicalCores: count,
    memoryBytes: count.nullable(),
    kernel: z.string().nullable(),
    nodeVersion: z.string().nullable(),
    /** Its clock minus the harness's, estimated over ssh; null when not measured. */
    clockOffsetMs: z.number().nullable(),
    tools: z.array(ToolInfoSchema),
    nginx: z
      .object({ version: z.string().nullable(), path: z.string().nullable(), missing: z.string().nullable() })
      .strict()
      .nullable(),
    tuning: z.array(TuningCheckSchema),
    /**
     * What of scaleup ran there: a bundle shipped over ssh (version: its sha256, zeroCopyAddon:
     * whether the native addon went with it) or a checkout (version: its commit, when known).
     * null in files written before it was recorded.
     */
    code: z
      .object({
        kind: z.enum(['bundle', 'checkout']),
        version: z.string().nullable(),
        zeroCopyAddon: z.boolean().nullable(),
        /** Bytes copied to the host for this run: 0 when its cache had the bundle. */
        copiedBytes: count.nullable(),
        note: z.string().nullable(),
      })
      .strict()
      .nullable()
      .default(null),
  })
  .strict();
export type HostEnvironment = z.infer<typeof HostEnvironmentSchema>;

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
        /** measured: by this run; imported: from captures of tools run by hand (bench import). */
        source: z.enum(['measured', 'imported']),
      })
      .strict(),
    environment: EnvironmentSchema,
    /** Hosts other than this machine (servers and load over ssh); empty when all ran here. */
    hosts: z.array(HostEnvironmentSchema),
    tuning: z.array(TuningCheckSchema),
    topology: TopologySchema,
    plan: LoadPlanSchema,
    scenarios: z.array(ScenarioResultSchema),
    /** How each group's rounds ended (adaptive repetitions say which bound stopped them). */
    stopping: z.array(GroupStopSchema),
    /** Speedup curves over workers, one per scenario and fixed connections/accept; empty without a worker sweep. */
    scaling: z.array(ScalingCurveSchema),
    /** Latency against offered load per server (bench --rates); empty for closed-loop runs. */
    latencyCurves: z.array(LatencyCurveSchema).default([]),
    warnings: z.array(z.string()),
  })
  .strict();
export type ResultsFile = z.infer<typeof ResultsFileSchema>;
