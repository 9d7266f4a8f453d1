# docs/examples/consumer.sh, the consumer example of docs/durability.md, against
# real events: it recovers what a dead consumer left in the processing
# list, handles a duplicate once, and leaves both lists empty.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

run_tests();

__DATA__

=== TEST 1: recovery first, a duplicate handled once, then the beacons' events
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_recent off;
--- config
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
--- redis_setup
cmd RPUSH clicktrack:events:processing {"id":"00000000-0000-4000-8000-00000000000a","type":"click","label":"left-by-a-dead-consumer"}; cmd RPUSH clicktrack:events {"id":"00000000-0000-4000-8000-00000000000b","type":"click","label":"twice"} {"id":"00000000-0000-4000-8000-00000000000b","type":"click","label":"twice"}
--- request
GET /ct?t=click&l=live
--- redis_after
counters /status; consume
--- counters
pushed=1
--- consumed
00000000-0000-4000-8000-00000000000a click left-by-a-dead-consumer
00000000-0000-4000-8000-00000000000b click twice
<uuid> click live
--- no_error_log
[error]
