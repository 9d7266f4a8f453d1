# Bots and Do-Not-Track: the success answer, the X-Clicktrack-Dropped
# header, and nothing in Redis.

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
    no_error_log => "[error]\n",
);

run_tests();

__DATA__

=== TEST 1: crawlers, headless browsers and link previewers are dropped, case-insensitively
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
["User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
 "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
 "User-Agent: facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
 "User-Agent: Mozilla/5.0 (compatible; YandexSPIDER/3.0)",
 "User-Agent: WhatsApp/2.23.20.0",
 "User-Agent: Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"]
--- request eval
["GET /ct?l=1", "GET /ct?l=2", "GET /ct?l=3", "GET /ct?l=4", "GET /ct?l=5", "GET /ct?l=6"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_headers eval
[("X-Clicktrack-Dropped: bot\nContent-Type: image/gif\n!Set-Cookie") x 6]
--- redis_list eval
["", "", "", "", "", ""]



=== TEST 2: a POST from a bot gets 204 and is not parsed
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
User-Agent: Mozilla/5.0 (compatible; bingbot/2.0)
Content-Type: application/json
--- request
POST /ct
this is not even JSON
--- error_code: 204
--- response_headers
X-Clicktrack-Dropped: bot
--- redis_list



=== TEST 3: a real browser, or no User-Agent at all, is recorded
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
["User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", ""]
--- request eval
["GET /ct?l=browser", "GET /ct?l=none"]
--- response_headers eval
["!X-Clicktrack-Dropped", "!X-Clicktrack-Dropped"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"browser","host":"localhost","ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"none","host":"localhost"}']



=== TEST 4: clicktrack_ignore_bots off records bots
--- config
    location = /ct { clicktrack_beacon; clicktrack_ignore_bots off; }
--- more_headers
User-Agent: HeadlessChrome/120
--- request
GET /ct?l=bot
--- response_headers
!X-Clicktrack-Dropped
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"bot","host":"localhost","ua":"HeadlessChrome/120"}



=== TEST 5: DNT: 1 and Sec-GPC: 1 under clicktrack_dnt on are dropped
--- config
    location = /ct { clicktrack_beacon; clicktrack_dnt on; }
--- more_headers eval
["DNT: 1", "Sec-GPC: 1", "DNT: 0"]
--- request eval
["GET /ct?l=dnt", "GET /ct?l=gpc", "GET /ct?l=dnt0"]
--- response_headers eval
["X-Clicktrack-Dropped: dnt", "X-Clicktrack-Dropped: dnt", "!X-Clicktrack-Dropped"]
--- redis_list eval
["", "", '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"dnt0","host":"localhost"}']



=== TEST 6: clicktrack_dnt is off by default: DNT is recorded
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
DNT: 1
--- request
GET /ct?l=recorded
--- response_headers
!X-Clicktrack-Dropped
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"recorded","host":"localhost"}



=== TEST 7: a dropped request gets no visitor cookie
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct { clicktrack_beacon; clicktrack_dnt on; }
--- more_headers
Sec-GPC: 1
--- request
GET /ct?l=x
--- response_headers
X-Clicktrack-Dropped: dnt
!Set-Cookie
--- redis_list



=== TEST 8: every bot substring is found anywhere in the User-Agent, in any case
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
my @bots = ('bot', 'crawl', 'spider', 'slurp', 'headless', 'phantomjs',
            'puppeteer', 'playwright', 'selenium', 'lighthouse', 'pagespeed',
            'facebookexternalhit', 'facebookcatalog', 'embedly',
            'quora link preview', 'outbrain', 'pinterest', 'vkshare',
            'whatsapp', 'skypeuripreview', 'bingpreview', 'ia_archiver',
            'mediapartners-google', 'feedfetcher', 'preview');
[ (map { "User-Agent: Mozilla/5.0 " . uc($_) } @bots),
  (map { "User-Agent: " . ucfirst($_) . "/1.0 (X11)" } @bots),
  (map { "User-Agent: x" . join('', map { ucfirst } split /(?=[aeiou])/, $_) } @bots) ]
--- request eval
[ map { "GET /ct?l=$_" } 1 .. 75 ]
--- error_code eval
[ (200) x 75 ]
--- response_headers eval
[ ("X-Clicktrack-Dropped: bot") x 75 ]
--- redis_list eval
[ ("") x 75 ]



=== TEST 9: a User-Agent that only starts or nearly spells a bot substring is recorded
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers eval
["User-Agent: Mozilla/5.0 Bo", "User-Agent: B", "User-Agent: Craw",
 'User-Agent: b-o-t sp1der Head less [@OT] `ot']
--- request eval
["GET /ct?l=1", "GET /ct?l=2", "GET /ct?l=3", "GET /ct?l=4"]
--- response_headers eval
[ ("!X-Clicktrack-Dropped") x 4 ]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"1","host":"localhost","ua":"Mozilla/5.0 Bo"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"2","host":"localhost","ua":"B"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"3","host":"localhost","ua":"Craw"}',
 '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"4","host":"localhost","ua":"b-o-t sp1der Head less [@OT] `ot"}']
