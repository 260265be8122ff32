import type { Point, Repetition, ScenarioResult } from '../../src/results-schema.ts';

export interface ResultInput {
  id: string;
  point?: Partial<Point>;
  reps: Repetition[];
  baseline?: boolean;
  /** Defaults to the id: labels are data, some tests give markup. */
  label?: string;
}

/**
 * A 40 B scenario result on one worker and 16 connections, our server or (baseline) nginx, with
 * the given repetitions and no summary: what the summaries and curves are derived from.
 */
export function scenarioResult({
  id,
  point = {},
  reps,
  baseline = false,
  label = id,
}: ResultInput): ScenarioResult {
  return {
    id,
    scenarioId: id.split('@')[0]!,
    compareAs: null,
    point: {
      workers: 1,
      connections: 16,
      serverCpus: null,
      loadCpus: null,
      accept: baseline ? null : 'shared',
      offeredRate: null,
      rateStep: null,
      ...point,
    },
    serverHost: 'local',
    label,
    payloadBytes: 40,
    group: '40B',
    baseline,
    server: baseline
      ? { kind: 'nginx', preset: 'tuned', workers: point.workers ?? 1, version: null, settings: {} }
      : {
          kind: 'scaleup',
          resource: 'fixed',
          accept: 'shared',
          workers: point.workers ?? 1,
          backlog: 8192,
          send: 'auto',
          zeroCopy: true,
        },
    url: null,
    skipped: null,
    verification: null,
    warmup: null,
    repetitions: reps,
    summary: null,
    profile: null,
    profileProblem: null,
  };
}
