# clicktrack_dashboard (SPEC 8): one self-contained page with its stream
# URI and, for the overview, its stats URI; an ETag and 304, GET and HEAD
# only.  The browser tests are in
# t/browser/.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;
use Compress::Zlib ();

repeat_each(1);
no_shuffle();

# the committed header is the page, as util/embed.pl makes it
my $made = `perl util/embed.pl ngx_http_clicktrack_dashboard_page src/dashboard/dashboard.html`;
open my $fh, '<', 'src/dashboard/dashboard.html.h' or die "$!";
my $committed = do { local $/; <$fh> };
Test::More::ok($made eq $committed, 'src/dashboard/dashboard.html.h is up '
               . 'to date (util/embed.pl ngx_http_clicktrack_dashboard_page '
               . 'src/dashboard/dashboard.html > src/dashboard/dashboard.html.h)');

# the page loads nothing from elsewhere and writes no markup from data
open $fh, '<', 'src/dashboard/dashboard.html' or die "$!";
my $page = do { local $/; <$fh> };
Test::More::unlike($page, qr/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/,
                   'the page never turns data into markup');
Test::More::unlike($page, qr/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i,
                   'the page loads no external resource');

# what the server must send for /clicktrack/stream: the page, its ETag
($::body = $page) =~ s/\@STREAM_URI\@/\/clicktrack\/stream/;
$::body =~ s/\@STATS_URI\@//;
$::length = length $::body;
$::etag = sprintf '"ct-%08x-%d"', Compress::Zlib::crc32($::body), $::length;

defaults(
    config => <<'CONF',
    location = /dash { clicktrack_dashboard /clicktrack/stream; }
CONF
);

run_tests();

__DATA__

=== TEST 1: the page, its headers, the stream URI in it
--- request
GET /dash
--- response_headers eval
"Content-Type: text/html; charset=utf-8
ETag: $::etag
Content-Length: $::length
Cache-Control: no-cache
X-Frame-Options: DENY
X-Content-Type-Options: nosniff"
--- response_body eval
$::body



=== TEST 2: If-None-Match with its ETag, or *: 304 and no body; another: 200
--- request eval
["GET /dash", "GET /dash", "GET /dash"]
--- more_headers eval
["If-None-Match: $::etag", "If-None-Match: *",
 "If-None-Match: \"ct-00000000-1\""]
--- error_code eval
[304, 304, 200]
--- response_headers eval
["ETag: $::etag", "ETag: $::etag", "ETag: $::etag"]



=== TEST 3: HEAD: the headers, no body; other methods 405 with Allow
--- request eval
["HEAD /dash", "POST /dash\nx", "DELETE /dash"]
--- error_code eval
[200, 405, 405]
--- response_headers eval
["Content-Length: $::length\nETag: $::etag", "Allow: GET, HEAD",
 "Allow: GET, HEAD"]



=== TEST 4: the stream URI is HTML-escaped into the page
--- config
    location = /dash { clicktrack_dashboard '/s?a="b"&c=<d>'; }
--- request
GET /dash
--- response_body_like
<meta name="clicktrack-stream" content="/s\?a=&quot;b&quot;&amp;c=&lt;d&gt;">



=== TEST 5: nginx -t: a stream URI with a space
--- config
    location = /dash { clicktrack_dashboard "/a b"; }
--- request
GET /
--- must_die
--- error_log
invalid stream URI "/a b" in "clicktrack_dashboard"



=== TEST 6: nginx -t: no argument
--- config
    location = /dash { clicktrack_dashboard; }
--- request
GET /
--- must_die
--- error_log
invalid number of arguments in "clicktrack_dashboard" directive



=== TEST 7: with a stats URI: both in the page, HTML-escaped, in order
--- config
    location = /dash {
        clicktrack_dashboard /clicktrack/stream '/st?a="b"&c=<d>';
    }
--- request
GET /dash
--- response_body_like
<meta name="clicktrack-stream" content="/clicktrack/stream">
<meta name="clicktrack-stats" content="/st\?a=&quot;b&quot;&amp;c=&lt;d&gt;">



=== TEST 8: without one the stats mark is empty: the live view alone
--- request
GET /dash
--- response_body_like
<meta name="clicktrack-stats" content="">



=== TEST 9: nginx -t: a stats URI with a control character
--- config
    location = /dash { clicktrack_dashboard /s "/a\tb"; }
--- request
GET /
--- must_die
--- error_log eval
qr/invalid stats URI "\/a\tb" in "clicktrack_dashboard"/



=== TEST 10: nginx -t: three arguments
--- config
    location = /dash { clicktrack_dashboard /s /t /u; }
--- request
GET /
--- must_die
--- error_log
invalid number of arguments in "clicktrack_dashboard" directive
