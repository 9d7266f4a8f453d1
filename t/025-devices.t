# Browsers, systems and devices (the rollups' browsers, os and devices
# tables): real User-Agent strings sent with beacon pageviews, each to a
# site of its own, the three tables of every site read back from Redis.
# docs/stats.md has the classifier's rules.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

master_on();
workers(1);
repeat_each(1);
no_shuffle();

defaults(
    redis_setup => "cmd FLUSHDB\n",
    no_error_log => "[error]\n",
);

# User-Agent, browser, os, device

our @UA = (
    # desktop
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
     "Chrome", "Windows", "desktop"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
     "Chrome", "macOS", "desktop"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
     "Chrome", "Linux", "desktop"],
    ["Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
     "Chrome", "ChromeOS", "desktop"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox", "Windows", "desktop"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox", "macOS", "desktop"],
    ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox", "Linux", "desktop"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
     "Safari", "macOS", "desktop"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
     "Edge", "Windows", "desktop"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
     "Edge", "macOS", "desktop"],
    # EdgeHTML, before Edge took Chromium
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045",
     "Edge", "Windows", "desktop"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
     "Opera", "Windows", "desktop"],
    # Opera's own engine, Presto
    ["Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
     "Opera", "Windows", "desktop"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Vivaldi/6.5.3206.48",
     "Vivaldi", "Linux", "desktop"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36",
     "Yandex Browser", "Windows", "desktop"],
    ["Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
     "Internet Explorer", "Windows", "desktop"],
    ["Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)",
     "Internet Explorer", "Windows", "desktop"],
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/83.0.4103.61 Chrome/83.0.4103.61 Safari/537.36",
     "Chromium", "Linux", "desktop"],
    # Safari for Windows, 2012
    ["Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534.57.2 (KHTML, like Gecko) Version/5.1.7 Safari/534.57.2",
     "Safari", "Windows", "desktop"],
    ["Mozilla/5.0 (Macintosh; U; PPC Mac OS X 10.5; en-US; rv:1.9.2.28) Gecko/20120306 Firefox/3.6.28",
     "Firefox", "macOS", "desktop"],

    # phones
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
     "Safari", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
     "Chrome", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
     "Firefox", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/120.0.2210.116 Mobile/15E148 Safari/605.1.15",
     "Edge", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 OPT/4.3.2 Mobile/15E148 Safari/605.1.15",
     "Opera", "iOS", "mobile"],
    ["Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
     "Chrome", "Android", "mobile"],
    ["Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
     "Chrome", "Android", "mobile"],
    ["Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
     "Samsung Internet", "Android", "mobile"],
    ["Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
     "Firefox", "Android", "mobile"],
    ["Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
     "Edge", "Android", "mobile"],
    ["Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 OPR/79.1.4195.76488",
     "Opera", "Android", "mobile"],
    ["Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
     "Opera", "Android", "mobile"],
    ["Mozilla/5.0 (Linux; U; Android 10; en-US; RMX2020 Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36",
     "UC Browser", "Android", "mobile"],
    ["Mozilla/5.0 (Linux; U; Android 11; en-us; M2101K6G Build/RKQ1.200826.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.116 Mobile Safari/537.36 XiaoMi/MiuiBrowser/13.5.1-gn",
     "Mi Browser", "Android", "mobile"],
    ["Mozilla/5.0 (Linux; Android 10; ELS-NX9; HMSCore 6.1.0.314) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.105 HuaweiBrowser/12.0.0.301 Mobile Safari/537.36",
     "Huawei Browser", "Android", "mobile"],
    ["Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile DuckDuckGo/5 Safari/537.36",
     "DuckDuckGo", "Android", "mobile"],
    # the browser of Android 4 and before
    ["Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
     "Android Browser", "Android", "mobile"],
    # an app's web view
    ["Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36",
     "Android WebView", "Android", "mobile"],
    # says Android and iPhone too
    ["Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537",
     "Internet Explorer", "Windows Phone", "mobile"],
    ["Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
     "Edge", "Windows Phone", "mobile"],
    ["Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i; Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
     "Firefox", "KaiOS", "mobile"],
    # Firefox OS: a phone, no system named
    ["Mozilla/5.0 (Mobile; rv:26.0) Gecko/26.0 Firefox/26.0",
     "Firefox", "Other", "mobile"],
    ["Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
     "Safari", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; U; CPU iPhone OS 3_0 like Mac OS X; en-us) AppleWebKit/528.18 (KHTML, like Gecko) Version/4.0 Mobile/7A341 Safari/528.16",
     "Safari", "iOS", "mobile"],
    # a WebKit that is not Safari
    ["Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ (KHTML, like Gecko) Version/7.1.0.346 Mobile Safari/534.11+",
     "Other", "Other", "mobile"],
    # an iOS app's web view that does not name its app
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
     "Other", "iOS", "mobile"],

    # in-app browsers
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/0]",
     "Facebook", "iOS", "mobile"],
    ["Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/444.0.0.34.118;]",
     "Facebook", "Android", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 311.0.2.20.109 (iPhone15,2; iOS 17_1_2; en_US; en; scale=3.00; 1179x2556; 545986883)",
     "Instagram", "iOS", "mobile"],
    ["Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Instagram 309.1.0.41.113 Android (33/13; 420dpi; 1080x2219; Google/google; Pixel 7; panther; panther; en_US; 541635863)",
     "Instagram", "Android", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US",
     "TikTok", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.62.0.35 (like Safari/8617.2.4.10.8, panda)",
     "Snapchat", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2f) NetType/WIFI Language/zh_CN",
     "WeChat", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.5706",
     "LinkedIn", "iOS", "mobile"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/292.0.591466932 Mobile/15E148 Safari/604.1",
     "Google App", "iOS", "mobile"],

    # tablets
    ["Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
     "Chrome", "Android", "tablet"],
    ["Mozilla/5.0 (iPad; CPU OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
     "Safari", "iPadOS", "tablet"],
    ["Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
     "Chrome", "iPadOS", "tablet"],
    ["Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36",
     "Samsung Internet", "Android", "tablet"],
    ["Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
     "Firefox", "Android", "tablet"],
    # Amazon Fire
    ["Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/119.3.1 like Chrome/119.0.6045.193 Safari/537.36",
     "Silk", "Android", "tablet"],
    ["Mozilla/5.0 (iPad; CPU OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPad13,4;FBMD/iPad;FBSN/iPadOS;FBSV/17.1.2;FBSS/2;FBID/tablet;FBLC/en_US;FBOP/5]",
     "Facebook", "iPadOS", "tablet"],
    # an iPad's Safari asking for desktop sites (the default since
    # iPadOS 13) sends a Mac's User-Agent, byte for byte: counted as one
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15",
     "Safari", "macOS", "desktop"],

    # odd ones
    ["Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36",
     "Other", "Other", "Other"],
    ["curl/8.4.0", "Other", "Other", "Other"],
    ["Mozilla/5.0", "Other", "Other", "Other"],
);

sub site { sprintf "ua%02d.test", $_[0] }

our @UA_HEADERS = map { "Host: " . site($_) . "\nUser-Agent: $UA[$_][0]" }
                  0 .. $#UA;

our $UA_CHECKS = join "", map {
    my ($i, $t) = ($_, $UA[$_]);
    my $base = "clicktrack:stats:{" . site($i) . "}:<day>";
    "ZRANGE $base:browsers 0 -1 WITHSCORES => $t->[1] 1\n"
    . "ZRANGE $base:os 0 -1 WITHSCORES => $t->[2] 1\n"
    . "ZRANGE $base:devices 0 -1 WITHSCORES => $t->[3] 1\n"
} 0 .. $#UA;

run_tests();

__DATA__

=== TEST 1: the table: each User-Agent's browser, system and device, exact
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
\@main::UA_HEADERS
--- request eval
[("GET /ct?u=/") x @main::UA]
--- redis_after eval
[("") x $#main::UA, "expect rollup; cmd FLUSHDB"]
--- rollup eval
$main::UA_CHECKS



=== TEST 2: summed per site, by pageview only; no User-Agent is Other
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
["User-Agent: $main::UA[0][0]", "User-Agent: $main::UA[0][0]",
 "User-Agent: $main::UA[20][0]", "User-Agent: $main::UA[55][0]",
 "User-Agent: $main::UA[20][0]", "User-Agent: $main::UA[0][0]", ""]
--- request eval
["GET /ct?u=/a", "GET /ct?u=/b", "GET /ct?u=/a", "GET /ct?u=/c",
 "GET /ct?t=click&l=x", "GET /ct?t=signup", "GET /ct?u=/d"]
--- redis_after eval
["", "", "", "", "", "", "expect rollup; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 5
ZRANGE clicktrack:stats:{localhost}:<day>:browsers 0 -1 WITHSCORES => Other 1 Safari 1 Chrome 3
ZRANGE clicktrack:stats:{localhost}:<day>:os 0 -1 WITHSCORES => Android 1 Other 1 iOS 1 Windows 2
ZRANGE clicktrack:stats:{localhost}:<day>:devices 0 -1 WITHSCORES => Other 1 mobile 1 tablet 1 desktop 2
TTL clicktrack:stats:{localhost}:<day>:browsers => >34000000



=== TEST 3: bots are not counted
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
["User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
 "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
 "User-Agent: facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
 "User-Agent: Mozilla/5.0 (Linux; Android 5.0; SM-G900P Build/LRX21T) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
 "User-Agent: $main::UA[7][0]"]
--- request eval
["GET /ct?u=/", "GET /ct?u=/", "GET /ct?u=/", "GET /ct?u=/", "GET /ct?u=/"]
--- redis_after eval
["", "", "", "", "expect rollup; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 1
ZRANGE clicktrack:stats:{localhost}:<day>:browsers 0 -1 WITHSCORES => Safari 1
ZRANGE clicktrack:stats:{localhost}:<day>:os 0 -1 WITHSCORES => macOS 1
ZRANGE clicktrack:stats:{localhost}:<day>:devices 0 -1 WITHSCORES => desktop 1



=== TEST 4: one User-Agent counted in the site and window of each pageview
Each User-Agent's names are looked up once per bucket and kept (the cache
of ngx_http_clicktrack_rollup_devices()): a pageview of another site, or
one after the window has ended, must count in its own bucket.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
["Host: one.test\nUser-Agent: $main::UA[0][0]",
 "Host: two.test\nUser-Agent: $main::UA[0][0]",
 "Host: one.test\nUser-Agent: $main::UA[0][0]",
 "Host: two.test\nUser-Agent: $main::UA[20][0]",
 "Host: one.test\nUser-Agent: $main::UA[0][0]",
 "Host: two.test\nUser-Agent: $main::UA[0][0]",
 "Host: two.test\nUser-Agent: $main::UA[20][0]"]
--- request eval
[("GET /ct?u=/") x 7]
--- redis_after eval
["", "", "", "sleep 0.3", "", "", "expect rollup; cmd FLUSHDB"]
--- rollup
HGET clicktrack:stats:{one.test}:<day>:counts pageviews => 3
ZRANGE clicktrack:stats:{one.test}:<day>:browsers 0 -1 WITHSCORES => Chrome 3
ZRANGE clicktrack:stats:{one.test}:<day>:os 0 -1 WITHSCORES => Windows 3
ZRANGE clicktrack:stats:{one.test}:<day>:devices 0 -1 WITHSCORES => desktop 3
HGET clicktrack:stats:{two.test}:<day>:counts pageviews => 4
ZRANGE clicktrack:stats:{two.test}:<day>:browsers 0 -1 WITHSCORES => Chrome 2 Safari 2
ZRANGE clicktrack:stats:{two.test}:<day>:os 0 -1 WITHSCORES => Windows 2 iOS 2
ZRANGE clicktrack:stats:{two.test}:<day>:devices 0 -1 WITHSCORES => desktop 2 mobile 2
