-- wrk script of the HTTP benchmarks (bench/_load.py writes the targets file).
--
-- BENCH_TARGETS  file with one "host token path" per line; requests rotate round-robin over them
--                (one line: every request the same; 1,000 lines: 1,000 tenants in turn)
-- BENCH_DELAY_MS optional think time per connection between a response and its next request,
--                which keeps the offered rate below saturation (rate ~ connections / (delay + latency))
--
-- done() prints one line "BENCH_JSON {...}" with counts and latency percentiles in microseconds.

local requests = {}
local n = 0
local i = 0
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0

for line in io.lines(os.getenv("BENCH_TARGETS")) do
   local host, token, path = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
   if host then
      n = n + 1
      requests[n] = wrk.format("GET", path, { ["Host"] = host, ["Authorization"] = "Bearer " .. token })
   end
end

function request()
   i = i % n + 1
   return requests[i]
end

if delay_ms > 0 then
   function delay()
      return delay_ms
   end
end

function done(summary, latency, _)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, '
         .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, '
         .. '"p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}\n',
      summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
      e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99), latency.max, latency.mean
   ))
end
