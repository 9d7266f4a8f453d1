# Live events reach an open stream from every worker and from every nginx
# that shares the Redis (SPEC 6, live fan-out).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

master_on();
workers(2);
repeat_each(1);
no_shuffle();

defaults(
    http_config => <<'CONF',
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
CONF
    config => <<'CONF',
    add_header X-Pid $pid always;
    location = /ct { clicktrack_beacon; }
    location = /stream { clicktrack_stream; }
    location = /status { clicktrack_status; }
CONF
);

run_tests();

__DATA__

=== TEST 1: events sent through the other worker arrive on an open stream
--- request
GET /ct?l=first
--- redis_after
sleep 0.1; sse_open s /stream; sse_expect s first;
other_worker s 5 /ct?t=click; sse_expect s elsewhere-1..5; sse_expect s -;
counters /status stream_clients=1
--- no_error_log
[error]



=== TEST 2: streams on both workers each get every event once
--- request
GET /ct?l=zero
--- redis_after
sleep 0.1; sse_open a /stream?backlog=0; sse_open b /stream?backlog=0;
sse_open c /stream?backlog=0; sse_open d /stream?backlog=0;
load 20 /ct?t=w;
sse_expect a load-1..20 any; sse_expect b load-1..20 any;
sse_expect c load-1..20 any; sse_expect d load-1..20 any;
sse_expect a -; sse_expect d -;
counters /status stream_clients=4;
sse_close a; sse_close b; sse_close c; sse_close d;
counters /status stream_clients=0
--- no_error_log
[error]



=== TEST 3: an event sent through a second nginx on the same Redis arrives
--- request
GET /ct?l=here
--- redis_after
sleep 0.1; sse_open s /stream; sse_expect s here;
nginx2 start; nginx2 get /ct?t=click&l=there; sse_expect s there;
nginx2 get /ct?l=again; get /ct?l=back-here; sse_expect s again,back-here;
nginx2 stop; sse_expect s -
--- no_error_log
[error]



=== TEST 4: a reload closes the streams at once; clients resume after it
--- request
GET /ct?l=before
--- redis_after
sleep 0.1; sse_open s /stream; sse_expect s before;
hup; sse_closed s; sleep 0.5; get /ct?l=during; sleep 0.1;
sse_open r /stream after=s:1; sse_expect r during;
get /ct?l=after; sse_expect r after; counters /status stream_clients=1
--- no_error_log
[error]
[alert]
