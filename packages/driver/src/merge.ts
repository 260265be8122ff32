import {
  type HostLoadResult,
  type Latency,
  type LoadResult,
  mergeEncodedHistograms,
  type OpenLoop,
  type RepetitionLoad,
} from '@scaleup/core';

/**
 * Several hosts loaded one server together: their results become one, honestly.
 * - Counts and bytes are sums; a byte split one host did not give is unknown for all.
 * - Throughput is over the common window: all succeeded responses over the longest host's
 *   elapsed time (the hosts start together at a barrier, so this covers every host's run and
 *   never credits one host's short run with another's count).
 * - Latency percentiles come from the merged distributions when every host gave its whole
 *   distribution; otherwise each percentile is the highest host's, which the merged percentile
 *   cannot exceed, and the latency is marked as an upper bound. Never an average.
 * - The tool's CPU is summed, and its utilisation is the busiest host's: one saturated load
 *   host is enough to make the figure a lower bound.
 * - Open loop (every host ran a constant-rate tool): the rate was split over the hosts, so what
 *   was offered, planned, sent and late adds up, the worst lag is the worst host's, and the
 *   histograms add exactly. Each host keeps its own figures under `hosts`.
 */
export function mergeLoads(hosts: readonly HostLoadResult[]): RepetitionLoad {
  if (hosts.length === 0) throw new RangeError('merge: no host results');
  if (hosts.length === 1) {
    const { host, latencyHistogram: _, ...only } = hosts[0]!;
    // Even alone, a host's problems say which host they happened on.
    return {
      ...only,
      errors: only.errors.map((e) => `${host}: ${e}`),
      notes: only.notes.map((n) => `${host}: ${n}`),
      hosts: hosts.map(withoutHistogram),
    };
  }
  const sum = (pick: (r: LoadResult) => number) => hosts.reduce((total, r) => total + pick(r), 0);
  const sumOrNull = (pick: (r: LoadResult) => number | null) =>
    hosts.some((r) => pick(r) === null) ? null : sum((r) => pick(r)!);
  const elapsed = Math.max(...hosts.map((r) => r.elapsedSeconds));
  const succeeded = sum((r) => r.requests.succeeded);
  const responses = succeeded + sum((r) => r.requests.failed);
  const totalBytes = sum((r) => r.bytes.total);
  const succeededBytes = responses === 0 ? 0 : (totalBytes * succeeded) / responses;
  const versions = [...new Set(hosts.map((r) => r.toolVersion))];
  const cpu = hosts.every((r) => r.toolCpu !== null)
    ? {
        userSeconds: sum((r) => r.toolCpu!.userSeconds),
        systemSeconds: sum((r) => r.toolCpu!.systemSeconds),
        cores: sum((r) => r.toolCpu!.cores),
        utilisation: Math.max(...hosts.map((r) => r.toolCpu!.utilisation)),
      }
    : null;
  return {
    tool: hosts[0]!.tool,
    toolVersion: versions.join(' / '),
    argv: hosts[0]!.argv,
    elapsedSeconds: elapsed,
    requests: {
      total: sum((r) => r.requests.total),
      started: sum((r) => r.requests.started),
      done: sum((r) => r.requests.done),
      succeeded,
      failed: sum((r) => r.requests.failed),
      errored: sum((r) => r.requests.errored),
      timedOut: sum((r) => r.requests.timedOut),
    },
    statusClasses: {
      '1xx': sum((r) => r.statusClasses['1xx']),
      '2xx': sum((r) => r.statusClasses['2xx']),
      '3xx': sum((r) => r.statusClasses['3xx']),
      '4xx': sum((r) => r.statusClasses['4xx']),
      '5xx': sum((r) => r.statusClasses['5xx']),
    },
    bytes: {
      total: totalBytes,
      headers: sumOrNull((r) => r.bytes.headers),
      body: sumOrNull((r) => r.bytes.body),
    },
    requestsPerSecond: elapsed > 0 ? succeeded / elapsed : 0,
    megabytesPerSecond: elapsed > 0 ? succeededBytes / elapsed / 1e6 : 0,
    latency: { ...mergeLatency(hosts), ...measuredFromOf(hosts) },
    toolCpu: cpu,
    ...openLoopOf(hosts, elapsed > 0 ? succeeded / elapsed : 0),
    errors: hosts.flatMap((r) => r.errors.map((e) => `${r.host}: ${e}`)),
    notes: hosts.flatMap((r) => r.notes.map((n) => `${r.host}: ${n}`)),
    completed: hosts.every((r) => r.completed),
    rawOutputPath: null,
    hosts: hosts.map(withoutHistogram),
  };
}

/**
 * The hosts' open-loop figures as one run's, or nothing when any host ran closed loop. The
 * histogram is left out unless every host gave one: a partial sum would pass for the whole.
 */
function openLoopOf(hosts: readonly HostLoadResult[], achievedPerSecond: number): { openLoop?: OpenLoop } {
  if (!hosts.every((r) => r.openLoop !== undefined)) return {};
  const runs = hosts.map((r) => r.openLoop!);
  const sum = (pick: (o: OpenLoop) => number) => runs.reduce((total, o) => total + pick(o), 0);
  const encoded = runs.flatMap((o) => (o.histogram === undefined ? [] : [o.histogram]));
  return {
    openLoop: {
      offeredPerSecond: sum((o) => o.offeredPerSecond),
      achievedPerSecond,
      planned: sum((o) => o.planned),
      sent: sum((o) => o.sent),
      lateSends: sum((o) => o.lateSends),
      lateBoundMicros: Math.max(...runs.map((o) => o.lateBoundMicros)),
      maxSendLagMicros: Math.max(...runs.map((o) => o.maxSendLagMicros)),
      connectionsOpened: sum((o) => o.connectionsOpened),
      connectionsPeak: sum((o) => o.connectionsPeak),
      connectionLimit: sum((o) => o.connectionLimit),
      waitedAtConnectionLimit: sum((o) => o.waitedAtConnectionLimit),
      ...(encoded.length === runs.length ? { histogram: mergeEncodedHistograms(encoded) } : {}),
    },
  };
}

function withoutHistogram(r: HostLoadResult): HostLoadResult {
  const { latencyHistogram: _, ...rest } = r;
  return rest;
}

/** The value below which `q` of the samples lie (nearest rank), from [value, count] pairs. */
export function histogramQuantile(
  histogram: readonly (readonly [number, number])[],
  q: number,
): number | null {
  const total = histogram.reduce((n, [, count]) => n + count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [value, count] of histogram) {
    seen += count;
    if (seen >= rank) return value;
  }
  return histogram[histogram.length - 1]![0];
}

/** Adds distributions: the counts of equal values add up. */
export function mergeHistograms(
  histograms: readonly (readonly (readonly [number, number])[])[],
): [number, number][] {
  const counts = new Map<number, number>();
  for (const h of histograms)
    for (const [value, count] of h) counts.set(value, (counts.get(value) ?? 0) + count);
  return [...counts.entries()].sort((a, b) => a[0] - b[0]);
}

/** Where the latencies start, when every host measured them from the same point. */
function measuredFromOf(hosts: readonly HostLoadResult[]): Pick<Latency, 'measuredFrom'> {
  const from = new Set(hosts.map((r) => r.latency.measuredFrom));
  const only = from.size === 1 ? [...from][0] : undefined;
  return only === undefined ? {} : { measuredFrom: only };
}

function mergeLatency(hosts: readonly HostLoadResult[]): Latency {
  const measured = hosts.filter((r) => r.requests.succeeded + r.requests.failed > 0);
  if (measured.length > 0 && measured.every((r) => r.latencyHistogram !== undefined)) {
    const merged = mergeHistograms(measured.map((r) => r.latencyHistogram!));
    const total = merged.reduce((n, [, c]) => n + c, 0);
    const mean = merged.reduce((s, [v, c]) => s + v * c, 0) / total;
    const variance = total > 1 ? merged.reduce((s, [v, c]) => s + c * (v - mean) ** 2, 0) / (total - 1) : 0;
    return {
      minMicros: merged[0]![0],
      meanMicros: mean,
      stdevMicros: Math.sqrt(variance),
      maxMicros: merged[merged.length - 1]![0],
      p50Micros: histogramQuantile(merged, 0.5),
      p75Micros: histogramQuantile(merged, 0.75),
      p90Micros: histogramQuantile(merged, 0.9),
      p99Micros: histogramQuantile(merged, 0.99),
      p999Micros: histogramQuantile(merged, 0.999),
      merge: 'histogram',
    };
  }
  // No whole distributions: the highest host's percentile bounds the merged one from above.
  const known = (pick: (l: Latency) => number | null) => {
    const values = measured.map((r) => pick(r.latency));
    return values.length === 0 || values.some((v) => v === null) ? null : (values as number[]);
  };
  const highest = (pick: (l: Latency) => number | null) => {
    const values = known(pick);
    return values === null ? null : Math.max(...values);
  };
  const lowest = known((l) => l.minMicros);
  return {
    minMicros: lowest === null ? null : Math.min(...lowest),
    meanMicros: null,
    stdevMicros: null,
    maxMicros: highest((l) => l.maxMicros),
    p50Micros: highest((l) => l.p50Micros),
    p75Micros: highest((l) => l.p75Micros),
    p90Micros: highest((l) => l.p90Micros),
    p99Micros: highest((l) => l.p99Micros),
    p999Micros: highest((l) => l.p999Micros),
    merge: 'upper-bound',
  };
}
