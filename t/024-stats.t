# The stats API (clicktrack_stats): known traffic through the beacon, or
# past days written the way the rollups write them, and the answers read
# back: totals, series, tables, unions, compare, limit, sites, CSV, every
# bad query, 405 and 503.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

defaults(
    redis_setup => "cmd FLUSHDB\n",
    no_error_log => "[error]\n",
    http_config => <<'CONF',
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms top=50;
    clicktrack_cookie off;
    clicktrack_recent off;
CONF
    config => <<'CONF',
    location = /ct { clicktrack_beacon; }
    location = /stats { clicktrack_stats; }
CONF
);

run_tests();

__DATA__

=== TEST 1: today: totals, the hourly series, tables, now, the busiest site
--- more_headers eval
["", "", "", "", "Host: other.example", ""]
--- request eval
["GET /ct?v=visitor-1&s=session-1&u=/a&r=https://news.example/x",
 "GET /ct?v=visitor-1&s=session-1&u=/a",
 "GET /ct?v=visitor-2&s=session-2&u=/b?utm_source=mail",
 "GET /ct?t=click&v=visitor-2&s=session-2&l=buy",
 "GET /ct?u=/elsewhere",
 "GET /ct?t=signup&v=visitor-2&s=session-2"]
--- redis_after eval
["", "", "", "", "", "sleep 0.5; json /stats today; json /stats?site=other.example other; cmd FLUSHDB"]
--- today
site => localhost
from => <day>
to => <day>
tz => +00:00
interval => hour
totals => {"bounce_rate":0.5,"events":5,"pageviews":3,"visit_duration":null,"visitors":2,"visits":2}
now.visitors => 2
series.# => 24
series.<hour>.visitors => 2
series.<hour>.pageviews => 3
pages => [["/a",2],["/b",1]]
referrers => [["(direct)",2],["news.example",1]]
utm_source => [["mail",1]]
utm_medium => []
events => [["pageview",3],["signup",1],["click",1]]
labels => [["buy",1]]
browsers => [["Other",3]]
devices => [["Other",3]]
--- other
site => other.example
totals.events => 1
pages => [["/elsewhere",1]]



=== TEST 2: a range of days: daily series with zeros, unions, summed tables
--- redis_setup
cmd FLUSHDB;
cmd HSET clicktrack:stats:{localhost}:<day-2d>:counts events 5 pageviews 4;
cmd HSET clicktrack:stats:{localhost}:<day>:counts events 3 pageviews 2;
cmd PFADD clicktrack:stats:{localhost}:<day-2d>:visitors alice bob;
cmd PFADD clicktrack:stats:{localhost}:<day>:visitors alice carol;
cmd PFADD clicktrack:stats:{localhost}:<day-2d>:visits s1 s2;
cmd PFADD clicktrack:stats:{localhost}:<day>:visits s3;
cmd ZADD clicktrack:stats:{localhost}:<day-2d>:pages 3 /a 1 /b;
cmd ZADD clicktrack:stats:{localhost}:<day>:pages 2 /b;
cmd ZADD clicktrack:stats:sites:<day-2d> 5 localhost
--- request
GET /stats?site=localhost&period=yesterday
--- redis_after
json /stats?site=localhost&from=<day-2d>&to=<day> days; json /stats?from=<day-2d>&to=<day>&limit=1 limited; json /stats?site=localhost&from=<day-2d>&to=<day-2d>&compare=previous cmp; json /stats?site=localhost&from=<day-2d>&to=<day>&compare=year yr; cmd FLUSHDB
--- days
interval => day
series.# => 3
series.0 => {"pageviews":4,"t":"<day-2d>","visitors":2}
series.1 => {"pageviews":0,"t":"<day-1d>","visitors":0}
series.2 => {"pageviews":2,"t":"<day>","visitors":2}
totals.visitors => 3
totals.visits => 3
totals.pageviews => 6
totals.events => 8
pages => [["/b",3],["/a",3]]
--- limited
site => localhost
pages => [["/b",3]]
--- cmp
compare.from => <day-3d>
compare.to => <day-3d>
compare.totals.events => 0
compare.series.# => 24
--- yr
totals.events => 8
compare.totals.events => 0
compare.series.# => 3
--- response_body_like: "totals":\{"visitors":0,"visits":0,"pageviews":0,"events":0,



=== TEST 3: ?sites lists the range's sites, the busiest first
--- redis_setup
cmd FLUSHDB;
cmd ZADD clicktrack:stats:sites:<day-1d> 5 a.example 2 b.example;
cmd ZADD clicktrack:stats:sites:<day> 4 b.example 1 c.example
--- request
GET /stats?sites&period=7d
--- response_body_like: ^\{"from":"\d{4}-\d\d-\d\d","to":"\d{4}-\d\d-\d\d","sites":\[\["b\.example",6\],\["a\.example",5\],\["c\.example",1\]\]\}$



=== TEST 4: CSV: a table, and the series, with a file name
--- redis_setup
cmd FLUSHDB;
cmd ZADD clicktrack:stats:{localhost}:<day>:pages 2 /a 1 /b,c;
cmd HSET clicktrack:stats:{localhost}:<day>:counts events 3 pageviews 3 pageviews:07 3
--- request eval
["GET /stats?site=localhost&format=csv&table=pages",
 "GET /stats?site=localhost&format=csv&table=series"]
--- response_headers_like eval
["Content-Disposition: attachment; filename=\"clicktrack-localhost-pages-\\d{4}-\\d\\d-\\d\\d-\\d{4}-\\d\\d-\\d\\d\\.csv\"",
 "Content-Disposition: attachment; filename=\"clicktrack-localhost-series-\\d{4}-\\d\\d-\\d\\d-\\d{4}-\\d\\d-\\d\\d\\.csv\""]
--- response_body_like eval
["^name,count\\r\\n/a,2\\r\\n\"/b,c\",1\\r\\n\$",
 "^t,visitors,pageviews\\r\\n(?:\\d{4}-\\d\\d-\\d\\dT\\d\\d,0,[03]\\r\\n){24}\$"]



=== TEST 5: a site with no data: zeros, not an error
--- request
GET /stats?site=nobody.example&period=30d
--- response_body_like: "totals":\{"visitors":0,"visits":0,"pageviews":0,"events":0,"bounce_rate":null,"visit_duration":null\}.*"series":\[(?:\{"t":"[^"]+","visitors":0,"pageviews":0\},?){30}\],"pages":\[\]



=== TEST 6: bad queries: 400 naming the argument
--- request eval
["GET /stats?from=2026-02-30&to=2026-03-01",
 "GET /stats?from=2026-03-02&to=2026-03-01",
 "GET /stats?from=2025-01-01&to=2026-03-01",
 "GET /stats?from=2026-03-01",
 "GET /stats?period=week",
 "GET /stats?period=7d&from=2026-03-01&to=2026-03-02",
 "GET /stats?limit=0",
 "GET /stats?limit=51",
 "GET /stats?format=xml",
 "GET /stats?format=csv",
 "GET /stats?format=csv&table=nope",
 "GET /stats?table=pages",
 "GET /stats?compare=decade",
 "GET /stats?site=a%7Bb",
 "GET /stats?color=red"]
--- error_code eval
[(400) x 15]
--- response_body eval
["invalid \"from\": a date, YYYY-MM-DD\n",
 "\"from\" is after \"to\"\n",
 "a range of more than 366 days\n",
 "\"from\" and \"to\" go together\n",
 "unknown \"period\": today, yesterday, 7d, 30d, month, 12mo\n",
 "\"period\" and \"from\"/\"to\" exclude each other\n",
 "invalid \"limit\": 1 up to the rollups' top\n",
 "invalid \"limit\": 1 up to the rollups' top\n",
 "unknown \"format\": json, csv\n",
 "\"format=csv\" needs \"table\"\n",
 "unknown \"table\": series, pages, referrers, utm_source, utm_medium, utm_campaign, utm_content, utm_term, countries, browsers, os, devices, events, labels, outbound, downloads\n",
 "\"table\" is for \"format=csv\"\n",
 "unknown \"compare\": previous, year\n",
 "invalid \"site\": a host name\n",
 "unknown argument: site, from, to, period, limit, sites, format, table, compare\n"]



=== TEST 7: other methods: 405 with Allow
--- request
POST /stats
x=1
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 8: Redis unreachable: 503 with Retry-After
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_SLOW_PORT connect_timeout=200ms;
--- request
GET /stats
--- error_code: 503
--- response_headers_like
Retry-After: \d+
--- response_body
clicktrack: redis is unreachable
--- no_error_log
[crit]



=== TEST 9: nginx -t: clicktrack_stats under clicktrack_rollup off needs a PREFIX
--- config
    location = /stats { clicktrack_rollup off; clicktrack_stats; }
--- must_die
--- error_log
has no rollups to read: "clicktrack_rollup" is off there; give it a PREFIX



=== TEST 10: clicktrack_stats PREFIX reads that prefix, also under rollup off
--- redis_setup
cmd FLUSHDB;
cmd HSET elsewhere:{localhost}:<day>:counts events 7
--- config
    location = /stats { clicktrack_rollup off; clicktrack_stats elsewhere; }
--- request
GET /stats?site=localhost
--- response_body_like: "events":7



=== TEST 11: HEAD: the headers of the answer, no body
--- request
HEAD /stats?site=localhost
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body



=== TEST 12: every table as CSV
--- redis_setup
cmd FLUSHDB;
cmd ZADD clicktrack:stats:{localhost}:<day>:pages 1 pages-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:referrers 1 referrers-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:utm_source 1 utm_source-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:utm_medium 1 utm_medium-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:utm_campaign 1 utm_campaign-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:utm_content 1 utm_content-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:utm_term 1 utm_term-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:countries 1 countries-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:browsers 1 browsers-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:os 1 os-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:devices 1 devices-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:events 1 events-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:labels 1 labels-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:outbound 1 outbound-1;
cmd ZADD clicktrack:stats:{localhost}:<day>:downloads 1 downloads-1
--- request eval
[map { "GET /stats?site=localhost&format=csv&table=$_" }
     qw(pages referrers utm_source utm_medium utm_campaign utm_content
        utm_term countries browsers os devices events labels outbound
        downloads)]
--- response_body eval
[map { "name,count\r\n$_-1,1\r\n" }
     qw(pages referrers utm_source utm_medium utm_campaign utm_content
        utm_term countries browsers os devices events labels outbound
        downloads)]



=== TEST 13: nginx -t: clicktrack_stats without clicktrack_redis
--- http_config
--- config
    location = /stats { clicktrack_stats; }
--- must_die
--- error_log
"clicktrack_stats" in
requires "clicktrack_redis" in the http block



=== TEST 14: CSV is text/csv to gzip_types and charset_types, one charset
--- config
    location = /stats {
        gzip on;
        gzip_min_length 1;
        gzip_types text/csv;
        charset utf-8;
        charset_types text/csv;
        clicktrack_stats;
    }
--- more_headers
Accept-Encoding: gzip
--- request
GET /stats?site=localhost&format=csv&table=pages
--- response_headers
Content-Type: text/csv; charset=utf-8
Content-Encoding: gzip
Cache-Control: no-store
