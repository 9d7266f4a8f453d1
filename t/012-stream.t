# clicktrack_stream as Server-Sent Events (SPEC 6): the backlog, resume,
# live events, filters, pings, slow and departing clients, Redis down.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

stream_defaults(locations => <<'CONF');
    location = /status { clicktrack_status; }
CONF

run_tests();

__DATA__

=== TEST 1: the backlog oldest first, then live events, with the SSE headers
--- request
GET /ct?t=click&l=a
--- redis_after
get /ct?l=b; get /ct?t=click&l=c; sleep 0.1;
sse_open s /stream?backlog=2; sse_expect s b,c;
get /ct?t=signup&l=d; sse_expect s d; sse_expect s -;
counters /status
--- counters
stream_clients=1
--- no_error_log
[error]



=== TEST 2: the default backlog is the last 100 events
--- request
GET /ct?l=first
--- redis_after
load 120 /ct?t=click; sleep 0.2;
sse_open s /stream; sse_expect s load-21..120; sse_expect s -
--- no_error_log
[error]



=== TEST 3: backlog=0: live events only; backlog=1000 is the most
--- request
GET /ct?l=old
--- redis_after
sleep 0.1; sse_open s /stream?backlog=0; sse_expect s -;
get /ct?l=new; sse_expect s new;
load 5 /ct?t=x; sleep 0.1;
sse_open all /stream?backlog=1000; sse_expect all old,new,load-1..5
--- no_error_log
[error]



=== TEST 4: Last-Event-ID resumes exactly after that event, then live
--- request
GET /ct?l=e1
--- redis_after
load 5 /ct?t=r; sleep 0.1;
sse_open a /stream; sse_expect a e1,load-1..5; sse_close a;
sse_open b /stream after=a:3; sse_expect b load-3..5; sse_expect b -;
get /ct?l=e7; sse_expect b e7; sse_expect b -
--- no_error_log
[error]



=== TEST 5: last_event_id in the query resumes the same way
--- request
GET /ct?l=q1
--- redis_after
load 3 /ct?t=r; sleep 0.1;
sse_open a /stream; sse_expect a q1,load-1..3;
sse_open b /stream arg=a:1; sse_expect b load-1..3; sse_expect b -;
sse_open c /stream arg=a:4; sse_expect c -;
get /ct?l=q5; sse_expect a q5; sse_expect b q5; sse_expect c q5
--- no_error_log
[error]



=== TEST 6: the Last-Event-ID header wins over the query argument
--- request
GET /ct?l=h1
--- redis_after
load 3 /ct?t=r; sleep 0.1;
sse_open a /stream; sse_expect a h1,load-1..3;
sse_open b /stream?last_event_id=1-0 after=a:3; sse_expect b load-3;
sse_expect b -
--- no_error_log
[error]



=== TEST 7: filters by type, visitor and host, in the backlog and live
--- request
GET /ct?t=click&l=c1&v=visitor-aaa
--- redis_after
get /ct?t=pageview&l=p1&v=visitor-aaa; get /ct?t=click&l=c2&v=visitor-bbb;
sleep 0.1;
sse_open t /stream?type=click; sse_expect t c1,c2;
sse_open tt /stream?type=PAGEVIEW,click; sse_expect tt c1,p1,c2;
sse_open v /stream?visitor=visitor-aaa; sse_expect v c1,p1;
sse_open tv /stream?type=click&visitor=visitor-aaa; sse_expect tv c1;
sse_open h /stream?host=elsewhere.example; sse_expect h -;
sse_open hl /stream?host=localhost; sse_expect hl c1,p1,c2;
get /ct?t=click&l=c3&v=visitor-aaa; get /ct?t=pageview&l=p2&v=visitor-bbb;
sse_expect t c3; sse_expect tt c3,p2; sse_expect v c3; sse_expect tv c3;
sse_expect h -; sse_expect hl c3,p2;
sse_expect t -; sse_expect tv -
--- no_error_log
[error]



=== TEST 8: a stream reads its location's clicktrack_recent key
--- config
    location = /ct { clicktrack_beacon; }
    location = /ct2 { clicktrack_beacon; clicktrack_recent other:recent; }
    location = /stream { clicktrack_stream; }
    location = /stream2 { clicktrack_stream; clicktrack_recent other:recent; }
--- request
GET /ct?l=one
--- redis_after
get /ct2?l=two; sleep 0.1;
sse_open a /stream; sse_expect a one;
sse_open b /stream2; sse_expect b two;
get /ct2?l=four; get /ct?l=three;
sse_expect a three; sse_expect b four; sse_expect a -; sse_expect b -
--- no_error_log
[error]



=== TEST 8.2: an "if" in a stream location reads that location's key too
--- config
    location = /ct { clicktrack_beacon; }
    location = /ct2 { clicktrack_beacon; clicktrack_recent other:recent; }
    location = /stream { clicktrack_stream; }
    location = /stream2 {
        clicktrack_recent other:recent;
        clicktrack_stream;
        if ($arg_x) { set $y 1; }
    }
--- request
GET /ct?l=one
--- redis_after
get /ct2?l=two; sleep 0.1;
sse_open b /stream2?x=1; sse_expect b two;
get /ct?l=three; get /ct2?l=four;
sse_expect b four; sse_expect b -
--- no_error_log
[error]



=== TEST 9: a ": ping" comment every 15 s when idle, and the stream stays
--- timeout: 25
--- request
GET /ct?l=p
--- redis_after
sleep 0.1; sse_open s /stream?backlog=0; sleep 14; sse_expect s -;
sleep 1.5; sse_ping s; get /ct?l=after; sse_expect s after
--- no_error_log
[error]



=== TEST 10: clients that leave mid-stream take everything with them
--- request
GET /ct?l=x
--- redis_after
sse_open a /stream; sse_open b /stream?type=click; sse_open c /stream;
counters /status stream_clients=3;
sse_close a; sse_close b; get /ct?l=y; sse_expect c x,y;
counters /status stream_clients=1;
sse_close c; counters /status stream_clients=0
--- no_error_log
[error]
[alert]



=== TEST 11: a client that does not read is closed once 256 KB wait for it
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
    server {
        listen 127.0.0.1:$TEST_NGINX_SLOW_PORT sndbuf=8k;
        location = /stream { clicktrack_stream; }
    }
--- request
GET /ct?l=start
--- redis_after
sleep 0.1; sse_open slow /stream?backlog=0 port=$TEST_NGINX_SLOW_PORT rcvbuf=4096 stall;
sse_open fast /stream?backlog=0;
load 400 /ct?t=flood&u=http://example.com/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx;
sse_closed slow; sse_expect fast load-1..400; sleep 0.2; counters /status
--- counters
stream_clients=1
--- error_log
stream client not keeping up
--- no_error_log
[error]



=== TEST 12: Redis unreachable: 503 with Retry-After, for SSE and exports
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT connect_timeout=200ms;
--- request eval
["GET /stream", "GET /stream?format=json", "GET /stream?format=csv"]
--- error_code eval
[503, 503, 503]
--- response_headers_like eval
["Retry-After: \\d+", "Retry-After: \\d+", "Retry-After: \\d+"]
--- response_body eval
["clicktrack: redis is unreachable\n", "clicktrack: redis is unreachable\n",
 "clicktrack: redis is unreachable\n"]



=== TEST 13: once Redis is back, the stream answers
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
--- request
GET /stream?format=json
--- error_code: 503
--- redis2
--- redis_after
start; sleep 1.2; sse_open s /stream; get /ct?l=back; sse_expect s back
--- response_headers_like
Retry-After: \d+



=== TEST 14: 405 for any method but GET, with Allow
--- request eval
["POST /stream\nx", "HEAD /stream", "DELETE /stream"]
--- error_code eval
[405, 405, 405]
--- response_headers eval
["Allow: GET", "Allow: GET", "Allow: GET"]



=== TEST 15: bad arguments are answered 400 with the fault named
--- request eval
["GET /stream?backlog=1001", "GET /stream?backlog=-1",
 "GET /stream?backlog=x", "GET /stream?format=xml",
 "GET /stream?format=json&limit=10001", "GET /stream?limit=",
 "GET /stream?last_event_id=abc", "GET /stream?last_event_id=1-",
 "GET /stream?last_event_id=99999999999999999999-0",
 "GET /stream?type=a,,b", "GET /stream?type=a%20b",
 "GET /stream?type=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q",
 "GET /stream?visitor=short", "GET /stream?visitor=aaaaaaaa%3B",
 "GET /stream?host=a%20b", "GET /stream?host="]
--- error_code eval
[(400) x 16]
--- response_body eval
["backlog: a number from 0 to 1000\n",
 "backlog: a number from 0 to 1000\n",
 "backlog: a number from 0 to 1000\n",
 "format: sse, json or csv\n",
 "limit: a number from 0 to 10000\n",
 "limit: a number from 0 to 10000\n",
 "last_event_id: a stream entry id such as 1700000000000-0\n",
 "last_event_id: a stream entry id such as 1700000000000-0\n",
 "last_event_id: a stream entry id such as 1700000000000-0\n",
 "type: up to 16 comma-separated types, each 1-32 of [a-z0-9_.:-]\n",
 "type: up to 16 comma-separated types, each 1-32 of [a-z0-9_.:-]\n",
 "type: up to 16 comma-separated types, each 1-32 of [a-z0-9_.:-]\n",
 "visitor: 8-64 of [A-Za-z0-9_-]\n",
 "visitor: 8-64 of [A-Za-z0-9_-]\n",
 "host: 1-255 printable characters, no quote, backslash or space\n",
 "host: 1-255 printable characters, no quote, backslash or space\n"]



=== TEST 16: a bad Last-Event-ID header is answered 400
--- request
GET /stream
--- more_headers
Last-Event-ID: 12
--- error_code: 400
--- response_body
Last-Event-ID: a stream entry id such as 1700000000000-0



=== TEST 17: a stream key of another type: SSE is refused at once, not left waiting
--- redis_setup
cmd SET clicktrack:recent x
--- request
GET /stream
--- error_code: 503
--- error_log
redis refused to read the recent stream: WRONGTYPE



=== TEST 18: live events that outrun a slow backlog: 503 that says so, not that Redis is unreachable
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_PROXY_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- redis_setup
proxy start 2000
--- request
GET /ct?l=start
--- redis_after
sse_open a /stream?backlog=0;
sse_open s /stream?backlog=5 nowait;
load 300 /ct?t=flood&u=http://example.com/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx;
sse_answer s 503 outran;
sse_expect a load-1..300;
sse_close a
--- error_log
stream client's backlog too slow
--- no_error_log
[alert]
[crit]
