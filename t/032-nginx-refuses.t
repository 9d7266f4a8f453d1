# docs/bad-input.md section J: requests nginx itself refuses before the
# module runs.  Each gets nginx's own HTML page, is not counted by the
# module, and records nothing.

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
    location = /status {
        clicktrack_status;
    }
_EOC_
    redis_after => "check; counters /status",
    counters => "accepted=0\nrejected=0\nfiltered=0",
    redis_list => '',
    no_error_log => "[crit]\n[alert]\n",
);


# one raw request line and its headers, closing the connection
sub raw {
    my ($line, @headers) = @_;

    return CORE::join "\r\n", $line, "Host: localhost", @headers,
                              "Connection: close", "", "";
}


run_tests();

__DATA__

=== TEST 1: J1: TRACE gets nginx's 405 page, with no Allow header
--- raw_request eval
main::raw("TRACE /ct?l=x HTTP/1.1")
--- error_code: 405
--- response_headers
Content-Type: text/html
!Allow
!Cache-Control
--- response_body_like chomp
<title>405 Not Allowed</title>



=== TEST 2: J1: CONNECT gets nginx's 405 page (400 from newer nginx), with no Allow header
(nginx 1.22.1 answers 405; 1.30 and 1.31 answer 400 as they parse the
request line, docs/compatibility.md: either is nginx's, not the module's)
--- raw_request eval
main::raw("CONNECT /ct?l=x HTTP/1.1")
--- error_code_like: ^(?:405|400)$
--- response_headers
Content-Type: text/html
!Allow
--- response_body_like chomp
<title>(?:405 Not Allowed|400 Bad Request)</title>



=== TEST 3: J2: a method in lower case gets nginx's 400 page
--- raw_request eval
main::raw("get /ct?l=x HTTP/1.1")
--- error_code: 400
--- response_headers
Content-Type: text/html
--- response_body_like chomp
<title>400 Bad Request</title>



=== TEST 4: J3: a raw NUL in the query gets nginx's 400 page
--- raw_request eval
main::raw("GET /ct?l=a\x00b HTTP/1.1")
--- error_code: 400
--- response_body_like chomp
<title>400 Bad Request</title>



=== TEST 5: J3: a raw 0x01 in the query gets nginx's 400 page
--- raw_request eval
main::raw("GET /ct?l=a\x01b HTTP/1.1")
--- error_code: 400
--- response_body_like chomp
<title>400 Bad Request</title>



=== TEST 6: J3: a raw TAB in the query gets nginx's 400 page
--- raw_request eval
main::raw("GET /ct?l=a\tb HTTP/1.1")
--- error_code: 400
--- response_body_like chomp
<title>400 Bad Request</title>



=== TEST 7: J3: a raw DEL in the query gets nginx's 400 page
--- raw_request eval
main::raw("GET /ct?l=a\x7fb HTTP/1.1")
--- error_code: 400
--- response_body_like chomp
<title>400 Bad Request</title>



=== TEST 8: J4: a 9000-byte query, over large_client_header_buffers, gets nginx's 414 page
--- raw_request eval
main::raw("GET /ct?l=" . ("x" x 9000) . " HTTP/1.1")
--- error_code: 414
--- response_headers
Content-Type: text/html
--- response_body_like chomp
<title>414 Request-URI Too Large</title>



=== TEST 9: J5: a 9000-byte Referer, over large_client_header_buffers, gets nginx's 400 page
--- raw_request eval
main::raw("GET /ct?l=x HTTP/1.1", "Referer: https://example.com/" . ("x" x 9000))
--- error_code: 400
--- response_headers
Content-Type: text/html
--- response_body_like chomp
<title>400 Request Header Or Cookie Too Large</title>



=== TEST 10: J6: a chunk size that is not hexadecimal gets nginx's 400 page
--- raw_request eval
main::raw("POST /ct HTTP/1.1", "Content-Type: application/x-www-form-urlencoded",
          "Transfer-Encoding: chunked") . "zz\r\nl=x\r\n0\r\n\r\n"
--- error_code: 400
--- response_headers
Content-Type: text/html
--- response_body_like chomp
<title>400 Bad Request</title>
--- error_log
client sent invalid chunked body
