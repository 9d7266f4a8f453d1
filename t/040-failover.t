# A Redis failover as the module sees it: the address it was given turns
# into a replica (READONLY) and back into a primary.  docs/scaling.md
# explains what an operator does during a failover.

use lib 't/lib';
use Test::Nginx::Socket;
use Clicktrack::Test;

# both blocks: nginx writes to the second Redis, which the test turns into
# a replica of the first and back
defaults(http_config => '
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_recent off;
', config => '
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
');

repeat_each(1);
plan 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: writes refused by a replica wait in the queue; promoting it delivers them
--- redis2
--- redis_setup
restart; cmd REPLICAOF 127.0.0.1 $TEST_NGINX_REDIS_PORT
--- request
GET /ct?l=during-failover
--- error_code: 200
--- redis_after
sleep 0.5; counters /status; cmd REPLICAOF NO ONE; check
--- counters
accepted=1
queued=1
pushed=0
dropped=0
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"during-failover","host":"localhost"}
--- error_log
redis refused RPUSH: READONLY
--- no_error_log
[crit]



=== TEST 2: the primary demoted under a running nginx: the next event waits until it is a primary again
(a demoted primary takes its new primary's data: "before" is gone from it,
as Redis replication does; docs/scaling.md says what that means)
--- redis2
--- redis_setup
restart
--- request eval
["GET /ct?l=before", "GET /ct?l=after"]
--- error_code eval
[200, 200]
--- redis_after eval
["sleep 0.3; check; cmd REPLICAOF 127.0.0.1 $ENV{TEST_NGINX_REDIS_PORT}",
 "sleep 0.5; counters /status; cmd REPLICAOF NO ONE; check"]
--- counters eval
[undef, "accepted=2\npushed=1\nqueued=1"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"before","host":"localhost"}',
'{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"after","host":"localhost"}']
--- no_error_log
[crit]
