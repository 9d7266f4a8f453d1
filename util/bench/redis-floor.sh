#!/bin/bash
# What Redis itself costs per event, with no nginx in the way: a private
# Redis pinned to CPU 0 is fed, by "redis-cli --pipe" on CPU 1, exactly
# the commands the module sends for batches of BATCH events (SPEC 5: one
# RPUSH of the batch, then one XADD MAXLEN ~ per event), and its CPU time
# (utime+stime from /proc) is divided by the events.  This is the floor
# under util/bench/run's "rds us/ev" column: no sender can go below it
# with these commands.
#
#   util/bench/run redis-floor [EVENTS [BATCH]]      (default 1000000 512)
#
# Shapes, each on an empty Redis:
#   rpush+xadd   what the module sends (clicktrack_recent on)
#   rpush        clicktrack_recent off
#   xadd         the XADDs alone
#   ping         one PING per event: reading and answering a command
# Each shape runs twice: "growing", with nothing consuming the list (as
# in util/bench/run), and "consumed", with an LTRIM after each batch
# keeping the list at 1000 (a consumer that keeps up; the LTRIM is
# counted too).
#
# The event is a 380-byte record in SPEC 4's shape, about what
# util/bench/run's GET beacon records.

set -eu

events=${1:-1000000}
batch=${2:-512}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/clicktrack-floor.XXXXXX)
port=$("$top/util/free-port.pl")
pid=

cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

taskset -c 0 redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" \
    --save '' --appendonly no --logfile "$tmp/redis.log" &
pid=$!

for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
done

# the command stream of one shape, in the Redis protocol
commands() {   # $1 shape, $2 growing|consumed
    perl -e '
        my ($shape, $mode, $events, $batch) = @ARGV;
        my $e = q({"id":"0b6c2a4e-8f0e-4a57-9d43-6f2a4c1d9e21",)
              . q("ts":"2026-11-22T12:31:05.720Z","type":"click",)
              . q("label":"x","url":"https://example.com/",)
              . q("visitor":"5c469967-1dbe-4214-aa2a-dfa7bb8e1be4",)
              . q("host":"127.0.0.1","ip":"127.0.0.0",)
              . q("ua":"Mozilla/5.0 (X11; Linux x86_64) )
              . q(AppleWebKit/537.36 (KHTML, like Gecko) )
              . q(Chrome/120.0 Safari/537.36"});
        sub cmd {
            my $s = "*" . @_ . "\r\n";
            $s .= "\$" . length($_) . "\r\n$_\r\n" for @_;
            return $s;
        }
        binmode STDOUT;
        for (1 .. $events / $batch) {
            my $out = "";
            if ($shape =~ /rpush/) {
                $out .= cmd("RPUSH", "clicktrack:events", ($e) x $batch);
            }
            if ($shape =~ /xadd/) {
                $out .= cmd("XADD", "clicktrack:recent", "MAXLEN", "~",
                            "10000", "*", "e", $e) x $batch;
            }
            if ($shape eq "ping") {
                $out .= cmd("PING") x $batch;
            }
            if ($mode eq "consumed" && $shape =~ /rpush/) {
                $out .= cmd("LTRIM", "clicktrack:events", "-1000", "-1");
            }
            print $out;
        }' "$1" "$2" "$events" "$batch"
}

ticks() {
    cut -d')' -f2- "/proc/$pid/stat" | awk '{ print $12 + $13 }'
}

hz=$(getconf CLK_TCK)
n=$(( events / batch * batch ))

echo "redis-floor: $n events in batches of $batch," \
     "$(redis-server --version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %-9s %10s\n' shape list "us/event"

for shape in rpush+xadd rpush xadd ping; do
    for mode in growing consumed; do
        if [ "$mode" = consumed ] && [ "$shape" = xadd -o "$shape" = ping ]
        then
            continue
        fi
        commands "$shape" "$mode" > "$tmp/in"
        redis-cli -p "$port" flushall >/dev/null
        t0=$(ticks)
        taskset -c 1 redis-cli -p "$port" --pipe < "$tmp/in" > "$tmp/out"
        t1=$(ticks)
        grep -q 'errors: 0,' "$tmp/out" || { cat "$tmp/out" >&2; exit 1; }
        case $shape in rpush*) list=$mode ;; *) list=- ;; esac
        printf '%-12s %-9s %10.2f\n' "$shape" "$list" \
            "$(echo "($t1 - $t0) * 1000000 / $hz / $n" | bc -l)"
    done
done
