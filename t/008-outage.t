# Redis away: absent at start, killed, paused.  Beacons keep answering at
# once, and every accepted event arrives once Redis is back.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

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

=== TEST 1: Redis absent at start, then started: everything arrives
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- redis_setup
stop
--- request
GET /ct?l=early
--- error_code: 200
--- redis_after
load 20 /ct?t=early max_ms 100; counters /status; start; check
--- counters
accepted=21
queued=21
pushed=0
redis_connected=false
--- redis_count
clicktrack:events 21
--- error_log
connect failed: Connection refused
--- no_error_log
[crit]



=== TEST 2: Redis killed and restarted: events after the restart arrive
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
restart
--- request eval
["GET /ct?l=before", "GET /ct?l=during"]
--- error_code eval
[200, 200]
--- redis_after eval
["check; kill", "start; check; counters /status"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"before","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"during","host":"localhost"}']
--- counters eval
[undef, "accepted=2\npushed=2\nqueued=0\nin_flight=0\nredis_connected=true"]
--- no_error_log
[crit]



=== TEST 3: Redis paused: beacons still answer at once; on resume the events arrive
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- redis_setup
restart; pause
--- request
GET /ct?l=first
--- timeout: 1
--- error_code: 200
--- redis_after
load 200 /ct?t=paused max_ms 100; sleep 0.5; counters /status; resume; check
--- counters
accepted=201
pushed=0
--- redis_count
clicktrack:events 201
--- no_error_log
[crit]



=== TEST 4: Redis paused past command_timeout: a lost connection, every unanswered batch sent again
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT command_timeout=300ms;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
restart; pause
--- request
GET /ct?l=first
--- redis_after
load 30 /ct?t=x max_ms 100; sleep 1; resume; check; counters /status
--- redis_count
clicktrack:events 31
--- counters
pushed=31
queued=0
in_flight=0
redis_errors>0
--- error_log
command timed out, reconnecting
--- no_error_log
[crit]



=== TEST 5: an RPUSH refused (wrong type at the key) is logged, retried with a growing backoff, and lands once fixed
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
restart; cmd SET clicktrack:events not-a-list
--- request
GET /ct?l=refused
--- redis_after
sleep 1.5; counters /status; cmd DEL clicktrack:events; check
--- counters
accepted=1
pushed=0
redis_errors>0
redis_errors<8
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"refused","host":"localhost"}
--- error_log
redis refused RPUSH: WRONGTYPE
--- no_error_log
[crit]



=== TEST 6: an event that comes while a batch waits for its answer waits for flush, not for that answer
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_queue flush=500ms;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
restart
--- request
GET /ct?l=a
--- redis_after
pause; sleep 0.7; load 1 /ct?t=b; sleep 0.1; resume; sleep 0.1; counters /status; sleep 0.6; check
--- counters
accepted=2
pushed=1
queued=1
in_flight=0
--- redis_count
clicktrack:events 2
--- no_error_log
[error]
