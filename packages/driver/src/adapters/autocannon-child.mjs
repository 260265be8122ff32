// Runs one autocannon load in its own process, so the driver can pin it with taskset, kill it
// and read its CPU time like any native tool. Usage: node autocannon-child.mjs '<options JSON>'.
// Prints one line, `SCALEUP_AUTOCANNON_RESULT {json}`, which the autocannon adapter parses.
import { createRequire } from 'node:module';
import autocannon from 'autocannon';

const require = createRequire(import.meta.url);
const { version } = require('autocannon/package.json');
const options = JSON.parse(process.argv[2] ?? '{}');

// Every response's latency, to the microsecond: autocannon's own percentiles are whole
// milliseconds, and runs from several hosts merge exactly only from whole distributions.
const histogram = new Map();
const instance = autocannon(options, (error, result) => {
  if (error) {
    process.stderr.write(`autocannon: ${error.message}\n`);
    process.exit(1);
  }
  const summary = {
    autocannonVersion: version,
    // start and finish give millisecond resolution; `duration` is rounded to 10 ms.
    elapsedMillis: new Date(result.finish).getTime() - new Date(result.start).getTime(),
    duration: result.duration,
    connections: result.connections,
    workers: result.workers ?? null,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    non2xx: result.non2xx,
    resets: result.resets,
    '1xx': result['1xx'],
    '2xx': result['2xx'],
    '3xx': result['3xx'],
    '4xx': result['4xx'],
    '5xx': result['5xx'],
    statusCodeStats: result.statusCodeStats,
    requests: { total: result.requests.total, sent: result.requests.sent },
    throughput: { total: result.throughput.total },
    latencyMillis: {
      min: result.latency.min,
      max: result.latency.max,
      mean: result.latency.mean,
      stddev: result.latency.stddev,
      p50: result.latency.p50,
      p75: result.latency.p75,
      p90: result.latency.p90,
      p99: result.latency.p99,
      p999: result.latency.p99_9,
      totalCount: result.latency.totalCount,
    },
    latencyHistogramMicros: [...histogram.entries()].sort((a, b) => a[0] - b[0]),
  };
  process.stdout.write(`SCALEUP_AUTOCANNON_RESULT ${JSON.stringify(summary)}\n`);
});
instance.on('response', (_client, _statusCode, _bytes, responseTimeMillis) => {
  const micros = Math.round(responseTimeMillis * 1000);
  histogram.set(micros, (histogram.get(micros) ?? 0) + 1);
});
