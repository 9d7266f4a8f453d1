# Hostile and malformed input that docs/bad-input.md lists without a test
# elsewhere: each answer, and what reached Redis (nothing, or the exact
# record).  Redis protocol and header injection, duplicate and
# case-changed keys, bad escapes, byte order marks, nesting, empty bodies.

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
    }
    location = /cors {
        clicktrack_beacon;
        clicktrack_allow_origin https://shop.example;
    }
_EOC_
    no_error_log => "[error]\n",
);

run_tests();

__DATA__

=== TEST 1: I5: Redis protocol in a query value is recorded as text
--- redis_setup
cmd RPUSH canary {"canary":1}; cmd RPUSH pwned {"before":1}
--- request
GET /ct?l=x%0D%0A*1%0D%0A%248%0D%0AFLUSHALL%0D%0A*3%0D%0A%243%0D%0ASET%0D%0A%245%0D%0Apwned%0D%0A%241%0D%0A1%0D%0A&p.k=*0%0D%0A
--- error_code: 200
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"x\r\n*1\r\n$8\r\nFLUSHALL\r\n*3\r\n$3\r\nSET\r\n$5\r\npwned\r\n$1\r\n1\r\n","host":"localhost","props":{"k":"*0\r\n"}}
@canary
{"canary":1}
@pwned
{"before":1}


=== TEST 2: I5: the same in JSON, and RESP words in the User-Agent
--- redis_setup
cmd RPUSH canary {"canary":2}
--- more_headers
Content-Type: application/json
User-Agent: *1\r\n$8\r\nFLUSHALL
--- request
POST /ct
{"l":"x\r\n*1\r\n$8\r\nFLUSHALL\r\n","c":"$-1\r\n","p":{"k":"*0\r\n"}}
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","category":"$-1\r\n","label":"x\r\n*1\r\n$8\r\nFLUSHALL\r\n","host":"localhost","ua":"*1\\r\\n$8\\r\\nFLUSHALL","props":{"k":"*0\r\n"}}
@canary
{"canary":2}



=== TEST 3: I2: a hostile Origin is never echoed
--- more_headers
Origin: https://shop.example"<x>
--- request
GET /cors?l=hostile
--- error_code: 403
--- response_headers
!Access-Control-Allow-Origin
--- response_body
origin not allowed
--- redis_list



=== TEST 4: B2: a trailing slash makes another origin
--- more_headers
Origin: https://shop.example/
--- request
GET /cors?l=slash
--- error_code: 403
--- redis_list



=== TEST 5: B4: an empty Origin
--- more_headers
Origin:
--- request
GET /cors?l=empty
--- error_code: 403
--- redis_list



=== TEST 6: B7: the Origin decides over the Referer
--- more_headers eval
["Origin: https://shop.example\r\nReferer: https://evil.example/",
 "Origin: https://evil.example\r\nReferer: https://shop.example/"]
--- request eval
["GET /cors?l=o1", "GET /cors?l=o2"]
--- error_code eval
[200, 403]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"o1","url":"https://evil.example/","host":"localhost"}', ""]



=== TEST 7: B12: a 415 for an allowed origin carries the CORS headers
--- more_headers
Origin: https://shop.example
Content-Type: text/html
--- request
POST /cors
l=x
--- error_code: 415
--- response_headers
Access-Control-Allow-Origin: https://shop.example
--- redis_list



=== TEST 8: A17: a form sent as text/plain is read as JSON
--- more_headers
Content-Type: text/plain
--- request
POST /ct
t=click
--- error_code: 400
--- response_body
JSON must be an object or an array of objects
--- redis_list



=== TEST 9: C16, D11, F11: malformed values are named by byte
--- more_headers
Content-Type: application/json
--- request eval
['POST /ct
{"t":[1,}', 'POST /ct
{"p":{"x":01}}', 'POST /ct
{"l":"\x41"}', 'POST /ct
{"l":"\u00G1"}', 'POST /ct
{"l":"\u12"}']
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
["malformed JSON at byte 8\n", "malformed JSON at byte 11\n",
 "malformed JSON at byte 7\n", "malformed JSON at byte 10\n",
 "malformed JSON at byte 10\n"]
--- redis_list



=== TEST 10: D14, E2: duplicate "p", an empty "ts" string
--- more_headers
Content-Type: application/json
--- request eval
['POST /ct
{"p":{"a":1},"p":{"b":2}}', 'POST /ct
{"ts":""}']
--- error_code eval
[400, 400]
--- response_body eval
["duplicate key \"p\"\n", "\"ts\" must be a number\n"]
--- redis_list



=== TEST 11: D5: unprintable bytes in a prop name are shown as \xHH
--- request eval
["GET /ct?p.a%00b=1", "GET /ct?p.%22q%5C=1"]
--- error_code eval
[400, 400]
--- response_body eval
["invalid prop name \"a\\x00b\"\n", "invalid prop name \"\\x22q\\x5c\"\n"]
--- redis_list



=== TEST 12: E7, F4: keys are case-sensitive; a percent-encoded key matches
--- request eval
["GET /ct?T=x&L=y", "GET /ct?%6C=x"]
--- error_code eval
[200, 200]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"x","host":"localhost"}']



=== TEST 13: F7, F8: control characters and U+2028/9 come out escaped
--- more_headers
Content-Type: application/json
--- request
POST /ct
{"l":"a\u0000b\u001fc\u007fd","c":"\u2028\u2029"}
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","category":"\u2028\u2029","label":"a\u0000b\u001fc\u007fd","host":"localhost"}



=== TEST 14: F12: a byte order mark before JSON
--- more_headers
Content-Type: application/json
--- request eval
"POST /ct\n\xEF\xBB\xBF{\"l\":\"bom\"}"
--- error_code: 400
--- response_body
malformed JSON at byte 0
--- redis_list



=== TEST 15: G4, E5: an empty object; the same key in two events
--- more_headers
Content-Type: application/json
--- request eval
['POST /ct
{}', 'POST /ct
[{"l":"a"},{"l":"a"}]']
--- error_code eval
[204, 204]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"a","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"a","host":"localhost"}']



=== TEST 16: A4, A5: no known key; a GET body is ignored
--- request eval
["GET /ct?&&&", "GET /ct?l=q\nl=body"]
--- error_code eval
[200, 200]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"q","host":"localhost"}']



=== TEST 17: I5: an event over 4 KB made of Redis protocol, byte for byte
--- redis_setup
cmd RPUSH canary {"canary":3}
--- more_headers
Content-Type: application/json
--- request eval
my $l = '*1\r\n$8\r\nFLUSHALL\r\n' x 50;
my $u = '$5\r\npwned\r\n' x 180;
my $p = CORE::join ',', map { qq{"k$_":"} . ('*0\r\n' x 100) . '"' } 1 .. 8;
"POST /ct\n" . qq~{"l":"$l","u":"$u","p":{$p}}~
--- error_code: 204
--- redis_list eval
my $l = '*1\r\n$8\r\nFLUSHALL\r\n' x 50;
my $u = '$5\r\npwned\r\n' x 180;
my $p = CORE::join ',', map { qq{"k$_":"} . ('*0\r\n' x 100) . '"' } 1 .. 8;
qq~{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"$l","url":"$u",~
. qq~"host":"localhost","props":{$p}}~
. qq~\n\@canary\n{"canary":3}\n~
