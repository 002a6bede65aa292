-- wrk script of `quarry-load throughput`: POST /api/v1/ask, each request a new conversation.
-- Arguments (after --): QUESTIONS_FILE THREADS USER_HEADER
--   QUESTIONS_FILE holds one JSON request body per line; thread k of THREADS sends lines
--   k, k+THREADS, k+2*THREADS, … in turn, so no two requests repeat a line until all are sent
--   (a file of one line makes every request the same question).
--   USER_HEADER names the header that identifies the thread as a user ("" for none).
-- done() prints one line, QUARRY_LOAD_RESULT {json}, that the tool reads.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local path, count, header = args[1], tonumber(args[2]), args[3]
   bodies = {}
   local n = 0
   for line in io.lines(path) do
      if n % count == id then
         table.insert(bodies, line)
      end
      n = n + 1
   end
   if #bodies == 0 then
      -- Fewer lines than threads: this thread repeats the first one.
      for line in io.lines(path) do
         table.insert(bodies, line)
         break
      end
   end
   next_body = 1
   wrk.method = "POST"
   wrk.path = "/api/v1/ask"
   wrk.headers["Content-Type"] = "application/json"
   if header ~= nil and header ~= "" then
      wrk.headers[header] = "load-wrk-" .. id
   end
end

function request()
   local body = bodies[next_body]
   next_body = next_body % #bodies + 1
   return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'QUARRY_LOAD_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"non_2xx":%d,' ..
      '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
      '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d,"max":%d}}\n',
      summary.requests, summary.duration, summary.bytes, e.status,
      e.connect, e.read, e.write, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99),
      latency:percentile(99.9), latency.max))
end
