# clicktrack_visitor_hash (SPEC section 11): cookieless visitors, a keyed
# hash of the secret, the day, host, address and User-Agent.  The expected
# id is computed here the documented way (HMAC-SHA1, the first 16 bytes in
# hex), so each answer is checked exactly: the same on both workers, on a
# second nginx with the secret, another with another secret or another
# User-Agent, another on another day (the rollups' tz at +14:00 and
# -12:00: two days at any moment); no cookie set; a cookie or a "v" still
# win; nginx -t.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;
use Digest::SHA qw(hmac_sha1_hex);
use POSIX qw(strftime);

our $Secret = 'a-test-secret-of-32-bytes-length';
our $UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko Firefox/120.0';

# the visitor for SECRET, the day at TZ hours east of UTC, User-Agent UA
sub visitor {
    my ($secret, $tz, $ua) = @_;
    my $day = strftime('%Y-%m-%d', gmtime(time + 3600 * ($tz || 0)));

    return substr(hmac_sha1_hex("$day\nlocalhost\n127.0.0.1\n"
                                . ($ua // $UA), $secret), 0, 32);
}

master_on();
workers(2);
repeat_each(1);
no_shuffle();

defaults(
    redis_setup => "cmd FLUSHDB\n",
    no_error_log => "[error]\n",
    http_config => <<"CONF",
    clicktrack_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT;
    clicktrack_visitor_hash $Secret;
    clicktrack_recent off;
    clicktrack_rollup off;
CONF
    config => <<'CONF',
    location = /ct {
        clicktrack_beacon;
        add_header X-Visitor $clicktrack_visitor;
    }
CONF
);

run_tests();

__DATA__

=== TEST 1: no cookie, no v: the day's hash, the same on both workers, no cookie set
--- request eval
[("GET /ct?u=/a") x 8]
--- more_headers eval
[("User-Agent: $main::UA") x 8]
--- response_headers eval
[("X-Visitor: " . main::visitor($main::Secret) . "\n!Set-Cookie") x 8]



=== TEST 2: another User-Agent is another visitor
--- request
GET /ct?u=/a
--- more_headers
User-Agent: Mozilla/5.0 (Macintosh) Safari/605.1.15
--- response_headers eval
"X-Visitor: " . main::visitor($main::Secret, 0,
                              'Mozilla/5.0 (Macintosh) Safari/605.1.15')



=== TEST 3: a valid cookie, or a "v", wins over the hash
--- request eval
["GET /ct?u=/a", "GET /ct?u=/a&v=client-visitor-1"]
--- more_headers eval
["User-Agent: $main::UA\nCookie: ctid=0123456789abcdef", "User-Agent: $main::UA"]
--- response_headers eval
["X-Visitor: 0123456789abcdef", "X-Visitor: client-visitor-1"]



=== TEST 4: a second nginx with the secret gives the same visitor; another secret, or another day (tz), another
The second nginx sends no User-Agent.
--- request
GET /ct?u=/one
--- more_headers eval
"User-Agent: $main::UA"
--- redis_after eval
"nginx2 start clicktrack_visitor_hash=$main::Secret; nginx2 get /ct?u=/two; nginx2 stop; "
. "nginx2 start clicktrack_visitor_hash=another-secret-0123456789; nginx2 get /ct?u=/three; nginx2 stop; "
. "nginx2 start clicktrack_visitor_hash=$main::Secret clicktrack_rollup=ct:east,tz=+14:00; nginx2 get /ct?u=/four; nginx2 stop; "
. "nginx2 start clicktrack_visitor_hash=$main::Secret clicktrack_rollup=ct:west,tz=-12:00; nginx2 get /ct?u=/five; nginx2 stop; "
. "check"
--- redis_list eval
my $v = sub { '"visitor":"' . $_[0] . '"' };
join "\n",
  '{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"/one",'
  . $v->(main::visitor($main::Secret)) . ',"host":"localhost","ip":"127.0.0.0","ua":"<any>"}',
  '{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"/two",'
  . $v->(main::visitor($main::Secret, 0, '')) . ',"host":"localhost","ip":"127.0.0.0"}',
  '{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"/three",'
  . $v->(main::visitor('another-secret-0123456789', 0, '')) . ',"host":"localhost","ip":"127.0.0.0"}',
  '{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"/four",'
  . $v->(main::visitor($main::Secret, 14, '')) . ',"host":"localhost","ip":"127.0.0.0"}',
  '{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"/five",'
  . $v->(main::visitor($main::Secret, -12, '')) . ',"host":"localhost","ip":"127.0.0.0"}'



=== TEST 5: nginx -t: a short secret is refused without showing it; off
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_visitor_hash short-secret;
--- config
    location = /ct { clicktrack_beacon; clicktrack_visitor_hash off; }
--- must_die
--- error_log
"clicktrack_visitor_hash": the secret must be at least 16 bytes (12 given; it is not shown)
--- no_error_log
short-secret



=== TEST 6: off in a location: a new id and its cookie again
--- config
    location = /ct {
        clicktrack_beacon;
        clicktrack_visitor_hash off;
        add_header X-Visitor $clicktrack_visitor;
    }
--- request
GET /ct?u=/a
--- response_headers_like
X-Visitor: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}
Set-Cookie: ctid=.+
