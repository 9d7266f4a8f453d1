# clicktrack_js BEACON_URI (SPEC 7): the tracker script with its beacon
# path, an ETag and 304, GET and HEAD only, gzip, the size budget.  What
# the script does in a browser is in t/browser/tracker.test.mjs.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;
use Compress::Zlib ();

repeat_each(1);
no_shuffle();

# the committed header is the script, as util/embed.pl --js makes it
my $made = `perl util/embed.pl --js ngx_http_clicktrack_tracker src/js/tracker.js`;
open my $fh, '<', 'src/js/tracker.js.h' or die "$!";
my $committed = do { local $/; <$fh> };
Test::More::ok($made eq $committed, 'src/js/tracker.js.h is up to date '
               . '(util/embed.pl --js ngx_http_clicktrack_tracker '
               . 'src/js/tracker.js > src/js/tracker.js.h)');

# what the server must send for "clicktrack_js /ct": the embedded bytes
# with the path in place of the mark
my @bytes = $committed =~ /0x([0-9a-f]{2})/g;
my $script = join '', map { chr hex } @bytes;
Test::More::like($script, qr/'\@BEACON_URI\@'/, 'the script has its mark');

sub served {
    my ($path) = @_;
    (my $body = $script) =~ s/\@BEACON_URI\@/$path/;
    return ($body, length $body,
            sprintf '"ct-%08x-%d"', Compress::Zlib::crc32($body),
            length $body);
}

($::body, $::length, $::etag) = served('/ct');
(undef, undef, $::etag2) = served('/collect/e');

# the budget: at most 2 KB gzipped, at gzip's default level and at
# nginx's default gzip_comp_level 1, the largest
for my $level (6, 1) {
    my ($z) = Compress::Zlib::deflateInit(-Level => $level,
                                          -WindowBits => -15);
    my ($out) = $z->deflate($::body);
    my ($end) = $z->flush();
    my $size = length($out . $end) + 18;     # the gzip header and trailer

    Test::More::cmp_ok($size, '<=', 2048,
                       "the tracker is $size bytes gzipped at level "
                       . "$level (at most 2048)");
}

defaults(
    config => <<'CONF',
    location = /ct.js { clicktrack_js /ct; }
    location = /other.js { clicktrack_js /collect/e; }
    location = /quote.js { clicktrack_js "/a'b\"c\\d<e>"; }
    location = /gz.js { gzip on; gzip_min_length 1;
                        gzip_types application/javascript;
                        clicktrack_js /ct; }
CONF
);

run_tests();

__DATA__

=== TEST 1: the script, its headers, the beacon path in it
--- request
GET /ct.js
--- response_headers eval
"Content-Type: application/javascript; charset=utf-8
ETag: $::etag
Content-Length: $::length
Cache-Control: public, max-age=3600
!Set-Cookie
!Last-Modified"
--- response_body eval
$::body



=== TEST 2: If-None-Match with its ETag, or *: 304 and no body; another: 200
--- request eval
["GET /ct.js", "GET /ct.js", "GET /ct.js"]
--- more_headers eval
["If-None-Match: $::etag", "If-None-Match: *",
 "If-None-Match: $::etag2"]
--- error_code eval
[304, 304, 200]
--- response_headers eval
["ETag: $::etag", "ETag: $::etag", "ETag: $::etag"]
--- response_body eval
["", "", $::body]



=== TEST 3: HEAD: the headers, no body; other methods 405 with Allow
--- request eval
["HEAD /ct.js", "POST /ct.js\nx", "OPTIONS /ct.js"]
--- error_code eval
[200, 405, 405]
--- response_headers eval
["Content-Length: $::length\nETag: $::etag", "Allow: GET, HEAD",
 "Allow: GET, HEAD"]



=== TEST 4: each location its own beacon path, its own ETag
--- request
GET /other.js
--- response_headers eval
"ETag: $::etag2"
--- response_body_like: var path = '/collect/e',



=== TEST 5: a path that could end the string is escaped
--- request
GET /quote.js
--- response_body_like: var path = '/a\\x27b\\x22c\\x5cd\\x3ce\\x3e',



=== TEST 6: behind gzip on: compressed, and still the ETag
--- request
GET /gz.js
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
Content-Type: application/javascript; charset=utf-8



=== TEST 7: nginx -t: a beacon URI that is not a path
--- config
    location = /ct.js { clicktrack_js ct; }
--- must_die
--- error_log
invalid beacon URI "ct" in "clicktrack_js": a path that starts with "/"



=== TEST 8: nginx -t: a beacon URI with a space or a control character
--- config
    location = /ct.js { clicktrack_js "/c t"; }
--- must_die
--- error_log
invalid beacon URI "/c t" in "clicktrack_js"



=== TEST 9: nginx -t: two handlers in one location
--- config
    location = /ct.js { clicktrack_js /ct; clicktrack_status; }
--- must_die
--- error_log
"clicktrack_status" directive is duplicate
