import { z } from 'zod';

export const ACCEPT_MODES = ['shared', 'rr', 'reuseport'] as const;
export type AcceptMode = (typeof ACCEPT_MODES)[number];
/** The listen backlog the seed's server.py asked for; the kernel caps it at net.core.somaxconn. */
export const SERVER_DEFAULT_BACKLOG = 8192;
export const RESOURCE_KINDS = ['file', 'data', 'fixed'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];
/**
 * How the server sends responses. auto: large prebuilt responses with sendfile(2) from memory
 * when the native addon is built, everything else with write(2); write: always write(2).
 */
export const SEND_MODES = ['auto', 'write'] as const;
export type SendMode = (typeof SEND_MODES)[number];
/**
 * What speaks HTTP in the server's workers. net: scaleup's own HTTP/1.x loop on node:net (with
 * sendfile from memory); http: a plain node:http server, as Node services run under cluster.
 */
export const SERVER_ENGINES = ['net', 'http'] as const;
export type ServerEngine = (typeof SERVER_ENGINES)[number];
/**
 * Below this size a response goes out with write() even in auto mode: measured with wrk on two
 * pinned cores, sendfile gained nothing at 40 B and 1 KiB (3 interleaved pairs each), +4% at
 * 4 KiB and +15% at 10 kB, where the copy into the socket and the receiver's read of freshly
 * written pages dominate.
 */
export const ZERO_COPY_MIN_BYTES = 4096;

export const WorkerStatsSchema = z
  .object({
    /** Stable slot number (0..workers-1); a respawned worker keeps its slot. */
    slot: z.number().int().nonnegative(),
    pid: z.number().int().positive(),
    requests: z.number().int().nonnegative(),
    connections: z.number().int().nonnegative(),
    cpuUserSeconds: z.number().nonnegative(),
    cpuSystemSeconds: z.number().nonnegative(),
    rssBytes: z.number().int().nonnegative(),
    restarts: z.number().int().nonnegative(),
    /** Responses that went out whole with sendfile(2) (see `zeroCopy`). */
    zeroCopyResponses: z.number().int().nonnegative(),
  })
  .strict();
export type WorkerStats = z.infer<typeof WorkerStatsSchema>;

/** The server's `--stats-file`, rewritten atomically every interval and at shutdown. */
export const ServerStatsFileSchema = z
  .object({
    schema: z.literal('scaleup.server-stats/1'),
    event: z.enum(['starting', 'ready', 'interval', 'stopping', 'stopped']),
    masterPid: z.number().int().positive(),
    accept: z.enum(ACCEPT_MODES),
    resource: z.enum(RESOURCE_KINDS),
    payloadBytes: z.number().int().nonnegative(),
    port: z.number().int().nonnegative(),
    host: z.string(),
    /** The listen backlog requested with --backlog. */
    backlog: z.number().int().positive(),
    /** What the kernel uses: the requested backlog capped at net.core.somaxconn (when readable). */
    effectiveBacklog: z.number().int().positive().optional(),
    send: z.enum(SEND_MODES),
    zeroCopy: z
      .object({
        /** Whether responses of at least `minBytes` go out with sendfile(2). */
        active: z.boolean(),
        minBytes: z.number().int().positive(),
        /** Why it is off, when `send` is auto and it is off anyway. */
        note: z.string().nullable(),
      })
      .strict(),
    /** Wall-clock time of this snapshot, ISO 8601. */
    writtenAt: z.string(),
    uptimeSeconds: z.number().nonnegative(),
    workers: z.array(WorkerStatsSchema),
    /** Counters of workers that exited (crashed or replaced), so totals never go backwards. */
    retired: z
      .object({
        requests: z.number().int().nonnegative(),
        connections: z.number().int().nonnegative(),
      })
      .strict(),
  })
  .strict();
export type ServerStatsFile = z.infer<typeof ServerStatsFileSchema>;
