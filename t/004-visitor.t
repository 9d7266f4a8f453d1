# The visitor id: cookie set, kept, replaced, its attributes, cookies off,
# and $clicktrack_visitor.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

defaults(
    http_config => <<'_EOC_',
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_ip off;
_EOC_
    no_error_log => "[error]\n",
);

run_tests();

__DATA__

=== TEST 1: no cookie, no v: a new id, set as the default cookie
--- config
    location = /ct { clicktrack_beacon; add_header X-Visitor $clicktrack_visitor; }
--- request
GET /ct?l=new
--- error_code: 200
--- response_headers_like
Set-Cookie: ^ctid=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}; Max-Age=31536000; Path=/; SameSite=Lax$
X-Visitor: ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"new","visitor":"<uuid>","host":"localhost"}



=== TEST 2: a valid cookie is kept: no Set-Cookie, the cookie wins over v
--- config
    location = /ct { clicktrack_beacon; add_header X-Visitor $clicktrack_visitor; }
--- more_headers
Cookie: other=1; ctid=visitor_from_cookie-1; more=2
--- request
GET /ct?l=kept&v=visitor-from-v
--- error_code: 200
--- response_headers
!Set-Cookie
X-Visitor: visitor_from_cookie-1
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"kept","visitor":"visitor_from_cookie-1","host":"localhost"}



=== TEST 3: an invalid cookie is replaced, by v when there is one
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
Cookie: ctid=bad<id>
--- request
GET /ct?l=replaced&v=visitor-from-v
--- error_code: 200
--- response_headers
Set-Cookie: ctid=visitor-from-v; Max-Age=31536000; Path=/; SameSite=Lax
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"replaced","visitor":"visitor-from-v","host":"localhost"}



=== TEST 4: the cookie's attributes
--- config
    location = /ct {
        clicktrack_beacon;
        clicktrack_cookie _vid max_age=30d domain=.example.com path=/app samesite=none secure httponly;
    }
--- request
GET /ct?l=attrs&v=abcdefgh
--- error_code: 200
--- response_headers
Set-Cookie: _vid=abcdefgh; Max-Age=2592000; Domain=.example.com; Path=/app; SameSite=None; Secure; HttpOnly
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"attrs","visitor":"abcdefgh","host":"localhost"}



=== TEST 5: max_age=0 is a session cookie
--- config
    location = /ct { clicktrack_beacon; clicktrack_cookie sid max_age=0 samesite=strict; }
--- request
GET /ct?v=abcdefgh
--- error_code: 200
--- response_headers
Set-Cookie: sid=abcdefgh; Path=/; SameSite=Strict
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","visitor":"abcdefgh","host":"localhost"}



=== TEST 6: cookies off: the visitor is v, or absent; never a cookie
--- config
    location = /ct { clicktrack_beacon; clicktrack_cookie off; add_header X-Visitor "[$clicktrack_visitor]"; }
--- more_headers
Cookie: ctid=visitor_from_cookie-1
--- request eval
["GET /ct?l=with-v&v=visitor-from-v", "GET /ct?l=without-v"]
--- response_headers eval
["!Set-Cookie\nX-Visitor: [visitor-from-v]", "!Set-Cookie\nX-Visitor: []"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"with-v","visitor":"visitor-from-v","host":"localhost"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"without-v","host":"localhost"}']
