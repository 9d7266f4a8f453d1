# A server that answers in RESP3 (docs/compatibility.md, "hiredis
# versions"): the module speaks RESP2 only, so no RESP3 reply may count as
# an answer.  With hiredis 1.x each one is refused and the connection
# dropped; with 0.14 hiredis's parser fails on it.  Either way the beacon
# is answered, the event stays queued, the error counter moves, and once a
# real Redis takes the port the event arrives, once.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

# the hiredis the module loads, as util/test.sh prints it: 1.x reads RESP3
# and the module refuses it; 0.14 cannot read it at all
my ($hiredis) = `ldd '$ENV{TEST_NGINX_LOAD_MODULES}' 2>/dev/null`
                =~ /libhiredis\S*\.so\.(\d+)/;

die "no libhiredis in ldd $ENV{TEST_NGINX_LOAD_MODULES}\n"
    unless defined $hiredis;


# what the error log says of the first reply of KIND, type byte BYTE
sub lost {
    my ($kind, $byte) = @_;

    return $hiredis >= 1
        ? "clicktrack: redis 127.0.0.1:$ENV{TEST_NGINX_REDIS2_PORT}: "
          . "connection lost: a RESP3 $kind reply refused, the module "
          . "speaks RESP2 only"
        : "connection lost: Protocol error, got \"$byte\" as reply type "
          . "byte";
}


defaults(
    http_config => <<'_EOC_',
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
_EOC_
    config => <<'_EOC_',
    location = /ct { clicktrack_beacon; }
    location = /status { clicktrack_status; }
_EOC_
    redis2 => '',
    request => 'GET /ct?l=resp3',
    error_code => 200,
    # refused at least twice (the reconnect too), nothing taken for
    # delivered; then the real Redis on the same port gets the event
    redis_after => 'counters /status; counters /status redis_errors>1; '
                   . 'resp3 stop; start; check; counters /status delivered',
    counters => "accepted=1\npushed=0\nqueued=1\nin_flight=0\n"
                . "redis_connected=false\nredis_errors>0",
    delivered => "accepted=1\npushed=1\nqueued=0\nin_flight=0\n"
                 . "redis_connected=true",
    redis_list => '{"id":"<uuid>","ts":"<ts>","type":"pageview",'
                  . '"label":"resp3","host":"localhost"}',
    no_error_log => "[crit]\n[alert]\n",
);

run_tests();

__DATA__

=== TEST 1: a RESP3 map is no answer: refused, the event kept, delivered by the real Redis
--- redis_setup
stop; resp3 start map
--- error_log eval
main::lost('map', '%')



=== TEST 2: a RESP3 double is no answer
--- redis_setup
stop; resp3 start double
--- error_log eval
main::lost('double', ',')



=== TEST 3: a RESP3 boolean is no answer
--- redis_setup
stop; resp3 start bool
--- error_log eval
main::lost('boolean', '#')



=== TEST 4: a RESP3 double inside a RESP2 array is no answer either
--- redis_setup
stop; resp3 start nested
--- error_log eval
main::lost('double', ',')
