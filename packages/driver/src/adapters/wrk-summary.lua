-- Prints wrk's exact end-of-run counters as one JSON line (the text summary rounds them), and
-- its whole latency distribution (distinct microsecond values and their counts) on a second
-- line, so runs from several hosts merge into exact percentiles.
-- Only done() is defined: a response() hook would make wrk call Lua on every response.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nSCALEUP_WRK_SUMMARY {"durationMicros":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyMicros":{"min":%d,"max":%d,"mean":%.2f,"stdev":%.2f,' ..
    '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
  local buckets = {}
  for i = 1, #latency do
    local value, count = latency(i)
    buckets[#buckets + 1] = string.format('%d:%d', value, count)
  end
  io.write('SCALEUP_WRK_HISTOGRAM ' .. table.concat(buckets, ',') .. '\n')
end
