# Bounce rate and visit duration (SPEC section 11): pageviews and the
# tracker's engage events through the beacon, on two workers and over
# several windows; the day's counts and sessions hash read back from
# Redis, and the stats API's totals; sums over a range of days; the cap on
# one engage.  t/026 has a flushed script loaded again.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

master_on();
workers(2);
repeat_each(1);
no_shuffle();

defaults(
    redis_setup => "cmd FLUSHDB\n",
    no_error_log => "[error]\n",
    http_config => <<'CONF',
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
CONF
    config => <<'CONF',
    location = /ct { clicktrack_beacon; }
    location = /stats { clicktrack_stats; }
CONF
);

run_tests();

__DATA__

=== TEST 1: visits viewed, those that did not bounce, engaged time: exact
One visit of one page (a bounce), one of two pages in one window, one of
two pages in two windows; a pageview and an engage with no session count
nothing here.  3 visits, 1 bounce: 0.33; (30 + 60 + 30.5) s / 3: 40 s.
--- request eval
["GET /ct?v=visitor-1&s=session-1&u=/a",
 "GET /ct?t=engage&v=visitor-1&s=session-1&u=/a&p.time=30000&p.scroll=40",
 "GET /ct?v=visitor-2&s=session-2&u=/a",
 "GET /ct?v=visitor-2&s=session-2&u=/b",
 "GET /ct?t=engage&v=visitor-2&s=session-2&u=/b&p.time=60000",
 "GET /ct?v=visitor-3&s=session-3&u=/a",
 "GET /ct?v=visitor-3&s=session-3&u=/c",
 "GET /ct?t=engage&v=visitor-3&s=session-3&u=/c&p.time=30500.9",
 "GET /ct?u=/a",
 "GET /ct?t=engage&u=/a&p.time=5000",
 "GET /ct?t=engage&v=visitor-1&s=session-1&u=/a&p.time=abc",
 "GET /ct?t=engage&v=visitor-1&s=session-1&u=/a&p.time=-5"]
--- redis_after eval
["", "", "", "", "", "sleep 0.3", "", "", "", "", "",
 "expect rollup; json /stats?site=localhost today; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 12
HGET clicktrack:stats:{localhost}:<day>:counts visits_viewed => 3
HGET clicktrack:stats:{localhost}:<day>:counts visits_multi => 2
HGET clicktrack:stats:{localhost}:<day>:counts engaged_ms => 120500
HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 6
HLEN clicktrack:stats:{localhost}:<day>:sessions => 3
HGET clicktrack:stats:{localhost}:<day>:sessions session-1 => 1
HGET clicktrack:stats:{localhost}:<day>:sessions session-3 => 2
TTL clicktrack:stats:{localhost}:<day>:sessions => >21600
TTL clicktrack:stats:{localhost}:<day>:sessions => <108001
--- today
totals => {"bounce_rate":0.33,"events":12,"pageviews":6,"visit_duration":40,"visitors":3,"visits":3}
events => [["pageview",6],["engage",6]]



=== TEST 2: a range sums its days: the days' visits, bounces and time
--- redis_setup
cmd FLUSHDB;
cmd HSET clicktrack:stats:{localhost}:<day-2d>:counts events 9 pageviews 5 visits_viewed 4 visits_multi 1 engaged_ms 100000;
cmd HSET clicktrack:stats:{localhost}:<day>:counts events 3 pageviews 2 visits_viewed 1 engaged_ms 49000;
cmd HSET clicktrack:stats:{localhost}:<day-5d>:counts events 2 pageviews 2 visits_viewed 1 visits_multi 1 engaged_ms 4000;
cmd ZADD clicktrack:stats:sites:<day> 3 localhost
--- request
GET /stats?site=localhost&period=today
--- redis_after
json /stats?site=localhost&from=<day-2d>&to=<day> days; json /stats?site=localhost&from=<day-2d>&to=<day>&compare=previous cmp; json /stats?site=localhost&period=yesterday none; cmd FLUSHDB
--- days
totals.bounce_rate => 0.8
totals.visit_duration => 30
--- cmp
compare.totals.bounce_rate => 0
compare.totals.visit_duration => 4
--- none
totals.bounce_rate => null
totals.visit_duration => null
--- response_body_like: "bounce_rate":1\.00,"visit_duration":49\}



=== TEST 3: one engage counts an hour at most; a JSON number's fraction goes
--- request eval
["GET /ct?v=visitor-1&s=session-1&u=/a",
 "GET /ct?t=engage&v=visitor-1&s=session-1&u=/a&p.time=99999999999",
 "POST /ct\n{\"t\":\"engage\",\"v\":\"visitor-1\",\"s\":\"session-1\",\"u\":\"/a\",\"p\":{\"time\":1500.75}}",
 "POST /ct\n{\"t\":\"engage\",\"v\":\"visitor-1\",\"s\":\"session-1\",\"u\":\"/a\",\"p\":{\"time\":2e3}}",
 "POST /ct\n{\"t\":\"engage\",\"v\":\"visitor-1\",\"s\":\"session-1\",\"u\":\"/a\",\"p\":{\"time\":true}}"]
--- error_code eval
[200, 200, 204, 204, 204]
--- more_headers eval
["", "", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json"]
--- redis_after eval
["", "", "", "", "expect rollup; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts engaged_ms => 3601500
HGET clicktrack:stats:{localhost}:<day>:counts visits_viewed => 1
HEXISTS clicktrack:stats:{localhost}:<day>:counts visits_multi => 0
ZSCORE clicktrack:stats:{localhost}:<day>:events engage => 4



=== TEST 4: pageviews without engage events: a bounce rate, no duration
--- request eval
["GET /ct?v=visitor-1&s=session-1&u=/a",
 "GET /ct?v=visitor-2&s=session-2&u=/a",
 "GET /ct?v=visitor-2&s=session-2&u=/b",
 "GET /ct?v=visitor-3&s=session-3&u=/a"]
--- redis_after eval
["", "", "", "expect rollup; json /stats?site=localhost today; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts visits_viewed => 3
--- today
totals.bounce_rate => 0.67
totals.visit_duration => null
