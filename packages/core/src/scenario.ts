import { z } from 'zod';
import { LoadToolNameSchema } from './load.ts';
import { parseRateStep, parseSlo } from './rates.ts';
import { formatIssues } from './results.ts';
import { ACCEPT_MODES, SEND_MODES, SERVER_DEFAULT_BACKLOG, SERVER_ENGINES } from './server-stats.ts';

/**
 * Scenario suites and load profiles are data (scenarios/*.json), decoded strictly: unknown keys
 * and bad values are errors, and every error is reported at once with its file and field.
 */

/** A scenario, suite or profile id: what file names and result ids are made of. */
export const IdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'ids use letters, digits, ".", "_" and "-"');
const id = IdSchema;

export const PLACEHOLDERS = ['port', 'host', 'payload', 'workers'] as const;

export const ScenarioServerSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('scaleup'),
      resource: z.enum(['fixed', 'file', 'data']),
      accept: z.enum(['shared', 'rr', 'reuseport']).default('shared'),
      backlog: z.number().int().positive().default(SERVER_DEFAULT_BACKLOG),
      send: z.enum(SEND_MODES).default('auto'),
      /** net (scaleup's own HTTP loop) or http (node:http, as most Node services run). */
      engine: z.enum(SERVER_ENGINES).default('net'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('nginx'),
      preset: z.enum(['stock', 'tuned']).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('command'),
      /** argv of the server; {port}, {host}, {payload} and {workers} are filled in. */
      command: z.array(z.string().min(1)).min(1),
      cwd: z.string().optional(),
      /** URL whose answer means ready and is verified; defaults to http://{host}:{port}/. */
      readyUrl: z.string().optional(),
      /** URL the load goes to; defaults to readyUrl. */
      url: z.string().optional(),
      env: z.record(z.string(), z.string()).optional(),
      readyTimeoutSeconds: z.number().positive().default(30),
      /**
       * argv run before the server: a non-zero exit (or a missing program) skips the scenario
       * with `install` as the fix, instead of failing the run.
       */
      check: z.array(z.string().min(1)).min(1).optional(),
      /** How to get what the command needs, shown when it is missing. */
      install: z.string().optional(),
    })
    .strict(),
]);
export type ScenarioServer = z.infer<typeof ScenarioServerSchema>;

export const ScenarioSchema = z
  .object({
    id,
    label: z.string().min(1),
    payloadBytes: z.number().int().nonnegative(),
    server: ScenarioServerSchema,
    /** The baseline every other scenario of the same payload is compared with. */
    baseline: z.boolean().default(false),
    /**
     * The id other runs use for what this scenario measures, when it differs: `pnpm compare`
     * lines this scenario up with theirs (the seed's 1a, Twisted on PyPy, is tw-1a here).
     */
    compareAs: id.optional(),
    description: z.string().optional(),
  })
  .strict();
export type Scenario = z.infer<typeof ScenarioSchema>;

export const SuiteSchema = z
  .object({
    $schema: z.string().optional(),
    suite: id,
    description: z.string().optional(),
    /** The profile this suite runs with unless --profile says otherwise. */
    profile: id.optional(),
    /** Hosts this suite runs on (a lab's suite); the command line and the profile win. */
    hosts: z.lazy(() => HostsSchema).optional(),
    scenarios: z.array(ScenarioSchema).min(1),
  })
  .strict()
  .superRefine((suite, ctx) => {
    const seen = new Set<string>();
    suite.scenarios.forEach((scenario, index) => {
      if (seen.has(scenario.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['scenarios', index, 'id'],
          message: `duplicate id '${scenario.id}'`,
        });
      }
      seen.add(scenario.id);
    });
    const baselinesByPayload = new Map<number, number>();
    for (const s of suite.scenarios) {
      if (s.baseline)
        baselinesByPayload.set(s.payloadBytes, (baselinesByPayload.get(s.payloadBytes) ?? 0) + 1);
    }
    for (const [payload, n] of baselinesByPayload) {
      if (n > 1)
        ctx.addIssue({
          code: 'custom',
          path: ['scenarios'],
          message: `${n} baselines at ${payload} B; at most one`,
        });
    }
  });
export type Suite = z.infer<typeof SuiteSchema>;

/** Where a run's processes go: ssh destinations (or Host names of the ssh config). */
export const HostsSchema = z
  .object({
    /** Hosts that run the load tool, together; none: this machine. */
    load: z.array(z.string().min(1)).optional(),
    /** The host that runs the servers under test; none: this machine. */
    server: z.string().min(1).optional(),
    /** An ssh config file, passed as ssh -F. */
    sshConfig: z.string().min(1).optional(),
    /** The scaleup checkout on the other hosts (default: the same path as here). */
    remoteDir: z.string().min(1).optional(),
    /** The address the load reaches the servers at, instead of the one found. */
    serverAddress: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((hosts, ctx) => {
    const load = hosts.load ?? [];
    if (new Set(load).size !== load.length) {
      ctx.addIssue({ code: 'custom', path: ['load'], message: `names a host twice: ${load.join(', ')}` });
    }
  });
export type Hosts = z.infer<typeof HostsSchema>;

export const ProfileSchema = z
  .object({
    description: z.string(),
    /** Tools in order of preference; the first one installed is used. */
    tools: z.array(LoadToolNameSchema).min(1),
    requests: z.number().int().positive().optional(),
    /** Whole seconds: wrk and h2load take no fractions. */
    durationSeconds: z.number().int().positive().optional(),
    /** Concurrent connections; a list is a sweep axis. */
    connections: z.union([z.number().int().positive(), z.array(z.number().int().positive()).min(1)]),
    /** Connections for the baseline when they must differ (the seed gave nginx 1000, not 4000). */
    baselineConnections: z.number().int().positive().optional(),
    threads: z.number().int().positive(),
    keepAlive: z.boolean().default(true),
    /** Rounds per group; with targetCiPercent the minimum before the intervals are judged. */
    repetitions: z.number().int().positive(),
    /** Adaptive repetitions: add rounds until every ratio's interval is within ±this percent. */
    targetCiPercent: z.number().positive().max(100).optional(),
    /** The most rounds adaptive repetitions may run (default: 3 x repetitions). */
    maxRepetitions: z.number().int().positive().optional(),
    /** Wall-time budget for the measured rounds of the whole run, in seconds. */
    timeBudgetSeconds: z.number().positive().optional(),
    /** The level every interval aims for (0.95). */
    confidence: z.number().gt(0.5).lt(1).default(0.95),
    warmupRuns: z.number().int().nonnegative(),
    warmupSeconds: z.number().nonnegative(),
    /** split: server on some CPUs, load tool on the rest (pinned); none: unpinned, as the seed ran. */
    pinning: z.enum(['split', 'none']),
    /**
     * Server and nginx workers: a number, 'auto' (the CPUs the server side gets), a list (a sweep
     * axis), or 'powers-of-two' (1, 2, 4, ... up to the server side's CPUs, plus that count).
     */
    workers: z.union([
      z.number().int().positive(),
      z.literal('auto'),
      z.literal('powers-of-two'),
      z.array(z.number().int().positive()).min(1),
    ]),
    /** CPUs given to the server side per point under split pinning; a list is a sweep axis. */
    serverCpus: z.array(z.number().int().positive()).min(1).optional(),
    /** Accept modes of scaleup servers, a sweep axis (default: each scenario's own). */
    accept: z.array(z.enum(ACCEPT_MODES)).min(1).optional(),
    nginxPreset: z.enum(['stock', 'tuned']),
    timeoutSeconds: z.number().positive().default(60),
    /**
     * Caps every server under test (ours, nginx, a command) at this many CPUs with a cgroup
     * quota, so that on a small machine the servers and not the load tool are the bottleneck.
     */
    serverCpuQuotaCores: z.number().min(0.05).max(1024).optional(),
    /**
     * Calibrate the topology from the warm-up so the load tool keeps 20% headroom: size its CPU
     * share where there are cores to spare, else cap every server with one cgroup quota per group.
     */
    calibrate: z.boolean().optional(),
    /** Hosts the profile runs on (see HostsSchema). */
    hosts: HostsSchema.optional(),
    /**
     * Open-loop rate steps, a sweep axis: shares of each server's own closed-loop capacity from
     * warm-up (`75%`) or responses per second (`20000`, `20k`). The measured rounds then run the
     * constant-rate tool; warm-up stays closed loop with the profile's tool.
     */
    rates: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .optional(),
    /** Latency objectives of a rate sweep (`p99=10ms`): the capacity at each is reported. */
    slo: z.array(z.string()).min(1).optional(),
  })
  .strict()
  .superRefine((profile, ctx) => {
    checkRates(profile, ctx);
    if ((profile.requests === undefined) === (profile.durationSeconds === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'set exactly one of requests and durationSeconds' });
    }
    // `fields` names the settings a message speaks of, so the CLI can say them as its flags.
    const connections = Array.isArray(profile.connections) ? profile.connections : [profile.connections];
    const fewest = Math.min(...connections);
    if (fewest < profile.threads) {
      ctx.addIssue({
        code: 'custom',
        path: ['connections'],
        message: `fewer connections than threads: connections (${fewest}) is below threads (${profile.threads})`,
        params: { fields: ['connections', 'threads'] },
      });
    }
    if (profile.maxRepetitions !== undefined && profile.maxRepetitions < profile.repetitions) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxRepetitions'],
        message: `maxRepetitions (${profile.maxRepetitions}) is below repetitions (${profile.repetitions})`,
        params: { fields: ['maxRepetitions', 'repetitions'] },
      });
    }
    const bound = profile.maxRepetitions !== undefined ? 'maxRepetitions' : 'timeBudgetSeconds';
    if (profile[bound] !== undefined && profile.targetCiPercent === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [bound],
        message: 'maxRepetitions and timeBudgetSeconds bound adaptive repetitions: give targetCiPercent too',
        params: { fields: ['maxRepetitions', 'timeBudgetSeconds', 'targetCiPercent'] },
      });
    }
  });
export type Profile = z.infer<typeof ProfileSchema>;

/** Every bad rate step and objective at once, each in its own words; rates need a duration. */
function checkRates(
  profile: {
    rates?: (string | number)[] | undefined;
    slo?: string[] | undefined;
    requests?: number | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  for (const [index, raw] of (profile.rates ?? []).entries()) {
    const step = parseRateStep(raw);
    // The message quotes the value and says what is wrong: it stands alone (no field prefix).
    if ('problem' in step) {
      ctx.addIssue({ code: 'custom', path: ['rates', index], message: step.problem, params: { fields: [] } });
    }
  }
  const texts = (profile.rates ?? [])
    .map((raw) => parseRateStep(raw))
    .flatMap((s) => ('text' in s ? [s.text] : []));
  const twice = [...new Set(texts.filter((text, i) => texts.indexOf(text) !== i))];
  if (twice.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['rates'], message: `names a rate twice: ${twice.join(', ')}` });
  }
  for (const [index, raw] of (profile.slo ?? []).entries()) {
    const slo = parseSlo(raw);
    if ('problem' in slo) {
      ctx.addIssue({ code: 'custom', path: ['slo', index], message: slo.problem, params: { fields: [] } });
    }
  }
  if (profile.slo !== undefined && profile.rates === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['slo'],
      message: 'slo is judged over a rate sweep: give rates too',
      params: { fields: ['slo', 'rates'] },
    });
  }
  if (profile.rates !== undefined && profile.requests !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['rates'],
      message: 'rates run open loop for a duration: give durationSeconds, not requests',
      params: { fields: ['rates', 'durationSeconds', 'requests'] },
    });
  }
}

export const ProfilesFileSchema = z
  .object({ $schema: z.string().optional(), profiles: z.record(id, ProfileSchema) })
  .strict();
export type ProfilesFile = z.infer<typeof ProfilesFileSchema>;

export class ScenarioError extends Error {
  override name = 'ScenarioError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}`);
  }
}

function decode<T>(schema: z.ZodType<T>, raw: unknown, source: string): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ScenarioError(source, formatIssues(parsed.error.issues));
  return parsed.data;
}

export function parseSuite(raw: unknown, source: string): Suite {
  return decode(SuiteSchema, raw, source);
}

export function parseProfiles(raw: unknown, source: string): ProfilesFile {
  return decode(ProfilesFileSchema, raw, source);
}

/** Fills {port}-style placeholders; an unknown placeholder is an error, not a literal. */
export function fillPlaceholders(
  text: string,
  values: Partial<Record<(typeof PLACEHOLDERS)[number], string | number>>,
): string {
  return text.replace(/\{([a-z]+)\}/g, (match, name: string) => {
    const value = values[name as (typeof PLACEHOLDERS)[number]];
    if (value === undefined)
      throw new Error(
        `unknown placeholder ${match} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`,
      );
    return String(value);
  });
}

/** `--only 1a,nginx-1`: unknown ids are an error listing what exists. */
export function selectScenarios(suite: Suite, only: readonly string[] | undefined): Scenario[] {
  if (only === undefined || only.length === 0) return suite.scenarios;
  const known = new Set(suite.scenarios.map((s) => s.id));
  const unknown = only.filter((o) => !known.has(o));
  if (unknown.length > 0) {
    throw new ScenarioError('--only', [
      `unknown scenario ${unknown.join(', ')} (suite ${suite.suite} has ${[...known].join(', ')})`,
    ]);
  }
  return suite.scenarios.filter((s) => only.includes(s.id));
}
