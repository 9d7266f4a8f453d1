# clicktrack_status: the counters as JSON and as Prometheus text, summed
# over the workers, and adding up.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

master_on();
workers(2);
repeat_each(1);
no_shuffle();

defaults(
    http_config => <<'_EOC_',
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
_EOC_
    config => <<'_EOC_',
    location = /ct { clicktrack_beacon; clicktrack_dnt on; }
    location = /status { clicktrack_status; }
_EOC_
    no_error_log => "[error]\n",
);

run_tests();

__DATA__

=== TEST 1: the JSON report: every key, in the SPEC's order
--- request
GET /status
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body_like chomp
^\{"accepted":\d+,"rejected":\d+,"filtered":\d+,"queued":\d+,"queued_bytes":\d+,"in_flight":\d+,"pushed":\d+,"spooled":\d+,"replayed":\d+,"dropped":\d+,"redis_connected":(true|false),"redis_errors":\d+,"reconnects":\d+,"stream_clients":\d+,"rollup_windows":\d+,"rollup_pending":\d+,"rollup_dropped":\d+\}$



=== TEST 2: accepted, rejected and filtered, summed over both workers; they add up
--- request
GET /ct?l=first
--- redis_after
load 40 /ct?t=ok; check; sleep 0.1; counters /status
--- redis_count
clicktrack:events 41
--- counters
accepted=41
pushed=41
rejected=0
filtered=0
queued=0
queued_bytes=0
in_flight=0
dropped=0
redis_connected=true



=== TEST 3: a rejected and a filtered request are counted as such
--- more_headers eval
["", "DNT: 1", ""]
--- request eval
["GET /ct?t=BAD%20TYPE", "GET /ct?l=dnt", "GET /ct?l=kept"]
--- error_code eval
[400, 200, 200]
--- redis_list eval
["", "", '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"kept","host":"localhost"}']
--- redis_after eval
["", "", "check; sleep 0.1; counters /status"]
--- counters eval
[undef, undef, "accepted=1\nrejected=1\nfiltered=1\npushed=1"]



=== TEST 4: Prometheus text
--- request
GET /status?format=prometheus
--- response_headers_like
Content-Type: text/plain; version=0\.0\.4; charset=utf-8
--- response_body_like
# TYPE clicktrack_events_accepted_total counter
clicktrack_events_accepted_total \d+
(?s:.*)# TYPE clicktrack_events_queued gauge
(?s:.*)clicktrack_redis_connected [01]



=== TEST 5: an unknown format is a 400
--- request
GET /status?format=xml
--- error_code: 400



=== TEST 6: status is GET and HEAD only
--- request
POST /status
x
--- error_code: 405
