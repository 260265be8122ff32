import { z } from 'zod';
import { LoadToolNameSchema } from './load.ts';
import { quoted } from './quoted.ts';
import { formatIssues } from './results.ts';
import { IdSchema, ScenarioError } from './scenario.ts';

/**
 * The manifest of `bench import`: outputs of load tools run by hand (the seed's weighttp logs,
 * say), with what is known of the machine and the servers. Decoded strictly like suites: every
 * unknown key and bad value is reported, all at once.
 */

const id = IdSchema;

/**
 * A capture names a file of the manifest's own directory: a manifest from elsewhere must not
 * make the import read (and copy into the run) whatever the importing user can read, so no
 * absolute path and no `..` step. Symlinks that lead out are refused when the file is opened.
 */
export const CapturePathSchema = z
  .string()
  .min(1)
  .superRefine((path, ctx) => {
    if (path.startsWith('/') || path.includes('\0') || path.split('/').includes('..'))
      ctx.addIssue({
        code: 'custom',
        message: `${quoted(path)}: not a relative path inside the manifest's directory (no leading /, no '..')`,
      });
  });

export const ImportScenarioSchema = z
  .object({
    id,
    label: z.string().min(1),
    payloadBytes: z.number().int().nonnegative(),
    /** The server in words, e.g. "Twisted 13.1 on PyPy 2.1". */
    server: z.string().min(1),
    baseline: z.boolean().default(false),
    /** Worker processes of the server, when known. */
    workers: z.number().int().positive().optional(),
    /** Overrides load.connections for this scenario (the seed gave nginx 1000). */
    connections: z.number().int().positive().optional(),
    /** The id other runs use for what this scenario measures (see pnpm compare). */
    compareAs: id.optional(),
    /** One captured output per repetition, relative to the manifest. */
    captures: z.array(CapturePathSchema).min(1),
    description: z.string().optional(),
  })
  .strict();
export type ImportScenario = z.infer<typeof ImportScenarioSchema>;

export const ImportManifestSchema = z
  .object({
    $schema: z.string().optional(),
    suite: id.default('imported'),
    description: z.string().optional(),
    machine: z
      .object({
        hostname: z.string().min(1),
        cpuModel: z.string().min(1),
        logicalCores: z.number().int().positive(),
        physicalCores: z.number().int().positive().optional(),
        memoryGiB: z.number().positive().optional(),
        os: z.string().optional(),
        kernel: z.string().optional(),
        virtualisation: z.string().optional(),
        /** When the captures were made: an ISO date or date-time. */
        date: z.string().refine((d) => !Number.isNaN(Date.parse(d)), 'not a date (use e.g. 2013-08-20)'),
      })
      .strict(),
    tool: LoadToolNameSchema,
    toolVersion: z.string().optional(),
    load: z
      .object({
        requests: z.number().int().positive().optional(),
        durationSeconds: z.number().positive().optional(),
        connections: z.number().int().positive(),
        threads: z.number().int().positive(),
        keepAlive: z.boolean(),
      })
      .strict()
      .refine((l) => (l.requests === undefined) !== (l.durationSeconds === undefined), {
        message: 'set exactly one of requests and durationSeconds',
      }),
    /** Remarks for the reports, e.g. how the servers were set up. */
    notes: z.array(z.string()).default([]),
    scenarios: z.array(ImportScenarioSchema).min(1),
  })
  .strict()
  .superRefine((manifest, ctx) => {
    const seen = new Set<string>();
    manifest.scenarios.forEach((s, index) => {
      if (seen.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['scenarios', index, 'id'], message: `duplicate id '${s.id}'` });
      seen.add(s.id);
    });
    const baselines = new Map<number, number>();
    for (const s of manifest.scenarios)
      if (s.baseline) baselines.set(s.payloadBytes, (baselines.get(s.payloadBytes) ?? 0) + 1);
    for (const [payload, n] of baselines)
      if (n > 1)
        ctx.addIssue({
          code: 'custom',
          path: ['scenarios'],
          message: `${n} baselines at ${payload} B; at most one`,
        });
  });
export type ImportManifest = z.infer<typeof ImportManifestSchema>;

export function parseImportManifest(raw: unknown, source: string): ImportManifest {
  const parsed = ImportManifestSchema.safeParse(raw);
  if (!parsed.success) throw new ScenarioError(source, formatIssues(parsed.error.issues));
  return parsed.data;
}
