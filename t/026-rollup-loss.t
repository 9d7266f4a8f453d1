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



=== TEST 5: Redis paused for less than command_timeout: nothing lost
The windows' commands wait in the socket and are answered on resume.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- redis2
--- redis_setup
start; cmd FLUSHDB
--- request
GET /ct?u=/before
--- redis_after
sleep 0.3; pause; load 10 /ct?u=/paused; sleep 0.3; load 10 /ct?u=/paused; sleep 0.5; resume; expect rollup; counters /status after; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 21
ZSCORE clicktrack:stats:{localhost}:<day>:pages /paused => 20
ZSCORE clicktrack:stats:{localhost}:<day>:pages /before => 1
--- after
rollup_pending=0
rollup_dropped=0
--- no_error_log
[error]



=== TEST 6: Redis paused past command_timeout: at most the window in flight lost
The window sent into the paused Redis is in flight when the connection
times out: it may or may not be applied on resume (Redis reads what
reached its socket before the close).  The windows after it go on the
next connection, or are kept while there is none, and arrive.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT command_timeout=300ms connect_timeout=300ms;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- redis2
--- redis_setup
start; cmd FLUSHDB
--- request
GET /ct?u=/before
--- redis_after
sleep 0.3; pause; get /ct?u=/in-flight; sleep 0.8; load 5 /ct?u=/kept; sleep 0.3; resume; expect rollup; counters /status after; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => >5
HGET clicktrack:stats:{localhost}:<day>:counts events => <8
ZSCORE clicktrack:stats:{localhost}:<day>:pages /kept => 5
ZSCORE clicktrack:stats:{localhost}:<day>:pages /before => 1
--- after
rollup_pending=0
rollup_dropped=0
--- error_log
command timed out
--- no_error_log
[crit]



=== TEST 7: a worker killed mid-window loses that window, counted in rollup_dropped
Its 7 entries (the bucket; pageview; /lost; (direct); Other three times)
are counted when the master starts the next worker; the list has every
event, and the next worker's window arrives.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=3s;
    clicktrack_cookie off;
    clicktrack_recent off;
--- redis_setup
cmd FLUSHDB
--- request
GET /ct?u=/lost
--- redis_after
load 4 /ct?u=/lost; sleep 0.2; counters /status before; kill_worker; counters /status killed; get /ct?u=/after; expect rollup; cmd FLUSHDB
--- before
rollup_windows=0
rollup_dropped=0
--- killed
rollup_dropped=7
rollup_pending=0
--- rollup
LLEN clicktrack:events => 6
HGET clicktrack:stats:{localhost}:<day>:counts events => 1
ZSCORE clicktrack:stats:{localhost}:<day>:pages /after => 1
ZSCORE clicktrack:stats:{localhost}:<day>:pages /lost => (nil)
--- error_log
died holding 7 rollup entries of 0 kept window(s)
--- no_error_log
[crit]



=== TEST 8: the cap reached: the labels past a window's 8 MB not kept, counted; the rest intact
10,000 clicks with distinct 1,000-byte labels in one window: the labels
that fit are counted, each one past the bound adds 1 to rollup_dropped;
the counts, the events table and the next window are whole.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=4s top=100000;
    clicktrack_cookie off;
    clicktrack_recent off;
    clicktrack_max_body 2m;
    clicktrack_max_batch 1000;
    client_max_body_size 2m;
    clicktrack_queue size=64m;
--- redis_setup
cmd FLUSHDB
--- request eval
[map {
    my $n = $_;
    "POST /ct\n[" . join(",", map {
        sprintf('{"t":"click","l":"%05d%s"}', $n * 1000 + $_, "x" x 995)
    } 0 .. 999) . "]"
} 0 .. 9]
--- more_headers eval
[("Content-Type: application/json") x 10]
--- error_code eval
[(204) x 10]
--- redis_after eval
[("") x 9, "expect rollup; counters /status capped; log_lines kept > 0; get /ct?t=click&l=after; expect next; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 10000
ZSCORE clicktrack:stats:{localhost}:<day>:events click => 10000
ZCARD clicktrack:stats:{localhost}:<day>:labels => >7000
ZCARD clicktrack:stats:{localhost}:<day>:labels => <8000
--- capped
rollup_dropped>2000
rollup_dropped<3000
--- next
ZSCORE clicktrack:stats:{localhost}:<day>:labels after => 1
HGET clicktrack:stats:{localhost}:<day>:counts events => 10001
--- no_error_log
[crit]



=== TEST 9: what a worker has sent is not sent again; a lost connection forgets it
A visitor already added to the day's unique count, and a session whose
two pageviews were sent, are not sent again that day: with the day's
visitors and sessions keys deleted behind the worker's back, a third
pageview of theirs leaves them absent (the counts, the hour's visitors
and the pages still arrive).  When Redis goes (restarted here, empty),
the worker forgets what it sent, and the next pageview sends it all.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- redis2
--- redis_setup
cmd FLUSHDB
--- request
GET /ct?v=visitor-1&s=session-1&u=/a
--- redis_after eval
use POSIX qw(strftime);
my $base = "clicktrack:stats:{localhost}:" . strftime("%Y-%m-%d", gmtime);
"expect first; get /ct?v=visitor-1&s=session-1&u=/b; expect second; "
. "cmd DEL $base:visitors $base:sessions; "
. "get /ct?v=visitor-1&s=session-1&u=/c; expect third; "
. "restart; sleep 0.5; get /ct?v=visitor-1&s=session-1&u=/d; expect fourth"
--- first
ZSCORE clicktrack:stats:sites:<day> localhost => 1
PFCOUNT clicktrack:stats:{localhost}:<day>:visitors => 1
HGET clicktrack:stats:{localhost}:<day>:sessions session-1 => 1
--- second
ZSCORE clicktrack:stats:sites:<day> localhost => 2
HGET clicktrack:stats:{localhost}:<day>:sessions session-1 => 2
HGET clicktrack:stats:{localhost}:<day>:counts visits_multi => 1
--- third
ZSCORE clicktrack:stats:sites:<day> localhost => 3
EXISTS clicktrack:stats:{localhost}:<day>:visitors => 0
EXISTS clicktrack:stats:{localhost}:<day>:sessions => 0
PFCOUNT clicktrack:stats:{localhost}:<day>T<hour>:visitors => 1
ZSCORE clicktrack:stats:{localhost}:<day>:pages /c => 1
HGET clicktrack:stats:{localhost}:<day>:counts visits_viewed => 1
HGET clicktrack:stats:{localhost}:<day>:counts visits_multi => 1
--- fourth
ZSCORE clicktrack:stats:sites:<day> localhost => 1
PFCOUNT clicktrack:stats:{localhost}:<day>:visitors => 1
PFCOUNT clicktrack:stats:{localhost}:<day>:visits => 1
PFCOUNT clicktrack:stats:{localhost}:<day>T<hour>:visitors => 1
HGET clicktrack:stats:{localhost}:<day>:sessions session-1 => 1
HGET clicktrack:stats:{localhost}:<day>:counts visits_viewed => 1
--- no_error_log
[crit]
