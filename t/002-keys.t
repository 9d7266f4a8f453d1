# Every key rule of SPEC 3: the edges that pass and the first that fails,
# with the 400 naming the key, and nothing pushed for a rejected request.

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
    location = /ct { clicktrack_beacon; clicktrack_recent off; }
_EOC_
    no_error_log => "[error]\n",
);

run_tests();

__DATA__

=== TEST 1: t is folded to lower case; 32 characters pass
--- request
GET /ct?t=Add_To.Cart:V2-abcdefghijklmnopq
--- error_code: 200
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"add_to.cart:v2-abcdefghijklmnopq","host":"localhost"}



=== TEST 2: t of 33 characters: 400
--- request
GET /ct?t=abcdefghijklmnopqrstuvwxyz0123456
--- error_code: 400
--- response_body_like chomp
^invalid "t"
--- redis_list



=== TEST 3: t with a character outside [a-z0-9_.:-]: 400
--- request
GET /ct?t=click%20me
--- error_code: 400
--- response_body_like chomp
^invalid "t"
--- redis_list



=== TEST 4: u of 2048 bytes passes, 2049 fails
--- request eval
["GET /ct?u=" . ("a" x 2048), "GET /ct?u=" . ("a" x 2049)]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^GIF/, qr/^"u" over 2048 bytes$/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"' . ("a" x 2048) . '","host":"localhost"}', ""]



=== TEST 5: r over 2048 bytes: 400
--- request eval
"GET /ct?r=" . ("%41" x 2049)
--- error_code: 400
--- response_body_like chomp
^"r" over 2048 bytes
--- redis_list



=== TEST 6: l of 1024 bytes passes, 1025 fails
--- request eval
["GET /ct?l=" . ("b" x 1024), "GET /ct?l=" . ("b" x 1025)]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^GIF/, qr/^"l" over 1024 bytes$/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"' . ("b" x 1024) . '","host":"localhost"}', ""]



=== TEST 7: c of 64 bytes passes, 65 fails
--- request eval
["GET /ct?c=" . ("c" x 64), "GET /ct?c=" . ("c" x 65)]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^GIF/, qr/^"c" over 64 bytes$/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","category":"' . ("c" x 64) . '","host":"localhost"}', ""]



=== TEST 8: v of 8 and 64 characters pass; 7 and 65 fail
--- request eval
["GET /ct?v=abcd-_12", "GET /ct?v=" . ("v" x 64), "GET /ct?v=abcdefg", "GET /ct?v=" . ("v" x 65), "GET /ct?v=abc.defgh"]
--- error_code eval
[200, 200, 400, 400, 400]
--- response_body_like eval
[qr/^GIF/, qr/^GIF/, qr/^invalid "v"/, qr/^invalid "v"/, qr/^invalid "v"/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","visitor":"abcd-_12","host":"localhost"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","visitor":"' . ("v" x 64) . '","host":"localhost"}', "", "", ""]



=== TEST 9: s follows the id rule
--- request eval
["GET /ct?s=sess_0001", "GET /ct?s=short"]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^GIF/, qr/^invalid "s"/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","session":"sess_0001","host":"localhost"}', ""]



=== TEST 10: ts: 1 and 2^53-1 pass; 0, 2^53, negative, fractional fail
--- request eval
["GET /ct?ts=1", "GET /ct?ts=9007199254740991", "GET /ct?ts=0", "GET /ct?ts=9007199254740992", "GET /ct?ts=-5", "GET /ct?ts=1.5", "GET /ct?ts=99999999999999999999999"]
--- error_code eval
[200, 200, 400, 400, 400, 400, 400]
--- response_body_like eval
[qr/^GIF/, qr/^GIF/, qr/^invalid "ts"/, qr/^invalid "ts"/, qr/^invalid "ts"/, qr/^invalid "ts"/, qr/^invalid "ts"/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","client_ts":1,"host":"localhost"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","client_ts":9007199254740991,"host":"localhost"}', "", "", "", "", ""]



=== TEST 11: props from the query string are strings; 20 pass
--- request eval
"GET /ct?" . CORE::join("&", map { "p.k$_=$_" } 1 .. 20)
--- error_code: 200
--- redis_list eval
'{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost","props":{' . CORE::join(",", map { "\"k$_\":\"$_\"" } 1 .. 20) . '}}'



=== TEST 12: 21 props: 400
--- request eval
"GET /ct?" . CORE::join("&", map { "p.k$_=$_" } 1 .. 21)
--- error_code: 400
--- response_body_like chomp
^too many props
--- redis_list



=== TEST 13: a prop name outside [A-Za-z0-9_.-] or over 64: 400
--- request eval
["GET /ct?p.a%20b=1", "GET /ct?p." . ("n" x 65) . "=1", "GET /ct?p.=1", "GET /ct?p." . ("n" x 64) . "=1"]
--- error_code eval
[400, 400, 400, 200]
--- response_body_like eval
[qr/^invalid prop name/, qr/^invalid prop name/, qr/^invalid prop name/, qr/^GIF/]
--- redis_list eval
["", "", "", '{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost","props":{"' . ("n" x 64) . '":"1"}}']



=== TEST 14: a prop value of 512 bytes passes, 513 fails
--- request eval
["GET /ct?p.x=" . ("y" x 512), "GET /ct?p.x=" . ("y" x 513)]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^GIF/, qr/^prop "x" over 512 bytes$/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost","props":{"x":"' . ("y" x 512) . '"}}', ""]



=== TEST 15: JSON props keep numbers and booleans; null is left out
--- more_headers
Content-Type: application/json
--- request
POST /ct
{"t":"purchase","p":{"plan":"pro","items":3,"total":-12.5e2,"trial":false,"gift":true,"note":null}}
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"purchase","host":"localhost","props":{"plan":"pro","items":3,"total":-12.5e2,"trial":false,"gift":true}}



=== TEST 16: a JSON prop that is an object: 400
--- more_headers
Content-Type: application/json
--- request
POST /ct
{"p":{"deep":{"x":1}}}
--- error_code: 400
--- response_body_like chomp
^prop "deep" must be a string, number or boolean
--- redis_list



=== TEST 17: a JSON key of the wrong type: 400 naming it
--- more_headers
Content-Type: application/json
--- request eval
["POST /ct\n{\"t\":5}", "POST /ct\n{\"u\":[\"x\"]}", "POST /ct\n{\"ts\":\"123\"}", "POST /ct\n{\"p\":[1]}"]
--- error_code eval
[400, 400, 400, 400]
--- response_body_like eval
[qr/^"t" must be a string/, qr/^"u" must be a string/, qr/^"ts" must be a number/, qr/^"p" must be an object/]
--- redis_list eval
["", "", "", ""]



=== TEST 18: malformed percent-encoding: 400 naming the key
--- request eval
["GET /ct?l=%zz", "GET /ct?u=abc%4"]
--- error_code eval
[400, 400]
--- response_body_like eval
[qr/^malformed percent-encoding in "l"/, qr/^malformed percent-encoding in "u"/]
--- redis_list eval
["", ""]



=== TEST 19: malformed JSON: 400 with the offset
--- more_headers
Content-Type: application/json
--- request eval
["POST /ct\n{\"t\":\"click\"", "POST /ct\n{\"t\":\"click\"} x", "POST /ct\n{t:1}", "POST /ct\n\"just a string\""]
--- error_code eval
[400, 400, 400, 400]
--- response_body_like eval
[qr/^malformed JSON at byte \d+$/, qr/^malformed JSON at byte \d+$/, qr/^malformed JSON at byte \d+$/, qr/./]
--- redis_list eval
["", "", "", ""]



=== TEST 20: unknown keys and the "_" cache buster are ignored
--- request
GET /ct?t=click&utm_source=x&_=12345&foo
--- error_code: 200
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"click","host":"localhost"}



=== TEST 21: a key given twice: 400
--- request
GET /ct?l=a&l=b
--- error_code: 400
--- response_body_like chomp
^duplicate key "l"
--- redis_list



=== TEST 22: an empty value is an absent key (t falls back to pageview)
--- request
GET /ct?t=&l=&u=https%3A%2F%2Fexample.com%2F
--- error_code: 200
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"https://example.com/","host":"localhost"}



=== TEST 23: a batch over clicktrack_max_batch is rejected whole
--- config
    location = /ct { clicktrack_beacon; clicktrack_max_batch 3; }
--- more_headers
Content-Type: application/json
--- request
POST /ct
[{"l":"1"},{"l":"2"},{"l":"3"},{"l":"4"}]
--- error_code: 400
--- response_body_like chomp
^batch over 3 events
--- redis_list



=== TEST 24: a batch with one bad event is rejected whole, naming it
--- more_headers
Content-Type: application/json
--- request
POST /ct
[{"l":"1"},{"l":"2"},{"t":"BAD TYPE"}]
--- error_code: 400
--- response_body_like chomp
^event 3: invalid "t"
--- redis_list



=== TEST 25: a batch at clicktrack_max_batch is accepted whole
--- config
    location = /ct { clicktrack_beacon; clicktrack_max_batch 3; }
--- more_headers
Content-Type: application/json
--- request
POST /ct
[{"l":"1"},{"l":"2"},{"l":"3"}]
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"1","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"2","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"3","host":"localhost"}



=== TEST 26: an empty batch and a non-object element: 400
--- more_headers
Content-Type: application/json
--- request eval
["POST /ct\n[]", "POST /ct\n[{\"l\":\"1\"},2]"]
--- error_code eval
[400, 400]
--- response_body_like eval
[qr/^empty batch$/, qr/^event 2 is not an object$/]
--- redis_list eval
["", ""]



=== TEST 27: a form body follows the same rules as the query string
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request
POST /ct
t=Click&l=%E2%9C%93+ok&p.n=7
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"click","label":"✓ ok","host":"localhost","props":{"n":"7"}}



=== TEST 28: JSON string escapes, surrogate pairs and a lone surrogate
--- more_headers
Content-Type: application/json
--- request
POST /ct
{"l":"a\"b\\c\/d\u00e9\ud83d\ude00\ud800x\n"}
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"a\"b\\c/dé😀�x\n","host":"localhost"}



=== TEST 29: ts in a query may have leading zeros; JSON forbids them
--- more_headers eval
["", "Content-Type: application/json"]
--- request eval
["GET /ct?ts=007", "POST /ct\n{\"ts\":01}"]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^GIF/, qr/^invalid "ts"/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","client_ts":7,"host":"localhost"}', ""]



=== TEST 30: null is absent; an empty value does not make a key a duplicate
--- more_headers eval
["Content-Type: application/json", ""]
--- request eval
["POST /ct\n{\"l\":null,\"t\":null,\"u\":\"x\"}", "GET /ct?u=&u=y"]
--- error_code eval
[204, 200]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"x","host":"localhost"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"y","host":"localhost"}']



=== TEST 31: malformed percent-encoding in a key; a prop twice
--- request eval
["GET /ct?%zz=1", "GET /ct?p.a=1&p.a=2"]
--- error_code eval
[400, 400]
--- response_body_like eval
[qr/^malformed percent-encoding in key$/, qr/^duplicate prop "a"$/]
--- redis_list eval
["", ""]



=== TEST 32: CR LF in a value stays in the record, escaped
--- request
GET /ct?l=crlf%0D%0AX-Injected:%201
--- error_code: 200
--- response_headers
!X-Injected
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"crlf\r\nX-Injected: 1","host":"localhost"}



=== TEST 33: a raw tab in a JSON string, a trailing comma in a batch, nesting past 32
--- more_headers
Content-Type: application/json
--- request eval
["POST /ct\n{\"l\":\"a\tb\"}", "POST /ct\n[{},]", "POST /ct\n{\"x\":" . ("[" x 40) . ("]" x 40) . "}", "POST /ct\n{\"x\":" . ("[" x 20) . ("]" x 20) . "}"]
--- error_code eval
[400, 400, 400, 204]
--- response_body_like eval
[qr/^malformed JSON at byte 7$/, qr/^malformed JSON at byte 4$/, qr/^JSON nested too deeply$/, qr/^$/]
--- redis_list eval
["", "", "", '{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost"}']



=== TEST 34: a Referer over 2048 bytes becomes a url of its first 2048 bytes
--- more_headers eval
"Referer: https://e.example/" . ("r" x 3000)
--- request
GET /ct?t=click
--- error_code: 200
--- redis_list eval
'{"id":"<uuid>","ts":"<ts>","type":"click","url":"https://e.example/' . ("r" x (2048 - 18)) . '","host":"localhost"}'
