# Rollups that lose nothing they can keep: Redis away for several
# windows during traffic, a reload and a graceful stop mid-window, the
# visits script flushed from Redis.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

master_on();
repeat_each(1);
no_shuffle();

defaults(
    config => <<'_EOC_',
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
_EOC_
);

run_tests();

__DATA__

=== TEST 1: Redis down for several windows, then back: the rollups equal the traffic
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- redis2
--- redis_setup
stop
--- request
GET /ct?u=/first
--- redis_after
load 20 /ct?u=/down; sleep 0.3; load 10 /ct?u=/down; sleep 0.3; counters /status pending; start; expect rollup; counters /status after; cmd FLUSHDB
--- pending
rollup_pending>1
rollup_windows=0
rollup_dropped=0
--- after
rollup_pending=0
rollup_windows>1
rollup_dropped=0
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 31
ZSCORE clicktrack:stats:{localhost}:<day>:pages /down => 30
ZSCORE clicktrack:stats:{localhost}:<day>:pages /first => 1
--- no_error_log
[crit]



=== TEST 2: a reload mid-window: the old worker sends its window first
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=2s;
    clicktrack_cookie off;
    clicktrack_recent off;
--- redis_setup
cmd FLUSHDB
--- request
GET /ct?u=/before-reload
--- redis_after
load 9 /ct?u=/before-reload; hup; expect rollup; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 10
--- no_error_log
[error]



=== TEST 3: a graceful stop mid-window: the window is sent before the worker goes
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=2s;
    clicktrack_cookie off;
    clicktrack_recent off;
--- redis_setup
cmd FLUSHDB
--- request
GET /ct?u=/before-stop
--- redis_after
load 4 /ct?u=/before-stop; quit; expect rollup; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 5
--- no_error_log
[error]



=== TEST 4: a flushed script is loaded again: one window's visits lost, logged
The second pageview's window meets NOSCRIPT (its visit is not counted as
viewed); the next windows load the script again and count theirs.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- redis_setup
cmd FLUSHDB
--- request
GET /ct?v=visitor-1&s=session-1&u=/a
--- redis_after
sleep 0.4; cmd SCRIPT FLUSH; get /ct?v=visitor-2&s=session-2&u=/a; sleep 0.4; get /ct?v=visitor-3&s=session-3&u=/a; sleep 0.4; get /ct?v=visitor-4&s=session-4&u=/a; expect rollup; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 4
HGET clicktrack:stats:{localhost}:<day>:counts visits_viewed => 3
HLEN clicktrack:stats:{localhost}:<day>:sessions => 3
--- error_log
redis refused a rollup command: NOSCRIPT
--- no_error_log
[crit]
