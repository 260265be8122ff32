import { z } from 'zod';

/**
 * Open-loop rate sweeps and latency targets, as people write them (`--rates 25%,50%,20000`,
 * `--slo p99=10ms`): parsed once here, so the CLI, the profiles file and results.json agree.
 */

/** A rate step: a share of the server's own closed-loop capacity (from warm-up) or an absolute rate. */
export type RateStep =
  | { kind: 'fraction'; fraction: number; text: string }
  | { kind: 'absolute'; perSecond: number; text: string };

const FRACTION = /^(\d+(?:\.\d+)?)%$/;
const ABSOLUTE = /^(\d+(?:\.\d+)?)(k?)$/i;

/** One rate step, or a message that says what is wrong with it. */
export function parseRateStep(raw: string | number): RateStep | { problem: string } {
  const text = String(raw).trim();
  const fraction = FRACTION.exec(text);
  if (fraction !== null) {
    const percent = Number(fraction[1]);
    if (!(percent > 0) || percent > 1000) {
      return {
        problem: `rate ${JSON.stringify(text)}: a share of capacity must be above 0% and at most 1000%`,
      };
    }
    return { kind: 'fraction', fraction: percent / 100, text: `${percent}%` };
  }
  const absolute = ABSOLUTE.exec(text);
  if (absolute !== null) {
    const perSecond = Number(absolute[1]) * (absolute[2] === '' ? 1 : 1000);
    if (!(perSecond > 0) || perSecond > 100_000_000) {
      return { problem: `rate ${JSON.stringify(text)}: must be above 0 and at most 100000000 per second` };
    }
    return { kind: 'absolute', perSecond, text: String(perSecond) };
  }
  return {
    problem: `rate ${JSON.stringify(text)}: give a share of capacity (75%) or responses per second (20000, 20k)`,
  };
}

/** A latency objective: this percentile of latency (100 = the maximum) stays within the bound. */
export interface Slo {
  /** As written back in reports: `p99=10ms`, `p99.9=5ms`, `max=1s`. */
  text: string;
  /** 0 < percentile <= 100; 100 is the maximum. */
  percentile: number;
  boundMicros: number;
}

export const SloSchema = z
  .object({
    text: z.string(),
    percentile: z.number().gt(0).max(100),
    boundMicros: z.number().positive(),
  })
  .strict();

const SLO = /^(?:p(\d+(?:\.\d+)?)|(max))=(\d+(?:\.\d+)?)(us|µs|ms|s)$/i;
const UNIT_MICROS: Record<string, number> = { us: 1, µs: 1, ms: 1000, s: 1_000_000 };

/**
 * `p99=10ms`, `p99.9=500us`, `p50=1s`, `max=2s`. The percentile is written as HdrHistogram and
 * every report write it (p999 would be ambiguous, so the dot is required).
 */
export function parseSlo(raw: string): Slo | { problem: string } {
  const text = raw.trim();
  const match = SLO.exec(text);
  if (match === null) {
    return {
      problem: `slo ${JSON.stringify(text)}: write it as a percentile and a bound, like p99=10ms, p99.9=500us or max=1s`,
    };
  }
  const percentile = match[2] !== undefined ? 100 : Number(match[1]);
  if (!(percentile > 0) || percentile > 100) {
    return { problem: `slo ${JSON.stringify(text)}: the percentile must be above 0 and at most 100` };
  }
  const boundMicros = Number(match[3]) * UNIT_MICROS[match[4]!.toLowerCase()]!;
  if (!(boundMicros >= 1)) return { problem: `slo ${JSON.stringify(text)}: the bound must be at least 1us` };
  const name = percentile === 100 ? 'max' : `p${percentile}`;
  return { text: `${name}=${formatBound(boundMicros)}`, percentile, boundMicros };
}

function formatBound(micros: number): string {
  if (micros >= 1_000_000 && micros % 1_000_000 === 0) return `${micros / 1_000_000}s`;
  if (micros >= 1000 && micros % 1000 === 0) return `${micros / 1000}ms`;
  return `${micros}us`;
}
