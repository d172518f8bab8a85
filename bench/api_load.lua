-- wrk script for bench/api_throughput.py: every request is a new POST /v1/generations with its
-- own prompt and Idempotency-Key (the path a careful client takes), and an API key when
-- VIDGATE_BENCH_TOKEN is set. done() prints one JSON line: statuses, latency percentiles.
local threads = {}
local counter = 0
local token = os.getenv("VIDGATE_BENCH_TOKEN")
local run = os.getenv("VIDGATE_BENCH_RUN") or "run"
id = 0
statuses = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"endpoint":"text_to_video","model":"gen4.5","promptText":"a bench run %s %d-%d",' ..
    '"ratio":"1280:720","duration":5}', run, id, counter)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, id, counter),
  }
  if token then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", "/v1/generations", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    '{"statuses": {%s}, "requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p90_ms": %.2f, ' ..
    '"p99_ms": %.2f, "max_ms": %.2f, "socket_errors": %d}\n',
    table.concat(parts, ", "), summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    errors.connect + errors.read + errors.write + errors.timeout))
end
