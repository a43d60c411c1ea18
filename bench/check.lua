-- wrk script: sends the request described by the environment and counts,
-- besides wrk's own figures, every answer that is not a 200 or whose body
-- mentions "errors" (a 200 with errors is a failure, not a success).
--   BENCH_METHOD  GET or POST           BENCH_BODY  request body (POST)
--   BENCH_TOKEN   bearer token, if any
--   BENCH_EXPECT  text every good body must contain (e.g. '"userErrors":[]')
--   BENCH_VALUES  file of values, one per line: each request puts the next
--                 one in place of %VALUE% in BENCH_BODY (each is sent at
--                 most once; wrk.thread:stop() from request() does not stop
--                 wrk, so runs are timed and the file must be long enough)
-- done() prints one JSON line: requests, bad answers, latency percentiles.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  checked = 0
  expect = os.getenv("BENCH_EXPECT")
  if expect == "" then expect = nil end
  values = nil
  next_value = 1
  local file = os.getenv("BENCH_VALUES")
  if file and file ~= "" then
    values = {}
    for line in io.lines(file) do table.insert(values, line) end
  end
  wrk.method = os.getenv("BENCH_METHOD") or "GET"
  local body = os.getenv("BENCH_BODY")
  if body and body ~= "" then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
  end
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  if not values then return wrk.request() end
  local value = values[next_value]
  if value == nil then
    -- Out of values: a no-op query, left out of the counts (the caller
    -- sizes the file so that this does not happen within the run).
    return wrk.format(nil, nil, nil, '{"query":"{ __typename }"}')
  end
  next_value = next_value + 1
  return wrk.format(nil, nil, nil, (string.gsub(wrk.body, "%%VALUE%%", value)))
end

function response(status, headers, body)
  if values and string.find(body, '"__typename":"Query"', 1, true) then return end
  checked = checked + 1
  if status ~= 200 or string.find(body, '"errors"', 1, true)
      or (expect and not string.find(body, expect, 1, true)) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total, checked_total = 0, 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    checked_total = checked_total + thread:get("checked")
  end
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"checked":%d,"bad":%d,"socket_errors":%d,' ..
    '"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, checked_total, bad_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
