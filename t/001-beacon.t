# The beacon's methods and answers (SPEC 3): what each method gets back,
# and what reaches Redis.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: GET with a query string: 200, the 43-byte GIF, one event
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- request
GET /ct?t=click&l=buy
--- error_code: 200
--- response_headers
Content-Type: image/gif
Content-Length: 43
Cache-Control: no-store
!Last-Modified
--- response_body_like eval
qr/^GIF89a\x01\x00\x01\x00/
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"click","label":"buy","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}
--- redis_stream
{"id":"<uuid>","ts":"<ts>","type":"click","label":"buy","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}
--- no_error_log
[error]



=== TEST 2: HEAD with a query string: 200, no body, the event recorded
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- request
HEAD /ct?l=head
--- error_code: 200
--- response_headers
Content-Type: image/gif
Cache-Control: no-store
--- response_body
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"head","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}
--- no_error_log
[error]



=== TEST 3: POST form: 204
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request
POST /ct
t=signup&c=form&l=a+b%21
--- error_code: 204
--- response_headers
Cache-Control: no-store
!Content-Type
--- response_body
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"signup","category":"form","label":"a b!","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}
--- no_error_log
[error]



=== TEST 4: POST one JSON object as text/plain (sendBeacon's shape): 204
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
Content-Type: text/plain;charset=UTF-8
--- request
POST /ct
{"t":"click","l":"/pricing","u":"https://example.com/","ts":1795350665712}
--- error_code: 204
--- response_headers
Cache-Control: no-store
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"click","label":"/pricing","url":"https://example.com/","visitor":"<uuid>","client_ts":1795350665712,"host":"localhost","ip":"127.0.0.0"}
--- no_error_log
[error]



=== TEST 5: POST a JSON batch as application/json: 204, every event, in order
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
Content-Type: application/json
--- request
POST /ct
[{"t":"pageview","u":"https://example.com/a"},{"t":"click","l":"one"},{"t":"click","l":"two"}]
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"https://example.com/a","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}
{"id":"<uuid>","ts":"<ts>","type":"click","label":"one","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}
{"id":"<uuid>","ts":"<ts>","type":"click","label":"two","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}
--- no_error_log
[error]



=== TEST 6: OPTIONS without CORS configured: 204, nothing pushed
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- request
OPTIONS /ct
--- error_code: 204
--- response_headers
Cache-Control: no-store
!Access-Control-Allow-Origin
--- redis_list
--- no_error_log
[error]



=== TEST 7: any other method: 405 with Allow, nothing pushed
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- request
PUT /ct?t=click
--- error_code: 405
--- response_headers
Allow: GET, HEAD, POST, OPTIONS
Cache-Control: no-store
Content-Type: text/plain
--- response_body
method not allowed
--- redis_list
--- no_error_log
[error]



=== TEST 8: GET or HEAD without an event: 400 naming the fault (no body for HEAD)
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- request eval
["GET /ct", "GET /ct?", "HEAD /ct", "HEAD /ct?t=BAD%20X"]
--- error_code eval
[400, 400, 400, 400]
--- response_headers eval
[("Content-Type: text/plain\nCache-Control: no-store") x 4]
--- response_body eval
[("no event in the query string\n") x 2, "", ""]
--- redis_list
--- no_error_log
[error]



=== TEST 9: POST with another content type: 415, nothing pushed
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
Content-Type: multipart/form-data; boundary=x
--- request
POST /ct
--x--
--- error_code: 415
--- response_headers
Cache-Control: no-store
--- response_body_like chomp
^Content-Type must be
--- redis_list
--- no_error_log
[error]



=== TEST 10: POST without a content type: 415
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- request
POST /ct
t=click
--- error_code: 415
--- redis_list
--- no_error_log
[error]



=== TEST 11: body over clicktrack_max_body: 413, nothing pushed
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; clicktrack_max_body 64; }
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request eval
"POST /ct\n" . "t=click&l=" . ("x" x 100)
--- error_code: 413
--- response_headers
Cache-Control: no-store
--- response_body
body over clicktrack_max_body
--- redis_list
--- no_error_log
[error]



=== TEST 12: a body exactly at clicktrack_max_body is accepted
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; clicktrack_max_body 64; }
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request eval
"POST /ct\n" . "t=click&l=" . ("x" x 54)
--- error_code: 204
--- redis_list eval
'{"id":"<uuid>","ts":"<ts>","type":"click","label":"' . ("x" x 54) . '","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}'
--- no_error_log
[error]



=== TEST 13: an empty POST body: 400
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
Content-Type: application/json
Content-Length: 0
--- request
POST /ct
--- error_code: 400
--- response_body
empty body
--- redis_list
--- no_error_log
[error]



=== TEST 14: a chunked body over clicktrack_max_body: 413 after reading it
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; clicktrack_max_body 64; }
--- raw_request eval
"POST /ct HTTP/1.1\r
Host: localhost\r
Content-Type: application/x-www-form-urlencoded\r
Transfer-Encoding: chunked\r
Connection: close\r
\r
64\r
l=" . ("x" x 98) . "\r
0\r
\r
"
--- error_code: 413
--- response_headers
Cache-Control: no-store
--- response_body
body over clicktrack_max_body
--- redis_list
--- no_error_log
[error]



=== TEST 15: a body over nginx's client_max_body_size: our 413, not the error page
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct {
        clicktrack_beacon;
        clicktrack_max_body 1k;
        client_max_body_size 100;
    }
--- raw_request eval
"POST /ct HTTP/1.1\r
Host: localhost\r
Content-Type: application/x-www-form-urlencoded\r
Transfer-Encoding: chunked\r
Connection: close\r
\r
c8\r
l=" . ("x" x 198) . "\r
0\r
\r
"
--- error_code: 413
--- response_headers
Cache-Control: no-store
Content-Type: text/plain
--- response_body
body over client_max_body_size
--- redis_list
