-- wrk script of bench/: every request is GET <url path> with an Authorization
-- header taken in turn from a file of tokens (one per line, read once per
-- thread and formatted in advance, so the generator does the same little
-- work per request whatever the token count), and one JSON line at the end.
-- Usage: wrk -s rotate-tokens.lua <url> -- <tokens file>

local prepared = {}
local count = 0
local index = 0

function init(args)
  local path = args[1]
  if path == nil then error("rotate-tokens.lua needs the tokens file after --") end
  for line in io.lines(path) do
    if #line > 0 then
      count = count + 1
      prepared[count] = wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. line })
    end
  end
  if count == 0 then error("no tokens in the tokens file") end
end

function request()
  index = index % count + 1
  return prepared[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"meanUs":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
