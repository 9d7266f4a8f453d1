# Rollups (clicktrack_rollup): known traffic through the beacon, the keys
# read back from Redis; unique counts, hourly buckets, top trimming,
# retention, tz, two workers, and rollups off.

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
);

run_tests();

__DATA__

=== TEST 1: every count and table of known traffic, exact
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; clicktrack_field country $arg_cc; }
--- request eval
["GET /ct?v=visitor-1&s=session-1&u=https://localhost/a?x=1%23frag&cc=FR&r=https%3A%2F%2FNews.Example%3A8443%2Fitem",
 "GET /ct?v=visitor-1&s=session-1&u=/a",
 "GET /ct?v=visitor-2&s=session-2&r=http://localhost/a&u=https://localhost/b%3Futm_source%3Dnews%26utm_medium%3Demail%26utm_campaign%3Dwinter%2Bsale&cc=DE",
 "GET /ct?t=click&v=visitor-2&s=session-2&l=https://elsewhere.example/&c=outbound",
 "GET /ct?t=click&v=visitor-2&s=session-2&l=buy",
 "GET /ct?t=signup&v=visitor-2&s=session-3"]
--- redis_after eval
["", "", "", "", "", "expect rollup; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 6
HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 3
HGET clicktrack:stats:{localhost}:<day>:counts events:<hour> => 6
HGET clicktrack:stats:{localhost}:<day>:counts pageviews:<hour> => 3
PFCOUNT clicktrack:stats:{localhost}:<day>:visitors => 2
PFCOUNT clicktrack:stats:{localhost}:<day>:visits => 3
PFCOUNT clicktrack:stats:{localhost}:<day>T<hour>:visitors => 2
PFCOUNT clicktrack:stats:{localhost}:<minute>:visits => <4
ZRANGE clicktrack:stats:{localhost}:<day>:events 0 -1 WITHSCORES => signup 1 click 2 pageview 3
ZRANGE clicktrack:stats:{localhost}:<day>:pages 0 -1 WITHSCORES => /b 1 /a 2
ZRANGE clicktrack:stats:{localhost}:<day>:referrers 0 -1 WITHSCORES => news.example 1 (direct) 2
ZRANGE clicktrack:stats:{localhost}:<day>:utm_source 0 -1 WITHSCORES => news 1
ZRANGE clicktrack:stats:{localhost}:<day>:utm_medium 0 -1 WITHSCORES => email 1
ZRANGE clicktrack:stats:{localhost}:<day>:utm_campaign 0 -1 WITHSCORES => winter sale 1
EXISTS clicktrack:stats:{localhost}:<day>:utm_content => 0
ZRANGE clicktrack:stats:{localhost}:<day>:countries 0 -1 WITHSCORES => DE 1 FR 1
ZRANGE clicktrack:stats:{localhost}:<day>:labels 0 -1 WITHSCORES => buy 1 https://elsewhere.example/ 1
ZRANGE clicktrack:stats:{localhost}:<day>:outbound 0 -1 WITHSCORES => https://elsewhere.example/ 1
EXISTS clicktrack:stats:{localhost}:<day>:downloads => 0
ZSCORE clicktrack:stats:sites:<day> localhost => 6
TTL clicktrack:stats:{localhost}:<day>:pages => >34000000



=== TEST 2: a site is the request's host; downloads are clicks of category download
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
["Host: a.example", "Host: b.example", "Host: b.example"]
--- request eval
["GET /ct?u=/", "GET /ct?u=/x", "GET /ct?t=click&c=download&l=/files/a.pdf"]
--- redis_after eval
["", "", "expect rollup; cmd FLUSHDB"]
--- rollup
ZRANGE clicktrack:stats:sites:<day> 0 -1 WITHSCORES => a.example 1 b.example 2
ZRANGE clicktrack:stats:{a.example}:<day>:pages 0 -1 WITHSCORES => / 1
ZRANGE clicktrack:stats:{b.example}:<day>:pages 0 -1 WITHSCORES => /x 1
ZRANGE clicktrack:stats:{b.example}:<day>:downloads 0 -1 WITHSCORES => /files/a.pdf 1
EXISTS clicktrack:stats:{a.example}:<day>:visitors => 0



=== TEST 3: a few thousand visitors and visits: unique counts within 2%
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
    location = /visit {
        rewrite ^ /ct?s=visit-$arg_l? last;
    }
--- request
GET /ct?l=first
--- redis_after
load 3000 /visit?t=pageview; expect rollup; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 3001
PFCOUNT clicktrack:stats:{localhost}:<day>:visitors => ~3001
PFCOUNT clicktrack:stats:{localhost}:<day>:visits => ~3000
PFCOUNT clicktrack:stats:{localhost}:<day>T<hour>:visitors => ~3001



=== TEST 4: top: each table keeps its largest entries
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms top=2;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- request eval
["GET /ct?u=/a", "GET /ct?u=/a", "GET /ct?u=/a", "GET /ct?u=/b",
 "GET /ct?u=/b", "GET /ct?u=/c"]
--- redis_after eval
["", "", "", "", "", "expect rollup; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 6
ZCARD clicktrack:stats:{localhost}:<day>:pages => 2
ZRANGE clicktrack:stats:{localhost}:<day>:pages 0 -1 WITHSCORES => /b 2 /a 3



=== TEST 5: retention: the keys expire
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms retention=5s;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- request
GET /ct?u=/a&v=visitor-1
--- redis_after
expect rollup; sleep 5.5; expect gone; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 1
TTL clicktrack:stats:{localhost}:<day>:counts => <6
TTL clicktrack:stats:{localhost}:<minute>:visitors => <6
--- gone
EXISTS clicktrack:stats:{localhost}:<day>:counts => 0
EXISTS clicktrack:stats:{localhost}:<day>:pages => 0
EXISTS clicktrack:stats:{localhost}:<day>:visitors => 0
EXISTS clicktrack:stats:sites:<day> => 0



=== TEST 6: tz: the same moment falls on two days, 26 hours apart
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /east {
        clicktrack_beacon;
        clicktrack_rollup east window=100ms tz=+14:00;
    }
    location = /west {
        clicktrack_beacon;
        clicktrack_rollup west window=100ms tz=-12:00;
    }
--- request eval
["GET /east?u=/e", "GET /west?u=/w"]
--- redis_after eval
["", "expect rollup; cmd FLUSHDB"]
--- rollup
HGET east:{localhost}:<day+14:00>:counts events => 1
HGET west:{localhost}:<day-12:00>:counts events => 1
EXISTS east:{localhost}:<day-12:00>:counts => 0
EXISTS west:{localhost}:<day+14:00>:counts => 0



=== TEST 7: two workers (as in every test here): their sums add up
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- request
GET /ct?u=/first
--- redis_after
load 400 /ct?u=/load conc 8; expect rollup; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts events => 401
ZSCORE clicktrack:stats:{localhost}:<day>:pages /load => 400



=== TEST 8: clicktrack_rollup off writes nothing
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup off;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- request
GET /ct?u=/a
--- redis_after
sleep 0.5; expect rollup; cmd FLUSHDB
--- rollup
KEYS clicktrack:stats* => 



=== TEST 9: nginx -t: bad values are refused, naming them
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats tz=+25:00;
--- config
    location = /ct { clicktrack_beacon; }
--- must_die
--- error_log
invalid value "tz=+25:00" in "clicktrack_rollup"



=== TEST 10: nginx -t: an unknown parameter
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats span=1d;
--- config
    location = /ct { clicktrack_beacon; }
--- must_die
--- error_log
unknown parameter "span=1d" in "clicktrack_rollup"



=== TEST 11: nginx -t: a window over a minute, a zero top, a bad retention
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=2m;
--- config
    location = /ct { clicktrack_beacon; clicktrack_rollup other top=0; }
--- must_die
--- error_log
invalid value "window=2m" in "clicktrack_rollup"



=== TEST 12: nginx -t: a duplicate, and "off" with parameters
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats;
    clicktrack_rollup other;
--- config
    location = /ct { clicktrack_beacon; }
--- must_die
--- error_log
"clicktrack_rollup" directive is duplicate



=== TEST 13: identify: the event's "user" field, and the visitor's person in PREFIX:users; a bad "i" is refused
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- request eval
["GET /ct?t=identify&v=visitor-1&i=alice%40example.com",
 "GET /ct?t=click&v=visitor-1&i=alice%40example.com&l=buy",
 "GET /ct?t=identify&i=nobody%40example.com",
 "GET /ct?t=identify&v=visitor-2&i=bad%0Aid",
 "GET /ct?t=identify&v=visitor-2&i=" . ("x" x 129)]
--- error_code eval
[200, 200, 200, 400, 400]
--- response_body_like eval
["", "", "", "^invalid \"i\": 1-128 bytes, no control characters\$",
 "^invalid \"i\": 1-128 bytes, no control characters\$"]
--- redis_after eval
["", "", "check", "", "expect rollup; cmd FLUSHDB"]
--- redis_list eval
[undef, undef, '{"id":"<uuid>","ts":"<ts>","type":"identify","visitor":"visitor-1","user":"alice@example.com","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"click","label":"buy","visitor":"visitor-1","user":"alice@example.com","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"identify","user":"nobody@example.com","host":"localhost"}', undef, undef]
--- rollup
HGETALL clicktrack:stats:users => visitor-1 alice@example.com
ZSCORE clicktrack:stats:{localhost}:<day>:events identify => 2



=== TEST 14: a request whose events overflow the raw buffer (256 KB): every string of every event summed
300 pageviews of about 4 KB each in one POST: the beacon's copies fill
the buffer three times over, and each time it is summed before the next
copy; pages, referrers, UTM, countries, visitors and visits all come out
exact.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=2s;
    clicktrack_cookie off;
    clicktrack_recent off;
    clicktrack_max_body 2m;
    clicktrack_max_batch 300;
    client_max_body_size 2m;
    client_body_buffer_size 2m;
--- config
    location = /ct { clicktrack_beacon; clicktrack_field country $http_x_cc; }
--- more_headers
Content-Type: application/json
X-CC: NZ
--- request eval
"POST /ct\n[" . join(",", map {
    sprintf('{"t":"pageview","u":"/p%03d?%s&utm_source=src%d",'
            . '"r":"https://ref%02d.example/%s","v":"visitor-%d","s":"session-%d"}',
            $_, "a" x 1900, $_ % 5, $_ % 20, "b" x 2000, $_ % 7, $_ % 11)
} 0 .. 299) . "]"
--- error_code: 204
--- redis_after
expect rollup; cmd FLUSHDB
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 300
ZCARD clicktrack:stats:{localhost}:<day>:pages => 300
ZSCORE clicktrack:stats:{localhost}:<day>:pages /p000 => 1
ZSCORE clicktrack:stats:{localhost}:<day>:pages /p299 => 1
ZCARD clicktrack:stats:{localhost}:<day>:referrers => 20
ZSCORE clicktrack:stats:{localhost}:<day>:referrers ref00.example => 15
ZSCORE clicktrack:stats:{localhost}:<day>:referrers ref19.example => 15
ZRANGE clicktrack:stats:{localhost}:<day>:utm_source 0 -1 WITHSCORES => src0 60 src1 60 src2 60 src3 60 src4 60
ZRANGE clicktrack:stats:{localhost}:<day>:countries 0 -1 WITHSCORES => NZ 300
ZCARD clicktrack:stats:{localhost}:<day>:browsers => 1
PFCOUNT clicktrack:stats:{localhost}:<day>:visitors => 7
PFCOUNT clicktrack:stats:{localhost}:<day>:visits => 11
HGET clicktrack:stats:{localhost}:<day>:counts visits_viewed => 11
HGET clicktrack:stats:{localhost}:<day>:counts visits_multi => 11



=== TEST 15: an event larger than the whole raw buffer is summed at once, in its turn
A 300,000-byte country between two small pageviews.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=2s top=10;
    clicktrack_cookie off;
    clicktrack_recent off;
    large_client_header_buffers 4 512k;
--- config
    location = /ct { clicktrack_beacon; clicktrack_field country $http_x_cc; }
--- more_headers eval
["X-CC: FR", "X-CC: " . ("Z" x 300000), "X-CC: FR"]
--- request eval
["GET /ct?u=/a", "GET /ct?u=/b", "GET /ct?u=/c"]
--- redis_after eval
["", "", "expect rollup; cmd FLUSHDB"]
--- rollup eval
"HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 3
ZRANGE clicktrack:stats:{localhost}:<day>:pages 0 -1 WITHSCORES => /a 1 /b 1 /c 1
ZRANGE clicktrack:stats:{localhost}:<day>:countries 0 -1 WITHSCORES => "
. ("Z" x 300000) . " 1 FR 2
"
