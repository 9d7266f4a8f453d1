# Delivery to Redis: list keys (with variables), the recent stream, AUTH
# and SELECT, and batching.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

defaults(
    no_error_log => "[error]\n",
);

run_tests();

__DATA__

=== TEST 1: clicktrack_list with variables: one list per host
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; clicktrack_list "events:{$host}"; }
--- more_headers eval
["Host: a.example", "Host: b.example", "Host: a.example"]
--- request eval
["GET /ct?l=1", "GET /ct?l=2", "GET /ct?l=3"]
--- redis_list eval
['@events:{a.example}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"1","host":"a.example"}',
'@events:{b.example}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"2","host":"b.example"}',
'@events:{a.example}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"3","host":"a.example"}']



=== TEST 2: several keys in one batch: each list gets its own events, in order
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_queue flush=300ms;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; clicktrack_list "ev:$arg_k"; }
--- request eval
["GET /ct?k=x&l=1", "GET /ct?k=y&l=2", "GET /ct?k=x&l=3"]
--- redis_after eval
["", "", "sleep 0.5; check"]
--- redis_list eval
[undef, undef, '@ev:x
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"1","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"3","host":"localhost"}
@ev:y
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"2","host":"localhost"}']



=== TEST 3: clicktrack_recent with its own key; off leaves the stream alone
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- config
    location = /feed { clicktrack_beacon; clicktrack_recent site:feed max=500; }
    location = /quiet { clicktrack_beacon; clicktrack_recent off; }
--- request eval
["GET /feed?l=feed", "GET /quiet?l=quiet"]
--- redis_stream eval
['@site:feed
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"feed","host":"localhost"}
@clicktrack:recent', '@site:feed
@clicktrack:recent']
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"feed","host":"localhost"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"quiet","host":"localhost"}']



=== TEST 4: AUTH and SELECT when configured
--- redis2
--- redis_setup
restart; cmd CONFIG SET requirepass s3cret
--- redis_auth: s3cret
--- redis_db: 3
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT db=3 password=s3cret;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
--- request
GET /ct?l=authed
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"authed","host":"localhost"}



=== TEST 5: a wrong password is logged and nothing is lost: the events wait
--- redis2
--- redis_setup
restart; cmd CONFIG SET requirepass other
--- redis_auth: s3cret
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT password=s3cret;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
--- request
GET /ct?l=waits
--- redis_after
sleep 0.3; counters /status; cmd -a other CONFIG SET requirepass s3cret; check
--- counters
accepted=1
queued=1
pushed=0
redis_connected=false
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"waits","host":"localhost"}
--- error_log
setup refused
--- no_error_log
[crit]



=== TEST 6: a full batch goes at once, without waiting for flush
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_queue batch=3 flush=60s;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; clicktrack_max_batch 3; }
--- more_headers
Content-Type: application/json
--- request
POST /ct
[{"l":"1"},{"l":"2"},{"l":"3"}]
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"1","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"2","host":"localhost"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"3","host":"localhost"}



=== TEST 7: the queue full: dropped, counted and logged, the answer unchanged
--- http_config
    clicktrack_redis 127.0.0.1:1 connect_timeout=100ms;
    clicktrack_queue size=64k;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- config
    location = /ct {
        clicktrack_beacon;
        clicktrack_max_batch 80;
        clicktrack_max_body 1m;
    }
    location = /status { clicktrack_status; }
--- more_headers
Content-Type: application/json
--- request eval
"POST /ct\n[" . CORE::join(",", map { qq({"l":"$_-) . ("x" x 1000) . qq("}) } 1 .. 80) . "]"
--- error_code: 204
--- redis_after
counters /status
--- counters
accepted=80
dropped>0
queued>0
pushed=0
--- error_log
queue full (65536 bytes)
--- no_error_log
[crit]
