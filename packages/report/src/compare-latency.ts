import type { ComparedRun } from './compare-model.ts';
import { type CapacityRow, capacityRows, latencyGroups } from './latency.ts';
import { payloadLabel } from './model.ts';

/**
 * Machines' open-loop rate sweeps side by side: per scenario (id or compareAs) and payload, each
 * machine's p99 against offered load on one set of axes, and the capacity at each objective per
 * machine. Offered rates are absolute, so the curves show where each machine's latency turns up.
 */

export interface ComparedLatencyPoint {
  run: string;
  rateStep: string;
  offeredPerSecond: number;
  /** p99 median over repetitions and its interval, ms. */
  p99: number;
  low: number;
  high: number;
  behind: boolean;
}

export interface ComparedLatencyCurve {
  key: string;
  label: string;
  payloadBytes: number;
  /** Points of every run, each run's in ascending offered rate. */
  points: ComparedLatencyPoint[];
}

export interface ComparedCapacity {
  key: string;
  label: string;
  payloadBytes: number;
  slo: string;
  /** Per run (in run order) its row of the run's capacity table, or null where it has none. */
  perRun: (CapacityRow | null)[];
}

export interface ComparedLatency {
  curves: ComparedLatencyCurve[];
  capacities: ComparedCapacity[];
}

/** A curve's name across runs: the id the suite declares with compareAs, else its scenario id. */
function nameOf(run: ComparedRun, scenarioId: string): string {
  return run.results.scenarios.find((s) => s.scenarioId === scenarioId)?.compareAs ?? scenarioId;
}

export function comparedLatency(runs: readonly ComparedRun[]): ComparedLatency {
  const curves = new Map<string, ComparedLatencyCurve>();
  const capacities = new Map<string, ComparedCapacity>();
  runs.forEach((run, r) => {
    for (const g of latencyGroups(run.results)) {
      for (const { name, curve } of g.servers) {
        const id = nameOf(run, curve.scenarioId);
        // A scenario with a curve per point of another sweep: one compared curve per point.
        const key = `${id}|${curve.payloadBytes}${name === curve.label ? '' : `|${name}`}`;
        let compared = curves.get(key);
        if (compared === undefined) {
          compared = {
            key,
            label: `${id} ${name}, ${payloadLabel(curve.payloadBytes)}`,
            payloadBytes: curve.payloadBytes,
            points: [],
          };
          curves.set(key, compared);
        }
        for (const p of curve.points) {
          const p99 = p.latency?.p99Micros ?? null;
          if (p99 === null) continue;
          compared.points.push({
            run: run.label,
            rateStep: p.rateStep,
            offeredPerSecond: p.offeredPerSecond,
            p99: p99.median / 1000,
            low: p99.ciLow / 1000,
            high: p99.ciHigh / 1000,
            behind: p.keptUp === false,
          });
        }
      }
    }
    for (const row of capacityRows(run.results)) {
      const id = nameOf(run, row.scenarioId);
      const key = `${id}|${row.payloadBytes}|${row.slo}`;
      let compared = capacities.get(key);
      if (compared === undefined) {
        compared = {
          key,
          label: `${id} ${row.server}`,
          payloadBytes: row.payloadBytes,
          slo: row.slo,
          perRun: runs.map(() => null),
        };
        capacities.set(key, compared);
      }
      compared.perRun[r] = row;
    }
  });
  const byPayload = <T extends { payloadBytes: number }>(list: T[]) =>
    list
      .map((x, i) => [x, i] as const)
      .sort((a, b) => a[0].payloadBytes - b[0].payloadBytes || a[1] - b[1])
      .map(([x]) => x);
  return {
    curves: byPayload([...curves.values()].filter((c) => c.points.length > 0)),
    capacities: byPayload([...capacities.values()]),
  };
}

/** A machine's capacity cell: "12,000 [11,000 – 16,500] 93.7%*; vs nginx 0.579", or "–". */
export function capacityCellText(row: CapacityRow | null): string {
  if (row === null) return '–';
  const interval = row.interval || row.censoredText;
  const ratio = row.baseline
    ? ''
    : `; vs nginx ${row.ratioFigure}${row.ratioInterval ? ` ${row.ratioInterval}` : ''}`;
  return `${row.figure}${interval ? ` ${interval}` : ''}${ratio}`;
}
