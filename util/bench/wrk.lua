-- wrk script for util/bench/run: the same headers for every target, an
-- optional POST body, and one machine-readable summary line at the end.
--
--   BENCH_BODY=FILE    POST the file's bytes as text/plain (else GET)
--   BENCH_UA=STRING    the User-Agent of every request
--   BENCH_HOST=NAME    the Host header of every request (else wrk's)
--   BENCH_PATHS=FILE   GET the file's lines (a path and query each) in
--                      turn, one per request, instead of the URL's

wrk.headers["User-Agent"] = os.getenv("BENCH_UA")
    or "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
wrk.headers["Accept"] = "*/*"
local host = os.getenv("BENCH_HOST")
if host and host ~= "" then
    wrk.headers["Host"] = host
end

local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
    local f = assert(io.open(body_file, "rb"))
    wrk.method = "POST"
    wrk.body = f:read("*a")
    f:close()
    wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
end

-- without BENCH_PATHS no request() or response() function: wrk then
-- builds the request once and does not call Lua per request.  With it
-- the requests are built here, once, and request() only picks the next
-- (wrk's own CPU per request grows; it runs on its own CPU)

local paths_file = os.getenv("BENCH_PATHS")
if paths_file and paths_file ~= "" then
    local requests, n = {}, 0
    for line in io.lines(paths_file) do
        n = n + 1
        requests[n] = wrk.format("GET", line)
    end
    assert(n > 0, "BENCH_PATHS: no lines in " .. paths_file)
    local i = 0
    function request()
        i = i % n + 1
        return requests[i]
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d bytes=%d non2xx=%d " ..
        "connect=%d read=%d write=%d timeout=%d " ..
        "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f\n",
        summary.requests, summary.duration, summary.bytes, e.status,
        e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max, latency.mean))
end
