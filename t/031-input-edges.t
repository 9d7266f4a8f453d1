# The rest of docs/bad-input.md's rows: each answer (status, headers, body)
# and what reached Redis (nothing, or the exact record).  Bodies that are
# empty, blank or sent slowly; the order in which faults are named; two
# Origin headers; limits counted before escaping; hostile headers; the
# visitor cookie twice; a refused XADD; 200 good and bad requests on one
# connection.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

defaults(
    http_config => <<'_EOC_',
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
_EOC_
    config => <<'_EOC_',
    location = /ct {
        clicktrack_beacon;
        clicktrack_cookie off;
        clicktrack_ip off;
    }
    location = /def {
        clicktrack_beacon;
    }
    location = /one {
        clicktrack_beacon;
        clicktrack_cookie off;
        clicktrack_ip off;
        clicktrack_max_batch 1;
    }
    location = /cmbs {
        clicktrack_beacon;
        clicktrack_cookie off;
        clicktrack_ip off;
        clicktrack_max_body 1k;
        client_max_body_size 100;
    }
    location = /cors {
        clicktrack_beacon;
        clicktrack_cookie off;
        clicktrack_ip off;
        clicktrack_allow_origin https://shop.example;
    }
    location = /slow {
        clicktrack_beacon;
        clicktrack_cookie off;
        clicktrack_ip off;
        client_body_timeout 1s;
    }
    location = /status {
        clicktrack_status;
    }
_EOC_
    no_error_log => "[error]\n",
);


# I6: 200 requests for one connection, a good one and a bad one in turn:
# [request, Content-Type, status, body]

sub mixed {
    my @r;
    my $form = 'application/x-www-form-urlencoded';
    my $json = 'application/json';
    my $gif = qr/^GIF89a/;
    my $none = qr/^$/;

    my @bad = (
        ["GET /ct?l=%zz", '', 400,
         qr/^malformed percent-encoding in "l"\n$/],
        [qq{POST /ct\n[{"l":"x"},{"t":"BAD X"}]}, $json, 400,
         qr/^event 2: invalid "t"/],
        ["POST /ct\n" . q({"l":"cut), $json, 400,
         qr/^malformed JSON at byte 9\n$/],
        ["POST /ct\nl=x", 'text/html', 415, qr/^Content-Type must be /],
        ["PUT /ct?l=x\nl=x", $form, 405, qr/^method not allowed\n$/],
    );

    for my $i (1 .. 100) {
        push @r, $i % 3 == 1 ? ["GET /ct?l=good-$i", '', 200, $gif]
               : $i % 3 == 2 ? ["POST /ct\nl=good-$i", $form, 204, $none]
               : [qq{POST /ct\n[{"l":"good-$i"}]}, $json, 204, $none];

        push @r, $bad[$i % 5];
    }

    return @r;
}


run_tests();

__DATA__

=== TEST 1: A6: a POST's query string is ignored, malformed or not; the body counts
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request eval
["POST /ct?t=BAD%20X\nl=body", "POST /ct?t=click&l=query\nl=body2"]
--- error_code eval
[204, 204]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"body","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"body2","host":"localhost"}']



=== TEST 2: A13: a Content-Length over client_max_body_size gets nginx's own 413 page, not counted
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request eval
"POST /cmbs\nl=" . ("x" x 198)
--- error_code: 413
--- response_headers
Content-Type: text/html
!Cache-Control
--- response_body_like chomp
<title>413 Request Entity Too Large</title>
--- redis_after
check; counters /status
--- counters
accepted=0
rejected=0
--- redis_list
--- error_log
client intended to send too large body: 200 bytes
--- no_error_log
[crit]
[alert]



=== TEST 3: A14: no body and no Content-Length; chunked with only the last chunk
--- more_headers eval
["Content-Type: application/json",
 "Content-Type: application/json\nTransfer-Encoding: chunked"]
--- request eval
["POST /ct", "POST /ct\n0\r\n\r\n"]
--- error_code eval
[400, 400]
--- response_body eval
["empty body\n", "empty body\n"]
--- redis_list



=== TEST 4: A15: a JSON body of only whitespace
--- raw_request eval
"POST /ct HTTP/1.1\r
Host: localhost\r
Content-Type: application/json\r
Content-Length: 3\r
Connection: close\r
\r
   "
--- error_code: 400
--- response_body
malformed JSON at byte 3
--- redis_list



=== TEST 5: A16: JSON sent as a form is one unknown key: a bare pageview
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request
POST /ct
{"t":"click"}
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost"}



=== TEST 6: A18: raw CR LF after a form's last value are kept as sent
--- raw_request eval
"POST /ct HTTP/1.1\r
Host: localhost\r
Content-Type: application/x-www-form-urlencoded\r
Content-Length: 13\r
Connection: close\r
\r
t=click&l=x\r\n"
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"click","label":"x\r\n","host":"localhost"}



=== TEST 7: A19: a body that stops: closed after client_body_timeout, unanswered, nothing recorded, others not delayed; a trickle is waited for
--- request
GET /ct?l=before
--- redis_after
post_open stalled /slow 20 l=stal; load 10 /ct?t=meanwhile max_ms 300; post_answer stalled none 0.9 2; post_open trickle /slow 8 l=; post_send trickle tricky 300; post_answer trickle 204 0 0.5; check; counters /status
--- redis_list eval
CORE::join "\n",
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"before","host":"localhost"}',
 (map { '{"id":"<uuid>","ts":"<ts>","type":"meanwhile","label":"load-' . $_
        . '","host":"localhost"}' } 1 .. 10),
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"tricky","host":"localhost"}'
--- counters
accepted=12
rejected=0



=== TEST 8: B8: of two Origin headers the first decides
--- more_headers eval
["Origin: https://shop.example\nOrigin: https://evil.example",
 "Origin: https://evil.example\nOrigin: https://shop.example"]
--- request eval
["GET /cors?l=b8a", "GET /cors?l=b8b"]
--- error_code eval
[200, 403]
--- response_headers eval
["Access-Control-Allow-Origin: https://shop.example",
 "!Access-Control-Allow-Origin"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"b8a","host":"localhost"}',
 ""]



=== TEST 9: B9: a Referer without "://" is no origin: accepted without CORS headers, used as url
--- more_headers eval
["Referer: /just/a/path", "Referer: garbage"]
--- request eval
["GET /cors?l=b9a", "GET /cors?l=b9b"]
--- error_code eval
[200, 200]
--- response_headers eval
["!Access-Control-Allow-Origin\n!Vary", "!Access-Control-Allow-Origin\n!Vary"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"b9a","url":"/just/a/path","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"b9b","url":"garbage","host":"localhost"}']



=== TEST 10: B10, A1: 405 beats 403, 403 beats a bot, a bad body and a bad type; no CORS on a 405
--- more_headers eval
["Origin: https://evil.example",
 "Origin: https://evil.example\nUser-Agent: Googlebot/2.1",
 "Origin: https://evil.example\nContent-Type: application/json",
 "Origin: https://evil.example\nContent-Type: text/html",
 "Origin: https://shop.example\nContent-Type: application/x-www-form-urlencoded"]
--- request eval
["PUT /cors?l=x", "GET /cors?l=bot", "POST /cors\n{\"l\":", "POST /cors\nl=x",
 "PUT /cors\nl=x"]
--- error_code eval
[405, 403, 403, 403, 405]
--- response_headers eval
["Allow: GET, HEAD, POST, OPTIONS\n!Access-Control-Allow-Origin",
 "!X-Clicktrack-Dropped\n!Access-Control-Allow-Origin",
 "!Access-Control-Allow-Origin",
 "!Access-Control-Allow-Origin",
 "Allow: GET, HEAD, POST, OPTIONS\n!Access-Control-Allow-Origin\n!Vary"]
--- response_body eval
["method not allowed\n", "origin not allowed\n", "origin not allowed\n",
 "origin not allowed\n", "method not allowed\n"]
--- redis_list



=== TEST 11: C8: limits count input bytes: 2048 bytes with %FF make a 2050-byte url
--- request eval
["GET /ct?u=%FF" . ("a" x 2047), "GET /ct?u=%FF" . ("a" x 2048)]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^GIF89a/, qr/^"u" over 2048 bytes\n$/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"' . "\xef\xbf\xbd"
 . ("a" x 2047) . '","host":"localhost"}', ""]



=== TEST 12: C13: ts as a JSON number: only an integer from 1 to 2^53 - 1
--- more_headers
Content-Type: application/json
--- request eval
[map { "POST /ct\n{\"ts\":$_}" }
 qw(9007199254740991 1.5 1.0 1e3 1E3 -1 0 -0 9007199254740992)]
--- error_code eval
[204, (400) x 8]
--- response_body eval
["", ("invalid \"ts\": integer milliseconds, 1 <= ts < 2^53\n") x 8]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","client_ts":9007199254740991,"host":"localhost"}',
 ("") x 8]



=== TEST 13: D13: "p" null or empty: accepted, no props
--- more_headers
Content-Type: application/json
--- request eval
["POST /ct\n{\"l\":\"pnull\",\"p\":null}", "POST /ct\n{\"l\":\"pempty\",\"p\":{}}"]
--- error_code eval
[204, 204]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"pnull","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"pempty","host":"localhost"}']



=== TEST 14: D15: "p=1" and "p." in a query, "p.x" in JSON are unknown keys
--- more_headers eval
["", "Content-Type: application/json"]
--- request eval
["GET /ct?l=d15q&p=1&p.", "POST /ct\n{\"l\":\"d15j\",\"p.x\":\"1\"}"]
--- error_code eval
[200, 204]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"d15q","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"d15j","host":"localhost"}']



=== TEST 15: G11: one object is one event, whatever clicktrack_max_batch; an array counts
--- more_headers
Content-Type: application/json
--- request eval
["POST /one\n{\"l\":\"x\"}", "POST /one\n[{\"l\":\"a\"},{\"l\":\"b\"}]"]
--- error_code eval
[204, 400]
--- response_body eval
["", "batch over 1 events\n"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"x","host":"localhost"}', ""]



=== TEST 16: H3: an invalid v is refused even when the cookie decides
--- more_headers eval
["Cookie: ctid=bad<id>", "Cookie: ctid=visitor_from_cookie-1"]
--- request eval
["GET /def?l=h3a&v=bad", "GET /def?l=h3b&v=bad"]
--- error_code eval
[400, 400]
--- response_headers eval
["!Set-Cookie", "!Set-Cookie"]
--- response_body eval
["invalid \"v\": 8-64 of [A-Za-z0-9_-]\n", "invalid \"v\": 8-64 of [A-Za-z0-9_-]\n"]
--- redis_list



=== TEST 17: H4, H2: the cookie name twice: only the first counts, so a bad first one is replaced by a new UUID, as a bad single one is
--- more_headers eval
["Cookie: ctid=bad!; ctid=goodgood1", "Cookie: ctid=bad!\nCookie: ctid=goodgood1",
 "Cookie: ctid=bad<id>"]
--- request eval
["GET /def?l=h4a", "GET /def?l=h4b", "GET /def?l=h2"]
--- error_code eval
[200, 200, 200]
--- response_headers_like eval
[("Set-Cookie: ^ctid=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}; Max-Age=31536000; Path=/; SameSite=Lax\$") x 3]
--- redis_list eval
[map { '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"' . $_
       . '","visitor":"<uuid>","host":"localhost","ip":"127.0.0.0"}' }
 qw(h4a h4b h2)]



=== TEST 18: H6: a hostile User-Agent and Host are recorded escaped; the host folded, without its port
(nginx 1.22.1 passes the Host with a '"' to the module; 1.30 and 1.31
answer it 400 themselves, docs/compatibility.md: then nothing is recorded
for it, which nginx_may_refuse checks instead of its record)
--- more_headers eval
["User-Agent: Mozilla \"quoted\" \\ \x01 \xff", "Host: a\"b",
 "Host: EXAMPLE.com:8080"]
--- request eval
["GET /ct?l=ua", "GET /ct?l=h1", "GET /ct?l=h2"]
--- error_code_like eval
["^200\$", "^(?:200|400)\$", "^200\$"]
--- nginx_may_refuse eval
[0, 1, 0]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"ua","host":"localhost","ua":"Mozilla \\"quoted\\" \\\\ \\u0001 ' . "\xef\xbf\xbd" . '"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"h1","host":"a\\"b"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"h2","host":"example.com"}']



=== TEST 19: I6: 200 requests on one connection, half of them bad: exactly the 100 good events
--- mixed eval
[main::mixed()]
--- request
GET /status
--- redis_after
keepalive mixed; counters /status
--- counters
accepted=100
rejected=100
--- redis_list eval
CORE::join "\n", map { '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"good-'
                 . $_ . '","host":"localhost"}' } 1 .. 100



=== TEST 20: K2: the stream key of another type: XADD refused, counted, logged at a rate; the list has every event
--- redis_setup
cmd SET clicktrack:recent x
--- more_headers
Content-Type: application/json
--- request
POST /ct
[{"l":"k1"},{"l":"k2"},{"l":"k3"},{"l":"k4"},{"l":"k5"}]
--- error_code: 204
--- redis_after
check; counters /status; log_lines XADD: < 3
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"k1","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"k2","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"k3","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"k4","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"k5","host":"localhost"}
--- counters
accepted=5
pushed=5
redis_errors=5
queued=0
in_flight=0
--- error_log
redis refused XADD: WRONGTYPE
--- no_error_log
[crit]
[alert]



=== TEST 21: A7: an empty Content-Type is no type
--- more_headers
Content-Type:
--- request
POST /ct
l=x
--- error_code: 415
--- response_body
Content-Type must be application/x-www-form-urlencoded, text/plain or application/json
--- redis_list



=== TEST 22: C7: "c" is counted in bytes: 32 two-byte characters pass, one byte more does not
--- request eval
["GET /ct?c=" . ("%C3%A9" x 32), "GET /ct?c=" . ("%C3%A9" x 32) . "x"]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^GIF89a/, qr/^"c" over 64 bytes\n$/]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","category":"'
 . ("\xc3\xa9" x 32) . '","host":"localhost"}', ""]



=== TEST 23: D1, D2, D3, D5, D7, D10: the prop rules in JSON
--- more_headers
Content-Type: application/json
--- request eval
my $props = sub { CORE::join ",", map { qq{"p$_":$_} } 1 .. $_[0] };
[map { "POST /ct\n$_" }
 '{"p":{' . $props->(20) . '}}', '{"p":{' . $props->(21) . '}}',
 '{"p":{"a b":1}}', '{"p":{"":1}}', '{"p":{"a\u0000":1}}',
 "{\"p\":{\"a\xff\":1}}", '{"p":{"a":1,"a":2}}', '{"p":{"a":[1]}}']
--- error_code eval
[204, (400) x 7]
--- response_body eval
["", "too many props (max 20)\n", "invalid prop name \"a b\"\n",
 "invalid prop name \"\"\n", "invalid prop name \"a\\x00\"\n",
 "invalid prop name \"a\\xff\"\n", "duplicate prop \"a\"\n",
 "prop \"a\" must be a string, number or boolean\n"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost","props":{'
 . CORE::join(",", map { qq{"p$_":$_} } 1 .. 20) . '}}', ("") x 7]



=== TEST 24: D8: empty and null prop values are left out, unchecked, not duplicates
--- more_headers eval
["", "", "Content-Type: application/json"]
--- request eval
["GET /ct?p.a=&p.a=2", "GET /ct?l=d8q&p.a%20b=",
 "POST /ct\n{\"l\":\"d8j\",\"p\":{\"bad name\":null,\"e\":\"\"}}"]
--- error_code eval
[200, 200, 204]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost","props":{"a":"2"}}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"d8q","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"d8j","host":"localhost"}']



=== TEST 25: E3: a known key twice, in a form, in JSON, spelled two ways
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded",
 "Content-Type: application/json", "", "",
 "Content-Type: application/json"]
--- request eval
["POST /ct\nl=a&l=b", "POST /ct\n{\"l\":\"a\",\"l\":\"b\"}",
 "GET /ct?ts=1&ts=2", "GET /ct?l=a&%6C=b",
 "POST /ct\n{\"\\u006c\":\"a\",\"l\":\"b\"}"]
--- error_code eval
[(400) x 5]
--- response_body eval
["duplicate key \"l\"\n", "duplicate key \"l\"\n", "duplicate key \"ts\"\n",
 "duplicate key \"l\"\n", "duplicate key \"l\"\n"]
--- redis_list



=== TEST 26: E4, E6, F3: an empty or null first copy; bad encoding in an unknown key's value; "+" and "%2B"
--- more_headers eval
["Content-Type: application/json", "Content-Type: application/json", "",
 ""]
--- request eval
["POST /ct\n{\"l\":\"\",\"l\":\"e4a\"}", "POST /ct\n{\"l\":null,\"l\":\"e4b\"}",
 "GET /ct?zz=%zz&_=%&l=e6", "GET /ct?l=a+b%2Bc"]
--- error_code eval
[204, 204, 200, 200]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"e4a","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"e4b","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"e6","host":"localhost"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"a b+c","host":"localhost"}']



=== TEST 27: F5: one U+FFFD per maximal invalid subsequence, encoded or raw
--- more_headers eval
[("") x 5, "Content-Type: application/json"]
--- request eval
["GET /ct?l=%C0%AF", "GET /ct?l=%E2%82", "GET /ct?l=%ED%A0%80",
 "GET /ct?l=%F4%90%80%80", "GET /ct?l=a\xffb",
 "POST /ct\n{\"l\":\"a\xffb\xc3(\"}"]
--- error_code eval
[200, 200, 200, 200, 200, 204]
--- redis_list eval
my $r = "\xef\xbf\xbd";
[map { '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"' . $_
       . '","host":"localhost"}' }
 $r x 2, $r, $r x 3, $r x 4, "a${r}b", "a${r}b$r("]



=== TEST 28: G10: nesting at its exact edge, 32 levels, in arrays, objects and a batch
--- more_headers
Content-Type: application/json
--- request eval
my $arrays = sub { '{"x":' . ("[" x $_[0]) . ("]" x $_[0]) . '}' };
my $objects = sub { ('{"a":' x $_[0]) . "1" . ("}" x $_[0]) };
[map { "POST /ct\n$_" }
 $arrays->(31), $arrays->(32), $objects->(32), $objects->(33),
 "[" . $arrays->(30) . "]", "[" . $arrays->(31) . "]"]
--- error_code eval
[204, 400, 204, 400, 204, 400]
--- response_body eval
["", "JSON nested too deeply\n", "", "JSON nested too deeply\n", "",
 "event 1: JSON nested too deeply\n"]
--- redis_list eval
my $bare = '{"id":"<uuid>","ts":"<ts>","type":"pageview","host":"localhost"}';
[$bare, "", $bare, "", $bare, ""]



=== TEST 29: H5: a Referer cut at 2048 bytes never splits a UTF-8 sequence: the cut goes back to where it starts; stray continuation bytes stay invalid
--- more_headers eval
["Referer: https://e.example/" . ("r" x 2029) . "\xc3\xa9",
 "Referer: https://e.example/" . ("r" x 2028) . "\xf0\x9f\x98\x80",
 "Referer: https://e.example/" . ("r" x 2030) . "\xc3\xa9",
 "Referer: https://e.example/" . ("r" x 2028) . "\x80\x80\x80\x80\x80"]
--- request eval
["GET /ct?l=h5", "GET /ct?l=h5", "GET /ct?l=h5", "GET /ct?l=h5"]
--- error_code eval
[200, 200, 200, 200]
--- redis_list eval
my $e = '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"h5",'
        . '"url":"https://e.example/';
[$e . ("r" x 2029) . '","host":"localhost"}',
 $e . ("r" x 2028) . '","host":"localhost"}',
 $e . ("r" x 2030) . '","host":"localhost"}',
 $e . ("r" x 2028) . ("\xef\xbf\xbd" x 2) . '","host":"localhost"}']
