-- wrk script for bench/api: POSTs messages to /v1/messages until this
-- thread has seen `per_thread` 202s, then stops. Requests still in flight
-- then may be accepted too: bench/api counts what the server accepted from
-- its log, not from here. Counts other answers (errors) as well.
-- args: KEY PER_THREAD BODY_FILE
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  per_thread = tonumber(args[2])
  local f = assert(io.open(args[3], "rb"))
  local body = f:read("*a")
  f:close()
  accepted, other = 0, 0
  post = wrk.format("POST", "/v1/messages",
                    {["Authorization"] = "Bearer " .. args[1], ["Content-Type"] = "application/json"}, body)
end

function request()
  return post
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  else
    other = other + 1
  end
  if accepted + other >= per_thread then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local a, o = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted")
    o = o + t:get("other")
  end
  io.write(string.format("ACCEPTED %d OTHER %d P50_MS %.2f P99_MS %.2f\n", a, o,
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
