# Spool replay at the edges of its read buffer: a line the queue refuses
# is read again from its own start, wherever the buffer had moved it.
# Each block failed on the code as it was before its fix.

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

our $Line = sub {
    my ($n, $len) = @_;
    my $json = '{"id":"00000000-0000-4000-8000-00000000000' . $n
               . '","type":"click","label":"';
    $json .= 'x' x ($len - length($json) - 2) . '"}';
    return "17:clicktrack:events 0: 0 $json\n";
};

run_tests();

__DATA__

=== TEST 1: a line the queue refuses right after the read buffer was refilled is read again from its start
The queue (64k) takes replayed lines while under half full: lines 1 and 2
fill it past 32k; line 3 straddles the 64k read buffer, so reading it
moves it to the buffer's start; refused, it must be read again from there.
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS2_PORT;
    clicktrack_queue size=64k;
    clicktrack_spool html;
--- redis_setup
restart
--- user_files eval
">>> w.1.2.3\n" . $::Line->(1, 32000) . $::Line->(2, 700)
. $::Line->(3, 33000)
--- request
GET /status
--- redis_after
check; counters /status; spool_files html = 0
--- redis_count
clicktrack:events 3
--- counters
replayed=3
pushed=3
spooled=0
--- no_error_log
malformed
[crit]
[alert]
