# clicktrack_stream's exports (SPEC 6): format=json and format=csv, the
# last "limit" events oldest first, RFC 4180 quoting, filters.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

stream_defaults(
    # three events as the beacon writes them, and two entries another
    # program wrote (no "e" field; "e" not an object): skipped
    redis_setup => <<'SETUP',
cmd XADD clicktrack:recent 1-1 e {"id":"id-1","ts":"2026-01-01T00:00:00.001Z","type":"click","category":"nav","label":"a,b","url":"http://x/?q=\"quoted\"","visitor":"visitor-1","host":"h1"};
cmd XADD clicktrack:recent 1-2 other field;
cmd XADD clicktrack:recent 1-3 e {"id":"id-2","ts":"2026-01-01T00:00:00.002Z","type":"pageview","label":"line1\nline2\u0020caf\u00e9\u0020\ud83d\ude00","props":{"label":"not\u0020me","n":[1,{"x":"]"}]},"visitor":"visitor-2","session":"s-2","host":"h2","ip":"10.0.0.0"};
cmd XADD clicktrack:recent 1-4 e not-json;
cmd XADD clicktrack:recent 1-5 e {"id":"id-3","ts":"2026-01-01T00:00:00.003Z","type":"click","label":"\u0020lead\u0020and\u0020trail\u0020","referrer":"r","visitor":"visitor-1","host":"h1"}
SETUP
);

run_tests();

__DATA__

=== TEST 1: format=json: a JSON array of the events, oldest first
--- request
GET /stream?format=json
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body eval
'[{"id":"id-1","ts":"2026-01-01T00:00:00.001Z","type":"click","category":"nav","label":"a,b","url":"http://x/?q=\"quoted\"","visitor":"visitor-1","host":"h1"},'
. '{"id":"id-2","ts":"2026-01-01T00:00:00.002Z","type":"pageview","label":"line1\nline2\u0020caf\u00e9\u0020\ud83d\ude00","props":{"label":"not\u0020me","n":[1,{"x":"]"}]},"visitor":"visitor-2","session":"s-2","host":"h2","ip":"10.0.0.0"},'
. '{"id":"id-3","ts":"2026-01-01T00:00:00.003Z","type":"click","label":"\u0020lead\u0020and\u0020trail\u0020","referrer":"r","visitor":"visitor-1","host":"h1"}]'
. "\n"



=== TEST 2: format=csv: the header, RFC 4180 quoting, JSON escapes decoded
--- request
GET /stream?format=csv
--- response_headers
Content-Type: text/csv; charset=utf-8
Content-Disposition: attachment; filename="clicktrack-events.csv"
Cache-Control: no-store
--- response_body eval
"id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n"
. "id-1,2026-01-01T00:00:00.001Z,click,nav,\"a,b\",\"http://x/?q=\"\"quoted\"\"\",,visitor-1,,,h1,\r\n"
. "id-2,2026-01-01T00:00:00.002Z,pageview,,\"line1\nline2 caf\x{c3}\x{a9} \x{f0}\x{9f}\x{98}\x{80}\",,,visitor-2,s-2,,h2,10.0.0.0\r\n"
. "id-3,2026-01-01T00:00:00.003Z,click,, lead and trail ,,r,visitor-1,,,h1,\r\n"



=== TEST 3: limit: the last N entries, oldest first (one of the last 3 is not an event); limit=0 is empty
--- request eval
["GET /stream?format=json&limit=1", "GET /stream?format=csv&limit=3",
 "GET /stream?format=json&limit=0", "GET /stream?format=csv&limit=0"]
--- response_body eval
['[{"id":"id-3","ts":"2026-01-01T00:00:00.003Z","type":"click","label":"\u0020lead\u0020and\u0020trail\u0020","referrer":"r","visitor":"visitor-1","host":"h1"}]' . "\n",
 "id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n"
 . "id-2,2026-01-01T00:00:00.002Z,pageview,,\"line1\nline2 caf\x{c3}\x{a9} \x{f0}\x{9f}\x{98}\x{80}\",,,visitor-2,s-2,,h2,10.0.0.0\r\n"
 . "id-3,2026-01-01T00:00:00.003Z,click,, lead and trail ,,r,visitor-1,,,h1,\r\n",
 "[]\n",
 "id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n"]



=== TEST 4: filters apply to exports: type, visitor, host, combined
--- request eval
["GET /stream?format=csv&type=pageview",
 "GET /stream?format=csv&visitor=visitor-1&type=click&host=H1",
 "GET /stream?format=json&host=nowhere",
 "GET /stream?format=json&visitor=visitor-9"]
--- response_body eval
["id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n"
 . "id-2,2026-01-01T00:00:00.002Z,pageview,,\"line1\nline2 caf\x{c3}\x{a9} \x{f0}\x{9f}\x{98}\x{80}\",,,visitor-2,s-2,,h2,10.0.0.0\r\n",
 "id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n"
 . "id-1,2026-01-01T00:00:00.001Z,click,nav,\"a,b\",\"http://x/?q=\"\"quoted\"\"\",,visitor-1,,,h1,\r\n"
 . "id-3,2026-01-01T00:00:00.003Z,click,, lead and trail ,,r,visitor-1,,,h1,\r\n",
 "[]\n", "[]\n"]



=== TEST 5: an empty or missing stream exports nothing
--- redis_setup
--- request eval
["GET /stream?format=json", "GET /stream?format=csv"]
--- response_body eval
["[]\n", "id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n"]



=== TEST 6: the default limit is 100, and beacons reach the export
--- redis_setup
--- request
GET /ct?l=first
--- redis_after
load 120 /ct?t=e; sleep 0.2;
get /stream?format=json 200 count=100,first=load-21,last=load-120;
get /stream?format=json&limit=10000 200 count=121,first=first,last=load-120;
get /stream?format=csv&limit=3 200 lines=4
--- no_error_log
[error]



=== TEST 7: a key of another type: 500, the Redis error logged
--- redis_setup
cmd SET clicktrack:recent x
--- request
GET /stream?format=json
--- error_code: 500
--- response_body
clicktrack: redis refused the read
--- error_log
clicktrack: redis refused to read "clicktrack:recent": WRONGTYPE



=== TEST 7: user=: the events of one identified person, as the record holds the id; a bad one is refused
--- redis_setup
cmd XADD clicktrack:recent 2-1 e {"id":"id-a","ts":"2026-01-01T00:00:00.001Z","type":"identify","visitor":"visitor-1","user":"alice@example.com","host":"h1"};
cmd XADD clicktrack:recent 2-2 e {"id":"id-b","ts":"2026-01-01T00:00:00.002Z","type":"click","visitor":"visitor-2","user":"bob\"b","host":"h1"};
cmd XADD clicktrack:recent 2-3 e {"id":"id-c","ts":"2026-01-01T00:00:00.003Z","type":"click","visitor":"visitor-1","host":"h1"}
--- request eval
["GET /stream?format=csv&user=alice%40example.com",
 "GET /stream?format=json&user=bob%22b",
 "GET /stream?format=json&user=%01x"]
--- error_code eval
[200, 200, 400]
--- response_body eval
["id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n"
 . "id-a,2026-01-01T00:00:00.001Z,identify,,,,,visitor-1,,alice\@example.com,h1,\r\n",
 '[{"id":"id-b","ts":"2026-01-01T00:00:00.002Z","type":"click","visitor":"visitor-2","user":"bob\"b","host":"h1"}]' . "\n",
 "user: 1-128 bytes, no control characters\n"]
