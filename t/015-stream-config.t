# "nginx -t" refuses a clicktrack_stream it cannot serve, naming the
# directive (SPEC 2).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

run_tests();

__DATA__

=== TEST 1: clicktrack_stream without clicktrack_redis
--- config
    location = /stream { clicktrack_stream; }
--- request
GET /
--- must_die
--- error_log eval
qr/"clicktrack_stream" in \S+nginx\.conf:\d+ requires "clicktrack_redis"/



=== TEST 2: clicktrack_stream where clicktrack_recent is off
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /stream { clicktrack_recent off; clicktrack_stream; }
--- request
GET /
--- must_die
--- error_log
"clicktrack_stream" in location "/stream" reads the recent stream, but "clicktrack_recent" is off there



=== TEST 3: clicktrack_recent off inherited from the http level
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_recent off;
--- config
    location /admin/ {
        location = /admin/stream { clicktrack_stream; }
    }
--- request
GET /
--- must_die
--- error_log
"clicktrack_stream" in location "/admin/stream" reads the recent stream, but "clicktrack_recent" is off there



=== TEST 4: clicktrack_stream takes no argument
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /stream { clicktrack_stream on; }
--- request
GET /
--- must_die
--- error_log
invalid number of arguments in "clicktrack_stream" directive



=== TEST 5: a location with another handler already
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /stream { clicktrack_beacon; clicktrack_stream; }
--- request
GET /
--- must_die
--- error_log
"clicktrack_stream" directive is duplicate



=== TEST 6: recent off elsewhere does not matter; a stream key of its own is fine
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_recent off;
--- config
    location = /stream { clicktrack_recent mine max=50; clicktrack_stream; }
--- request
GET /stream?format=json
--- response_body
[]
