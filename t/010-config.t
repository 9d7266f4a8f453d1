# "nginx -t" refuses a bad configuration with a message naming the
# directive (SPEC 2).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

# Test::Nginx starts nginx only for a block with a config section
defaults(
    config => "    location = /t { return 204; }\n",
);

run_tests();

__DATA__

=== TEST 1: clicktrack_beacon without clicktrack_redis
--- config
    location = /ct { clicktrack_beacon; }
--- request
GET /
--- must_die
--- error_log eval
qr/"clicktrack_beacon" in \S+nginx\.conf:\d+ requires "clicktrack_redis"/



=== TEST 2: an unknown parameter
--- http_config
    clicktrack_redis 127.0.0.1:6379 timeout=1s;
--- request
GET /
--- must_die
--- error_log
unknown parameter "timeout=1s" in "clicktrack_redis"



=== TEST 3: a bad time
--- http_config
    clicktrack_redis 127.0.0.1:6379 connect_timeout=soon;
--- request
GET /
--- must_die
--- error_log
invalid value "connect_timeout=soon" in "clicktrack_redis"



=== TEST 4: a bad number
--- http_config
    clicktrack_redis 127.0.0.1:6379 db=two;
--- request
GET /
--- must_die
--- error_log
invalid value "db=two" in "clicktrack_redis"



=== TEST 5: a bad size
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_max_body lots;
--- request
GET /
--- must_die
--- error_log
"clicktrack_max_body" directive invalid value



=== TEST 6: a batch limit out of range
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_max_batch 0;
--- request
GET /
--- must_die
--- error_log eval
qr/invalid value "0" in "clicktrack_max_batch": a number from 1 to 10000/



=== TEST 6.2: a batch limit over the top
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_max_batch 10001;
--- request
GET /
--- must_die
--- error_log eval
qr/invalid value "10001" in "clicktrack_max_batch": a number from 1 to 10000/



=== TEST 6.3: clicktrack_max_batch that is no number (the stock number slot)
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_max_batch many;
--- request
GET /
--- must_die
--- error_log
"clicktrack_max_batch" directive invalid number



=== TEST 6.4: clicktrack_max_batch twice on one level
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_max_batch 10;
    clicktrack_max_batch 20;
--- request
GET /
--- must_die
--- error_log
"clicktrack_max_batch" directive is duplicate



=== TEST 7.1: clicktrack_queue size=1k
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_queue size=1k;
--- request
GET /
--- must_die
--- error_log
invalid value "size=1k" in "clicktrack_queue": a size of at least 64k



=== TEST 7.2: clicktrack_queue batch=0
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_queue batch=0;
--- request
GET /
--- must_die
--- error_log
invalid value "batch=0" in "clicktrack_queue"



=== TEST 7.3: clicktrack_queue flush=never
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_queue flush=never;
--- request
GET /
--- must_die
--- error_log
invalid value "flush=never" in "clicktrack_queue"



=== TEST 7.4: clicktrack_queue bytes=1m
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_queue bytes=1m;
--- request
GET /
--- must_die
--- error_log
unknown parameter "bytes=1m" in "clicktrack_queue"



=== TEST 7.5: clicktrack_queue twice, with other parameters each time
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_queue batch=5;
    clicktrack_queue flush=1s;
--- request
GET /
--- must_die
--- error_log
"clicktrack_queue" directive is duplicate



=== TEST 8: a field name outside [A-Za-z0-9_]
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_field bad-name x;
--- request
GET /
--- must_die
--- error_log
invalid field name "bad-name" in "clicktrack_field"



=== TEST 9: a field that collides with a built-in event field
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_field url $host;
--- request
GET /
--- must_die
--- error_log
field name "url" in "clicktrack_field" is a built-in event field



=== TEST 10: the same field twice
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_field site a;
    clicktrack_field site b;
--- request
GET /
--- must_die
--- error_log
duplicate field "site" in "clicktrack_field"



=== TEST 11: clicktrack_redis twice
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_redis 127.0.0.1:6380;
--- request
GET /
--- must_die
--- error_log
"clicktrack_redis" directive is duplicate



=== TEST 12: clicktrack_cookie twice on one level
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_cookie a;
    clicktrack_cookie b;
--- request
GET /
--- must_die
--- error_log
"clicktrack_cookie" directive is duplicate



=== TEST 13: a cookie parameter out of its set
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_cookie ctid samesite=maybe;
--- request
GET /
--- must_die
--- error_log
invalid value "samesite=maybe" in "clicktrack_cookie"



=== TEST 14: a cookie name that is not a token
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_cookie "a;b";
--- request
GET /
--- must_die
--- error_log
invalid cookie name "a;b" in "clicktrack_cookie"



=== TEST 15: an origin that is not scheme://host[:port]
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_allow_origin https://ok.example https://bad.example/path;
--- request
GET /
--- must_die
--- error_log
invalid origin "https://bad.example/path" in "clicktrack_allow_origin"



=== TEST 16: clicktrack_ip out of its set
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_ip partial;
--- request
GET /
--- must_die
--- error_log
invalid value "partial" in "clicktrack_ip": full, anonymize or off



=== TEST 16.2: clicktrack_ip twice on one level
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_ip full;
    clicktrack_ip off;
--- request
GET /
--- must_die
--- error_log
"clicktrack_ip" directive is duplicate



=== TEST 17: clicktrack_recent with a bad max
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_recent feed max=0;
--- request
GET /
--- must_die
--- error_log
invalid value "max=0" in "clicktrack_recent"



=== TEST 17.2: clicktrack_recent twice on one level
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_recent feed;
    clicktrack_recent off;
--- request
GET /
--- must_die
--- error_log
"clicktrack_recent" directive is duplicate



=== TEST 18: two handlers in one location
--- http_config
    clicktrack_redis 127.0.0.1:6379;
--- config
    location = /ct { clicktrack_beacon; clicktrack_status; }
--- request
GET /
--- must_die
--- error_log
"clicktrack_status" directive is duplicate



=== TEST 19: a Redis host that does not resolve, named when the configuration is read
--- http_config
    clicktrack_redis no-such-host.invalid:6379;
--- request
GET /
--- must_die
--- error_log eval
qr/host not found in "no-such-host\.invalid:6379" of "clicktrack_redis"/



=== TEST 20: clicktrack_queue outside http
--- config
    location = /ct { clicktrack_queue size=1m; }
--- request
GET /
--- must_die
--- error_log
"clicktrack_queue" directive is not allowed here
