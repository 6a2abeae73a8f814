-- wrk script for portal pages (bench/crm_leads.py): like wrk_targets.lua, but each target line is
-- "host cookie path" and the second field is sent as the session cookie instead of a bearer token.
local requests = {}
local n = 0
local i = 0

for line in io.lines(os.getenv("BENCH_TARGETS")) do
   local host, cookie, path = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
   if host then
      n = n + 1
      requests[n] = wrk.format("GET", path, { ["Host"] = host, ["Cookie"] = cookie, ["X-Forwarded-Proto"] = "https" })
   end
end

function request()
   i = i % n + 1
   return requests[i]
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
