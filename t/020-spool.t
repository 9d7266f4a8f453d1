# The spool (SPEC 5): what a full queue cannot take goes to files under
# clicktrack_spool PATH, is replayed in order once Redis answers, and a
# file goes only when Redis has confirmed all of it.  Leftovers are
# replayed at start, max_size drops and counts, a directory that cannot
# be written is an error that never stops the beacons, and a worker that
# leaves spools what Redis did not take.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

master_on();
workers(1);
repeat_each(1);
no_shuffle();

defaults(
    config => <<'_EOC_',
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
_EOC_
    redis2 => '',
);

run_tests();

__DATA__

=== TEST 1: queue full: the rest is spooled, replayed in order once Redis is back, the file removed after
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_queue size=64k;
    clicktrack_spool html;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
stop
--- request
GET /ct?l=load-0
--- redis_after
load 1000 /ct?t=s max_ms 200; counters /status; spool_files html > 0; start; counters /status after; in_order clicktrack:events; check; spool_files html = 0
--- redis_count
clicktrack:events 1001
--- counters
accepted=1001
spooled>300
pushed=0
dropped=0
--- after
accepted=1001
pushed=1001
replayed>300
spooled=0
dropped=0
--- error_log
replayed and removed
--- no_error_log
[crit]
[alert]



=== TEST 2: leftovers of an earlier run are replayed at start; a malformed line and a torn last line are skipped and logged
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_spool html;
--- redis_setup
restart
--- user_files eval
[["w.1.2.3", <<'_EOF_' . '17:clicktrack:events 0: 0 {"id":"00000000-0000-4000-8000-00000000']]
17:clicktrack:events 0: 0 {"id":"00000000-0000-4000-8000-000000000001","type":"click","label":"left-1"}
this is not a spool line
999999:clicktrack:events 0: 0 {"id":"00000000-0000-4000-8000-000000000009","label":"a wrong length"}
17:clicktrack:events 17:clicktrack:recent 10000 {"id":"00000000-0000-4000-8000-000000000002","type":"click","label":"left-2"}
_EOF_
--- request
GET /status
--- redis_after
check; counters /status; spool_files html = 0
--- redis_list
{"id":"00000000-0000-4000-8000-000000000001","type":"click","label":"left-1"}
{"id":"00000000-0000-4000-8000-000000000002","type":"click","label":"left-2"}
--- redis_stream
{"id":"00000000-0000-4000-8000-000000000002","type":"click","label":"left-2"}
--- counters
accepted=2
replayed=2
pushed=2
spooled=0
--- error_log
a malformed line in
an earlier run
ends in a torn line of 65 bytes, skipped
--- no_error_log
[crit]
[alert]



=== TEST 3: over max_size: dropped and counted; what was spooled arrives
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_queue size=64k;
    clicktrack_spool html max_size=8k;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
stop
--- request
GET /ct?l=load-0
--- redis_after
load 600 /ct?t=m max_ms 200; counters /status; start; sleep 1; counters /status after
--- counters
accepted=601
spooled>20
spooled<100
dropped>100
--- after
pushed>400
spooled=0
queued=0
--- error_log
over max_size 8192
--- no_error_log
[crit]
[alert]



=== TEST 4: a spool directory that cannot be written: logged, counted, beacons keep answering
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_queue size=64k;
    clicktrack_spool /proc/clicktrack-not-writable;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
stop
--- request
GET /ct?l=load-0
--- redis_after
load 600 /ct?t=u max_ms 200; counters /status; start; sleep 1; counters /status after
--- counters
accepted=601
spooled=0
dropped>100
--- after
pushed>300
queued=0
--- error_log eval
qr/spool open\("\/proc\/clicktrack-not-writable\/t\.[^"]+"\) failed/
--- no_error_log
[crit]
[alert]



=== TEST 5: QUIT with Redis down: what the worker held is spooled, and arrives after a start
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_spool html;
    clicktrack_shutdown_timeout 300ms;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
stop
--- request
GET /ct?l=load-0
--- redis_after
load 200 /ct?t=q; quit; spool_files html > 0; start; relaunch; counters /status; in_order clicktrack:events; check
--- redis_count
clicktrack:events 201
--- counters
accepted=201
pushed=201
replayed=201
spooled=0
dropped=0
--- error_log
event(s) not delivered to redis
spooled
--- no_error_log
[crit]
[alert]



=== TEST 6: clicktrack_spool on a file
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_spool /etc/hostname;
--- request
GET /
--- must_die
--- error_log
"/etc/hostname" in "clicktrack_spool" is not a directory



=== TEST 7: a bad max_size
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_spool html max_size=lots;
--- request
GET /
--- must_die
--- error_log
invalid value "max_size=lots" in "clicktrack_spool"



=== TEST 8: a duplicate clicktrack_spool
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_spool html;
    clicktrack_spool off;
--- request
GET /
--- must_die
--- error_log
"clicktrack_spool" directive is duplicate



=== TEST 9: an unknown parameter
--- http_config
    clicktrack_redis 127.0.0.1:6379;
    clicktrack_spool html size=1m;
--- request
GET /
--- must_die
--- error_log
unknown parameter "size=1m" in "clicktrack_spool"



=== TEST 10: a file is removed only once Redis has confirmed every line: refused lines keep it
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_queue size=64k;
    clicktrack_spool html;
    clicktrack_list $arg_k;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
--- redis_setup
stop
--- request
GET /ct?k=ok&l=first
--- redis_after
load 500 /ct?k=ok; load 50 /ct?k=bad; counters /status; start; cmd SET bad not-a-list; counters /status stuck; sleep 1; spool_files html > 0; counters /status stuck; cmd DEL bad; counters /status after; spool_files html = 0; check
--- redis_count
ok 501
--- counters
accepted=551
spooled>100
dropped=0
--- stuck
pushed>300
pushed<551
replayed>120
--- after
pushed=551
spooled=0
dropped=0
--- error_log
redis refused RPUSH: WRONGTYPE
replayed and removed
--- no_error_log
[crit]
[alert]



=== TEST 11: a list key with a newline cannot be spooled: dropped and counted; the other keys spool, and it is delivered when the queue has room
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_queue size=64k;
    clicktrack_spool html;
    map $arg_k $ct_list {
        nl       "evil\nkey";
        default  ok;
    }
    clicktrack_list $ct_list;
--- redis_setup
stop
--- request
GET /ct?k=nl&l=queued
--- redis_after
load 500 /ct?k=ok; load 50 /ct?k=nl; counters /status; spool_files html > 0; start; counters /status after; check
--- redis_count
ok 500
--- counters
accepted=551
spooled>50
dropped=50
--- after
pushed=501
spooled=0
dropped=50
--- error_log
a list key with a newline cannot be spooled: "evil
--- no_error_log
[crit]
[alert]



=== TEST 12: an empty t. file a minute old (a worker died between creating and naming its file) is removed; a fresh one, or one with content, is left
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_spool html;
--- redis_setup
restart
--- user_files
>>> t.1.2.3 202601010000
>>> t.1.2.4
>>> t.1.2.5 202601010000
not ours to judge
--- request
GET /status
--- redis_after
dir_files html t. = 2; sleep 1.5; dir_files html t. = 2
--- error_log eval
qr/removed "[^"]*\/t\.1\.2\.3", an empty file left by a worker that died creating it/
--- no_error_log
t.1.2.4
t.1.2.5
[crit]
[alert]
