# clicktrack_allow_origin: allowed, denied, the Referer fallback, the
# preflight, and "*".

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

defaults(
    http_config => <<'_EOC_',
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
_EOC_
    config => <<'_EOC_',
    location = /ct {
        clicktrack_beacon;
        clicktrack_allow_origin https://shop.example https://www.example.com:8443;
    }
_EOC_
    no_error_log => "[error]\n",
);

run_tests();

__DATA__

=== TEST 1: an allowed Origin: its origin back, Vary, credentials
--- more_headers
Origin: https://shop.example
Content-Type: text/plain
--- request
POST /ct
{"l":"cors"}
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: https://shop.example
Access-Control-Allow-Credentials: true
Vary: Origin
!Access-Control-Allow-Methods
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"cors","host":"localhost"}



=== TEST 2: an Origin not in the list: 403, nothing pushed
--- more_headers
Origin: https://evil.example
--- request
GET /ct?l=evil
--- error_code: 403
--- response_headers
!Access-Control-Allow-Origin
Cache-Control: no-store
--- response_body
origin not allowed
--- redis_list



=== TEST 3: a port must match too
--- more_headers
Origin: https://www.example.com
--- request
GET /ct?l=port
--- error_code: 403
--- redis_list



=== TEST 4: without Origin, the Referer's origin decides
--- more_headers eval
["Referer: https://www.example.com:8443/page?x=1", "Referer: https://evil.example/https://shop.example/"]
--- request eval
["GET /ct?l=ref-ok", "GET /ct?l=ref-bad"]
--- error_code eval
[200, 403]
--- response_headers eval
["Access-Control-Allow-Origin: https://www.example.com:8443", "!Access-Control-Allow-Origin"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"ref-ok","url":"https://www.example.com:8443/page?x=1","host":"localhost"}', ""]



=== TEST 5: neither Origin nor Referer: not a cross-origin browser request, accepted without CORS headers
--- request
GET /ct?l=server
--- error_code: 200
--- response_headers
!Access-Control-Allow-Origin
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"server","host":"localhost"}



=== TEST 6: the preflight of an allowed origin
--- more_headers
Origin: https://shop.example
Access-Control-Request-Method: POST
Access-Control-Request-Headers: content-type
--- request
OPTIONS /ct
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: https://shop.example
Access-Control-Allow-Credentials: true
Access-Control-Allow-Methods: GET, POST
Access-Control-Allow-Headers: Content-Type
Vary: Origin
Cache-Control: no-store
--- redis_list



=== TEST 7: the preflight of another origin: 403
--- more_headers
Origin: https://evil.example
Access-Control-Request-Method: POST
--- request
OPTIONS /ct
--- error_code: 403
--- response_headers
!Access-Control-Allow-Origin
--- redis_list



=== TEST 8: "*": any origin, no credentials header
--- config
    location = /ct { clicktrack_beacon; clicktrack_allow_origin *; }
--- more_headers
Origin: https://anyone.example
--- request eval
["GET /ct?l=star", "OPTIONS /ct"]
--- error_code eval
[200, 204]
--- response_headers eval
["Access-Control-Allow-Origin: *\n!Access-Control-Allow-Credentials\n!Vary", "Access-Control-Allow-Origin: *\nAccess-Control-Allow-Methods: GET, POST\nAccess-Control-Allow-Headers: Content-Type\n!Access-Control-Allow-Credentials"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"star","host":"localhost"}', ""]



=== TEST 9: an allowed origin gets the CORS headers on a 400 too, so its script can read the reason
--- more_headers
Origin: https://shop.example
--- request
GET /ct?t=NOT%20VALID
--- error_code: 400
--- response_headers
Access-Control-Allow-Origin: https://shop.example
--- redis_list



=== TEST 10: off (the default) sends no CORS headers and checks nothing
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
Origin: https://evil.example
--- request
GET /ct?l=off
--- error_code: 200
--- response_headers
!Access-Control-Allow-Origin
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"off","host":"localhost"}



=== TEST 11: Origin "null" is refused; an origin in another case is allowed, echoed as configured
--- more_headers eval
["Origin: null", "Origin: HTTPS://SHOP.EXAMPLE"]
--- request eval
["GET /ct?l=null", "GET /ct?l=case"]
--- error_code eval
[403, 200]
--- response_headers eval
["!Access-Control-Allow-Origin", "Access-Control-Allow-Origin: https://shop.example"]
--- redis_list eval
["", '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"case","host":"localhost"}']
