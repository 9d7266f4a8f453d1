# Several workers, and reloads under traffic: nothing accepted is lost.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

master_on();
workers(2);
repeat_each(1);
no_shuffle();

run_tests();

__DATA__

=== TEST 1: two workers: every event arrives, from both
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- config
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
--- request
GET /ct?l=first
--- redis_after
load 300 /ct?t=w; check; sleep 0.2; counters /status
--- redis_count
clicktrack:events 301
--- counters
accepted=301
pushed=301
queued=0
in_flight=0
redis_connected=true
--- no_error_log
[error]



=== TEST 2: three reloads under traffic lose nothing
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
--- request
GET /ct?l=first
--- redis_after
load 600 /ct?t=reload hup 3; sleep 1; check; counters /status
--- redis_count
clicktrack:events 601
--- counters
accepted=601
pushed=601
queued=0
in_flight=0
dropped=0
--- no_error_log
[error]



=== TEST 3: a graceful stop waits for Redis up to clicktrack_shutdown_timeout, then says what it dropped
--- http_config
    clicktrack_redis 127.0.0.1:1;
    clicktrack_shutdown_timeout 300ms;
    clicktrack_cookie off;
    clicktrack_ip off;
--- config
    location = /ct { clicktrack_beacon; }
--- request
GET /ct?l=lost
--- redis_after
hup; sleep 1.5
--- error_log eval
[qr/delivering 1 event\(s\) before exit, for up to 300 ms/,
 qr/1 event\(s\) not delivered to redis 127\.0\.0\.1:1 after clicktrack_shutdown_timeout, dropped/]
--- no_error_log
[crit]
