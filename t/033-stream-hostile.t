# docs/bad-input.md section L, the rows about clicktrack_stream that the
# stream's own files leave out: an argument given twice, resume ids
# trimmed away or far behind, a spreadsheet formula in a CSV export, a
# body on GET.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

stream_defaults(no_error_log => "[error]\n");


# stream entries 1-1 .. 1-N as the beacon writes them, labelled k1 .. kN
sub entries {
    my ($n) = @_;

    return CORE::join ";\n", map {
        qq(cmd XADD clicktrack:recent 1-$_ e {"id":"id-$_","ts":)
        . qq("2026-01-01T00:00:00.00${_}Z","type":"pageview",)
        . qq("label":"k$_","host":"h"})
    } 1 .. $n;
}


run_tests();

__DATA__

=== TEST 1: L10: an argument given twice: the first one counts (export limit, SSE backlog)
--- redis_setup eval
main::entries(5)
--- request eval
["GET /stream?format=json&limit=1&limit=3",
 "GET /stream?format=json&limit=3&limit=1"]
--- response_body eval
['[{"id":"id-5","ts":"2026-01-01T00:00:00.005Z","type":"pageview","label":"k5","host":"h"}]' . "\n",
 '[{"id":"id-3","ts":"2026-01-01T00:00:00.003Z","type":"pageview","label":"k3","host":"h"},'
 . '{"id":"id-4","ts":"2026-01-01T00:00:00.004Z","type":"pageview","label":"k4","host":"h"},'
 . '{"id":"id-5","ts":"2026-01-01T00:00:00.005Z","type":"pageview","label":"k5","host":"h"}]' . "\n"]
--- redis_after eval
["sse_open s /stream?backlog=1&backlog=5; sse_expect s k5; sse_expect s -; sse_close s",
 "sse_open t /stream?backlog=2&backlog=1; sse_expect t k4,k5; sse_expect t -; sse_close t"]



=== TEST 2: L12: a resume id the stream no longer keeps: what it still has after it, then live; the gap is not reported
--- redis_setup eval
main::entries(5) . ";\ncmd XTRIM clicktrack:recent MAXLEN 2"
--- request
GET /stream?format=json&limit=10
--- response_body eval
'[{"id":"id-4","ts":"2026-01-01T00:00:00.004Z","type":"pageview","label":"k4","host":"h"},'
. '{"id":"id-5","ts":"2026-01-01T00:00:00.005Z","type":"pageview","label":"k5","host":"h"}]' . "\n"
--- redis_after
sse_open s /stream?last_event_id=1-2; sse_expect s k4,k5; sse_expect s -;
get /ct?l=live; sse_expect s live; sse_close s



=== TEST 3: L13: more than 1000 events after the resume id: the first 1000, then live events
--- request
GET /ct?l=first
--- redis_after
load 1002 /ct?t=x; sleep 0.2;
sse_open s /stream?last_event_id=0-1; sse_expect s first,load-1..999; sse_expect s -;
get /ct?l=live; sse_expect s live; sse_close s



=== TEST 4: L19: a label a spreadsheet reads as a formula is exported as it is
--- request
GET /ct?t=click&l=%3DHYPERLINK(%22http%3A%2F%2Fx.example%22)
--- redis_after
get /ct?l=%2B1%2B2; get /ct?l=%40SUM(A1); get /ct?l=-3; sleep 0.1
--- redis_list eval
CORE::join "\n",
 '{"id":"<uuid>","ts":"<ts>","type":"click","label":"=HYPERLINK(\"http://x.example\")","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"+1+2","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"@SUM(A1)","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"-3","host":"localhost"}'



=== TEST 5: L19: the export of those labels (the stream filled as the beacon would)
--- redis_setup
cmd XADD clicktrack:recent 1-1 e {"id":"id-1","ts":"2026-01-01T00:00:00.001Z","type":"click","label":"=HYPERLINK(\"http://x.example\")","host":"h"};
cmd XADD clicktrack:recent 1-2 e {"id":"id-2","ts":"2026-01-01T00:00:00.002Z","type":"pageview","label":"+1+2","host":"h"};
cmd XADD clicktrack:recent 1-3 e {"id":"id-3","ts":"2026-01-01T00:00:00.003Z","type":"pageview","label":"@SUM(A1)","host":"h"};
cmd XADD clicktrack:recent 1-4 e {"id":"id-4","ts":"2026-01-01T00:00:00.004Z","type":"pageview","label":"-3","host":"h"}
--- request
GET /stream?format=csv
--- response_body eval
"id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n"
. "id-1,2026-01-01T00:00:00.001Z,click,,\"=HYPERLINK(\"\"http://x.example\"\")\",,,,,,h,\r\n"
. "id-2,2026-01-01T00:00:00.002Z,pageview,,+1+2,,,,,,h,\r\n"
. "id-3,2026-01-01T00:00:00.003Z,pageview,,\@SUM(A1),,,,,,h,\r\n"
. "id-4,2026-01-01T00:00:00.004Z,pageview,,-3,,,,,,h,\r\n"



=== TEST 6: L20: a body on GET is read and discarded: the answer and the next request on the connection are as without it
--- redis_setup eval
main::entries(1)
--- keep eval
[["GET /stream?format=json&limit=0\nhello", '', 200, qr/^\[\]\n\z/],
 ["GET /stream?format=csv&limit=1\nl=x&t=y", '', 200,
  qr/^id,ts,[^\n]*\r\nid-1,2026-01-01T00:00:00.001Z,pageview,,k1,,,,,,h,\r\n\z/],
 ["GET /stream?format=json&limit=0", '', 200, qr/^\[\]\n\z/]]
--- request
GET /stream?format=json&limit=0
--- response_body
[]
--- redis_after
keepalive keep
