-- wrk script of the HTTP benchmarks (bench/_load.py writes the targets file).
--
-- BENCH_TARGETS  file with one "host credential path" per line; requests rotate round-robin over
--                them (one line: every request the same; 1,000 lines: 1,000 tenants in turn)
-- BENCH_AUTH     "bearer" (default: the credential is an API access token) or "cookie" (it is a
--                signed-in session's "name=value" cookie; portal pages)
-- BENCH_DELAY_MS optional think time per connection between a response and its next request,
--                which keeps the offered rate below saturation (rate ~ connections / (delay + latency))
-- BENCH_JITTER   "1": each think time is drawn uniformly from 0.5 to 1.5 times BENCH_DELAY_MS, so
--                connections drift apart like people do instead of clicking in lock-step (with a
--                fixed delay every connection fires in the same instant, a burst each period)
--
-- done() prints one line "BENCH_JSON {...}" with counts and latency percentiles in microseconds.

local requests = {}
local n = 0
local i = 0
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
local cookie_auth = os.getenv("BENCH_AUTH") == "cookie"

for line in io.lines(os.getenv("BENCH_TARGETS")) do
   local host, credential, path = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
   if host then
      n = n + 1
      local headers = { ["Host"] = host }
      if cookie_auth then
         headers["Cookie"] = credential
         headers["X-Forwarded-Proto"] = "https"  -- the TLS proxy's header: secure cookies apply
      else
         headers["Authorization"] = "Bearer " .. credential
      end
      requests[n] = wrk.format("GET", path, headers)
   end
end

function request()
   i = i % n + 1
   return requests[i]
end

local jitter = os.getenv("BENCH_JITTER") == "1"

if delay_ms > 0 then
   if jitter then
      math.randomseed(os.time())
      function delay()
         return math.floor(delay_ms * (0.5 + math.random()))
      end
   else
      function delay()
         return delay_ms
      end
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
