# A worker killed (SIGKILL, the OOM killer, a crash): what it held in
# memory is lost, and the worker the master starts in its place takes its
# part of the gauges back, counting its queued and in-flight events as
# dropped, so the status keeps adding up (SPEC 5) and says where Redis is.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

master_on();
workers(1);
repeat_each(1);
no_shuffle();

defaults(
    config => <<'_EOC_',
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
_EOC_
    redis2 => '',
);

run_tests();

__DATA__

=== TEST 1: Redis down: the killed worker's queue counts as dropped, and its connection no longer keeps redis_connected false
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- redis_setup
stop
--- request
GET /ct?l=first
--- redis_after
load 50 /ct?t=k; counters /status; kill_worker; counters /status after; start; counters /status up; get /ct?l=next; check
--- counters
accepted=51
queued=51
in_flight=0
dropped=0
redis_connected=false
--- after
accepted=51
queued=0
queued_bytes=0
in_flight=0
dropped=51
redis_connected=false
--- up
accepted=51
dropped=51
redis_connected=true
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"next","host":"localhost"}
--- error_log eval
qr/clicktrack: worker \d+ died holding 51 queued and 0 in-flight event\(s\), counted as dropped/
--- no_error_log
[crit]



=== TEST 2: Redis paused: the killed worker's batches in flight count as dropped too
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT command_timeout=60s;
    clicktrack_queue batch=10 flush=5ms;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
restart
--- request
GET /ct?l=first
--- redis_after
check; pause; load 100 /ct?t=k; counters /status; kill_worker; counters /status after; resume
--- redis_count
clicktrack:events 1
--- counters
accepted=101
pushed=1
in_flight>0
dropped=0
--- after
accepted=101
pushed=1
queued=0
queued_bytes=0
in_flight=0
dropped=100
--- error_log eval
qr/clicktrack: worker \d+ died holding \d+ queued and [1-9]\d* in-flight event\(s\), counted as dropped/
--- no_error_log
[crit]



=== TEST 3: a worker killed with a stream client open: stream_clients goes back to 0
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- config
    location = /ct { clicktrack_beacon; }
    location = /stream { clicktrack_stream; }
    location = /status { clicktrack_status; }
--- redis_setup
restart
--- request
GET /ct?l=first
--- redis_after
check; sse_open s /stream?backlog=1; sse_expect s first; counters /status; kill_worker; sse_closed s; counters /status after
--- counters
stream_clients=1
redis_connected=true
--- after
stream_clients=0
redis_connected=true
pushed=1
dropped=0
--- no_error_log
queued and
[crit]
