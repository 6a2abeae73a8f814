-- wrk script of bench/finance_posting.py: sales order → confirmation, over and over.
--
-- Each connection sends POST /api/v1/crm/orders (an order of four product lines on a random
-- customer) and, once it answers 201, the confirmation of that order, POST
-- /api/v1/crm/orders/{id}/confirm (200) — in which finance creates the invoice, posts its entry and
-- writes the outbox events. request() sends a confirmation whenever a created order is waiting for
-- one, else a new order; response() tells the two apart by status (201 created, 200 confirmed).
--
-- With BENCH_ORDERS ("first:last" ids of draft orders of four lines each, made by the harness) it
-- only confirms: each request is the confirmation of the next order of the range — the posting
-- of an order to its invoice, entry and events, the issue's measured transaction.
--
-- BENCH_HOST, BENCH_TOKEN   the tenant's host and an API access token
-- BENCH_ACCOUNTS            "first:last" CRM account ids (customers)
-- BENCH_PRODUCTS            "first:last" product ids
-- BENCH_ORDERS              "first:last" draft orders to confirm (optional, see above)
--
-- done() prints one line "BENCH_JSON {...}": counts (created, confirmed, failed, leftovers) and the
-- latency percentiles of all requests (both kinds) in microseconds.

local host = os.getenv("BENCH_HOST")
local token = os.getenv("BENCH_TOKEN")
local a_first, a_last = os.getenv("BENCH_ACCOUNTS"):match("^(%d+):(%d+)$")
local p_first, p_last = os.getenv("BENCH_PRODUCTS"):match("^(%d+):(%d+)$")
a_first, a_last, p_first, p_last = tonumber(a_first), tonumber(a_last), tonumber(p_first), tonumber(p_last)
local o_next, o_last = (os.getenv("BENCH_ORDERS") or ""):match("^(%d+):(%d+)$")
o_next, o_last = tonumber(o_next), tonumber(o_last)

local headers = {
   ["Host"] = host,
   ["Authorization"] = "Bearer " .. token,
   ["Content-Type"] = "application/json",
}

-- per-thread globals (done() reads them with thread:get)
created = 0
confirmed = 0
failed = 0
first_failure = ""

local queue = {}
local head, tail = 1, 0

function init(_)
   math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

local function order_body()
   local lines = {}
   for i = 1, 4 do
      lines[i] = string.format('{"product_id": %d, "quantity": "%d"}', math.random(p_first, p_last), math.random(1, 20))
   end
   return string.format('{"account_id": %d, "customer_reference": "bench", "lines": [%s]}',
      math.random(a_first, a_last), table.concat(lines, ", "))
end

function request()
   if o_next ~= nil then
      if o_next > o_last then
         -- the range is used up: an order that does not exist, counted as a failure (404)
         return wrk.format("POST", "/api/v1/crm/orders/0/confirm", headers, "")
      end
      local id = o_next
      o_next = o_next + 1
      return wrk.format("POST", "/api/v1/crm/orders/" .. id .. "/confirm", headers, "")
   end
   if head <= tail then
      local id = queue[head]
      queue[head] = nil
      head = head + 1
      return wrk.format("POST", "/api/v1/crm/orders/" .. id .. "/confirm", headers, "")
   end
   return wrk.format("POST", "/api/v1/crm/orders", headers, order_body())
end

function response(status, _, body)
   if status == 201 then
      local id = body:match('"id":%s*(%d+)')
      created = created + 1
      tail = tail + 1
      queue[tail] = id
   elseif status == 200 then
      confirmed = confirmed + 1
   else
      failed = failed + 1
      if first_failure == "" then
         first_failure = status .. " " .. string.sub(body or "", 1, 300)
      end
   end
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function done(summary, latency, _)
   local c, k, f, sample = 0, 0, 0, ""
   for _, t in ipairs(threads) do
      c = c + t:get("created")
      k = k + t:get("confirmed")
      f = f + t:get("failed")
      if sample == "" then sample = t:get("first_failure") end
   end
   local e = summary.errors
   sample = sample:gsub('[%c"\\]', " ")
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "created": %d, "confirmed": %d, "failed": %d, '
         .. '"first_failure": "%s", "status_errors": %d, "connect_errors": %d, "read_errors": %d, '
         .. '"write_errors": %d, "timeouts": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d, '
         .. '"mean": %.1f}\n',
      summary.requests, summary.duration, c, k, f, sample, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
      latency.max, latency.mean
   ))
end
