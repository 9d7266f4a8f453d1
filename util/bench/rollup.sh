#!/bin/bash
# What the rollups cost (issue 26): the GET pageview beacon under a
# realistic mix, with the rollups on (the default) and with
# "clicktrack_rollup off", everything else the same.
#
#   util/bench/run rollup [RUNS]              (default 5)
#
# The mix: BENCH_MIX_REQUESTS (20000) pageviews drawn once, with a fixed
# seed, and sent in turn by wrk (wrk.lua's BENCH_PATHS): 1000 visitors
# ("v", each with one or two sessions, "s"), 50 pages and 20 referrers
# ("r"), both Zipf-like (the first page is the most viewed), UTM
# parameters (source, medium, campaign) in the url of 1 pageview in 10;
# Host bench.example, a browser's User-Agent, clicktrack_cookie off.
#
# Measured:
#   1. instructions per request of the worker (callgrind.sh's
#      ct_get and ct_get_norollup with the mix), and the rollups' part:
#      the inclusive count of ngx_http_clicktrack_rollup_add (the
#      beacon's path: the event's copy), of rollup_sum_raw (the copies
#      summed by a posted event once the event loop's turn has served
#      its requests) and of the window's sending (rollup_flush and the
#      replies), per request;
#   2. requests/s at BENCH_CONNECTIONS connections for BENCH_DURATION
#      seconds, RUNS runs of each, alternating (on, off, off, on, ...),
#      after a warm-up: the median.  Layout as util/bench/run's
#      "pinned": the two nginx (one worker each) and Redis on CPU 0, wrk
#      on CPU 1;
#   3. Redis' CPU per event: used_cpu_user + used_cpu_sys of INFO cpu
#      before and after each run, once the queue has drained and the
#      last window has been answered, divided by the events the run
#      sent (the status' "accepted"); Redis is flushed before each run,
#      so every run starts from an empty list.  The rollups' share is
#      the median with them on less the median with them off; INFO
#      commandstats (reset before each run) says which commands took it:
#      "cmd us/ev" is the execution time of the rollups' commands (the
#      time in the command, not reading or answering it) per event.
#   After each run with the rollups on, the day's "pageviews" count must
#   have grown by the events sent, and "rollup_dropped" must be 0.
#
# Environment: BENCH_CONNECTIONS=64 BENCH_DURATION=5 BENCH_WARMUP=2
#   BENCH_MIX_REQUESTS=20000 BENCH_CALLGRIND=1 (0: skip part 1)
#   CG_SECONDS=8 CG_CONNECTIONS=8 BENCH_BUILD=1 BENCH_MODULE=FILE
#   BENCH_OUT=DIR (default build/bench/DATE-rollup)

set -eu
set -o pipefail

runs=${1:-5}
top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/util/bench
CONNS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-2}
MIX=${BENCH_MIX_REQUESTS:-20000}
DO_CG=${BENCH_CALLGRIND:-1}
DO_BUILD=${BENCH_BUILD:-1}
MODULE=${BENCH_MODULE:-$top/build/ngx_http_clicktrack_module.so}
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
OUT=${BENCH_OUT:-$top/build/bench/$(date -u +%Y%m%dT%H%M%SZ)-rollup}
SITE=bench.example
PREFIX=clicktrack:stats
KEY=bench:events
# the commands only the rollups send, in INFO commandstats; not HINCRBY
# and EXPIRE: most of theirs are the visits script's, already in
# EVALSHA's time (the few the rollups send themselves are left out)
ROLLUP_COMMANDS='^cmdstat_(zincrby|pfadd|zremrangebyrank|evalsha'
ROLLUP_COMMANDS+='|script\|load|hset)$'

case "$runs" in
''|*[!0-9]*|0) echo "usage: util/bench/run rollup [RUNS]" >&2; exit 2 ;;
esac

for tool in wrk redis-server redis-cli curl perl taskset; do
    command -v "$tool" >/dev/null \
        || { echo "util/bench/rollup.sh: $tool is missing" >&2; exit 1; }
done
[ "$DO_CG" = 1 ] && ! command -v valgrind >/dev/null \
    && { echo "util/bench/rollup.sh: valgrind is missing" >&2; exit 1; }

if [ "$DO_BUILD" = 1 ]; then
    make -C "$top" -f Makefile.local --no-print-directory >/dev/null
fi
[ -f "$MODULE" ] || { echo "no module at $MODULE" >&2; exit 1; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cp "$MODULE" "$OUT/clicktrack.so"       # the module measured, frozen
MODULE=$OUT/clicktrack.so
results=$OUT/results.tsv
: > "$results"
tsv() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$results"; }
exec > >(tee "$OUT/report.txt") 2>&1

# ---------------------------------------------------------------- the mix

perl -e '
    use strict; use warnings;
    my ($n) = @ARGV;
    srand(26);
    sub esc {
        my $s = shift;
        $s =~ s/([^A-Za-z0-9._~-])/sprintf("%%%02X", ord $1)/ge;
        return $s;
    }
    # Zipf-like: item i of n drawn with weight 1/i
    sub zipf {
        my ($n) = @_;
        my @c; my $sum = 0;
        for my $i (1 .. $n) { $sum += 1 / $i; push @c, $sum }
        return sub {
            my $x = rand($sum);
            for my $i (0 .. $#c) { return $i if $x < $c[$i] }
            return $#c;
        };
    }
    my $page = zipf(50);
    my $ref = zipf(20);
    my @sources = qw(newsletter twitter google linkedin partner);
    for (1 .. $n) {
        my $p = $page->();
        my $url = "https://bench.example/" . ($p ? "docs/page-$p" : "");
        if (rand() < 0.1) {
            my $k = int(rand(@sources));
            $url .= "?utm_source=$sources[$k]&utm_medium="
                  . ($k ? "social" : "email")
                  . "&utm_campaign=winter-" . int(rand(3));
        }
        my $r = "https://ref-" . $ref->() . ".example/some/article";
        my $v = int(rand(1000));
        printf "/ct?t=pageview&u=%s&r=%s&v=visitor-%04d&s=visit-%04d-%d\n",
            esc($url), esc($r), $v, $v, int(rand(2));
    }' "$MIX" > "$OUT/paths.txt"
export BENCH_PATHS=$OUT/paths.txt BENCH_HOST=$SITE

# ---------------------------------------------------------------- servers

redis_pid=
declare -A master port

cleanup() {
    local cfg pid
    trap - EXIT INT TERM
    for cfg in "${!master[@]}"; do
        pid=${master[$cfg]}
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ -n "$redis_pid" ]; then
        kill -TERM "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }

start_nginx() {   # $1: on|off
    local cfg=$1 dir=$OUT/nginx-$1 rollup=""
    [ "$cfg" = off ] && rollup="clicktrack_rollup off;"
    mkdir -p "$dir/conf" "$dir/logs" "$dir/tmp"
    port[$cfg]=$("$top/util/free-port.pl")
    cat > "$dir/conf/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 1;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    clicktrack_redis 127.0.0.1:$redis_port;
    clicktrack_list $KEY;
    $rollup
    server {
        listen 127.0.0.1:${port[$cfg]};
        location = /ct { clicktrack_beacon; clicktrack_cookie off; }
        location = /clicktrack/status { clicktrack_status; }
    }
}
CONF
    taskset -c 0 "$NGINX" -p "$dir/" -e logs/error.log -c conf/nginx.conf
    master[$cfg]=$(cat "$dir/logs/nginx.pid")
    for _ in $(seq 100); do
        status "$cfg" accepted | grep -q . && return 0
        sleep 0.05
    done
    echo "nginx ($cfg) did not start" >&2
    exit 1
}

status() {   # $1 cfg, $2 field: its value in the status
    curl -s "http://127.0.0.1:${port[$1]}/clicktrack/status" \
        | perl -ne 'print "$1\n" if /"'"$2"'":(\d+)/'
}

ticks() {    # utime + stime of a process, in clock ticks
    cut -d')' -f2- "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

redis_cpu() {   # used_cpu_user + used_cpu_sys, in microseconds
    rcli INFO cpu | tr -d '\r' | awk -F: '
        $1 == "used_cpu_user" || $1 == "used_cpu_sys" { s += $2 }
        END { printf "%.0f\n", s * 1000000 }'
}

pageviews() {
    rcli HGET "$PREFIX:{$SITE}:$(date -u +%F):counts" pageviews \
        | sed 's/^$/0/'
}

# ---------------------------------------------------------------- conditions

echo "clicktrack rollup benchmark: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "  command: util/bench/run rollup $runs"
env | grep -E '^(BENCH_|CG_)' | grep -v -E '^BENCH_(PATHS|HOST)=' \
    | sed 's/^/  env: /' || true
echo "  $runs runs each of ${DURATION}s at $CONNS connections (warm-up" \
     "${WARMUP}s); mix of $MIX requests"
echo "  nproc $(nproc); CPU $(grep -m1 'model name' /proc/cpuinfo \
     | cut -d: -f2- | sed 's/^ //')"
echo "  $($NGINX -v 2>&1); $(redis-server --version | cut -d' ' -f1-3);" \
     "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "  module $(sha256sum "$MODULE" | cut -c1-16); git" \
     "$(git -C "$top" rev-parse --short HEAD 2>/dev/null)"
echo "  uptime before: $(uptime)"
echo "  busiest processes before (pcpu over their lifetime):"
ps -eo pcpu,etime,comm --sort=-pcpu | sed -n '2,6p' | sed 's/^/    /'
echo "  output: ${OUT#"$top"/}"
tsv conditions - uptime_before "$(uptime)"

# ---------------------------------------------------------------- 1. callgrind

declare -A ir
if [ "$DO_CG" = 1 ]; then
    echo
    echo "1. instructions per request (callgrind, ${CG_SECONDS:-8}s at" \
         "${CG_CONNECTIONS:-8} connections, the mix):"
    CG_OUT=$OUT/callgrind BENCH_MODULE=$MODULE \
        "$bench/callgrind.sh" ct_get ct_get_norollup \
        | tee "$OUT/callgrind.txt" | sed 's/^/  /'
    for t in ct_get ct_get_norollup; do
        ir[$t]=$(awk -v t="$t" '$1 == t { print $4 }' "$OUT/callgrind.txt")
        tsv callgrind "$t" ir_per_request "${ir[$t]}"
    done
    # the rollups' functions, inclusive, per request
    f=$(ls -v "$OUT"/callgrind/ct_get/callgrind.out.* | tail -1)
    n=$(awk '$1 == "ct_get" { print $2 }' "$OUT/callgrind.txt")
    inclusive=$OUT/callgrind/ct_get/inclusive.txt
    callgrind_annotate --inclusive=yes --threshold=100 "$f" \
        > "$inclusive" 2>/dev/null
    part() {   # $1: a function; its inclusive instructions per request
        awk -v fn="$1" -v n="$n" '
            { gsub(",", "", $1) }
            $0 ~ "[ :]" fn " " || $0 ~ "[ :]" fn "$" { s += $1; exit }
            END { printf "%.0f\n", s / n }' "$inclusive"
    }
    add=$(part ngx_http_clicktrack_rollup_add)
    sum=$(part ngx_http_clicktrack_rollup_sum_raw)
    flush=$(part ngx_http_clicktrack_rollup_flush)
    reply=$(part ngx_http_clicktrack_rollup_reply)
    diff=$(awk -v a="${ir[ct_get]}" -v b="${ir[ct_get_norollup]}" \
        'BEGIN { print a - b }')
    printf '  rollups on - off: %s instructions per request\n' "$diff"
    echo "  of which, inclusive: rollup_add $add (the beacon's path)," \
         "rollup_sum_raw $sum (after the requests)," \
         "rollup_flush $flush and rollup_reply $reply (the window)"
    tsv callgrind diff ir_per_request "$diff"
    tsv callgrind rollup_add ir_per_request "$add"
    tsv callgrind rollup_sum_raw ir_per_request "$sum"
    tsv callgrind rollup_flush ir_per_request "$flush"
    tsv callgrind rollup_reply ir_per_request "$reply"
fi

# ---------------------------------------------------------------- 2, 3. load

redis_port=$("$top/util/free-port.pl")
mkdir -p "$OUT/redis"
taskset -c 0 redis-server --port "$redis_port" --bind 127.0.0.1 \
    --dir "$OUT/redis" --save '' --appendonly no \
    --logfile "$OUT/redis/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
    rcli ping >/dev/null 2>&1 && break
    sleep 0.05
done
start_nginx on
start_nginx off

wrk_run() {   # $1 cfg, $2 seconds, $3 output file; sets WRK_CPU (seconds)
    local t
    t=$( { /usr/bin/time -f '%U %S' taskset -c 1 wrk -t1 -c"$CONNS" \
        -d"${2}s" -s "$bench/wrk.lua" "http://127.0.0.1:${port[$1]}/ct" \
        > "$3"; } 2>&1 | tail -1)
    WRK_CPU=$(echo "$t" | awk '{ print $1 + $2 }')
}

drain() {     # $1 cfg: until nothing is queued or in flight, then a window
    for _ in $(seq 600); do
        [ "$(status "$1" queued)" = 0 ] && [ "$(status "$1" in_flight)" = 0 ] \
            && break
        sleep 0.05
    done
    sleep 1.5   # window=1s: the last window is sent and answered
}

for cfg in on off; do
    wrk_run "$cfg" "$WARMUP" "$OUT/nginx-$cfg/wrk-warmup.txt"
done
drain on; drain off

echo
echo "2, 3. load: $runs runs of each, ${DURATION}s at $CONNS connections;" \
     "nginx and Redis on CPU 0, wrk on CPU 1"
printf '  %-3s %-4s %8s %8s %9s %9s %9s %6s %6s %s\n' run cfg 'req/s' \
    events 'ngx us/r' 'rds us/ev' 'cmd us/ev' wrk others check
hz=$(getconf CLK_TCK)
declare -A rps_l rds_l ngx_l
for i in $(seq "$runs"); do
    if [ $((i % 2)) = 1 ]; then order="on off"; else order="off on"; fi
    for cfg in $order; do
        rcli FLUSHALL >/dev/null
        rcli CONFIG RESETSTAT >/dev/null
        wpid=$(pgrep -P "${master[$cfg]}" | head -1)
        a0=$(status "$cfg" accepted); d0=$(status "$cfg" rollup_dropped)
        c0=$(redis_cpu); n0=$(ticks "$wpid")
        b0=$(awk '/^cpu / { print $2 + $3 + $4 }' /proc/stat)
        t0=$(date +%s%3N)
        wrk_run "$cfg" "$DURATION" "$OUT/nginx-$cfg/wrk-$i.txt"
        t1=$(date +%s%3N)
        b1=$(awk '/^cpu / { print $2 + $3 + $4 }' /proc/stat)
        n1=$(ticks "$wpid")
        drain "$cfg"
        c1=$(redis_cpu)
        a1=$(status "$cfg" accepted); d1=$(status "$cfg" rollup_dropped)
        rcli INFO commandstats | tr -d '\r' \
            > "$OUT/redis/commandstats-$i-$cfg.txt"
        ev=$((a1 - a0))
        req=$(awk '/^BENCH / { sub(/.*requests=/, ""); print $1 + 0 }' \
            "$OUT/nginx-$cfg/wrk-$i.txt")
        us=$(awk '/^BENCH / { sub(/.*duration_us=/, ""); print $1 + 0 }' \
            "$OUT/nginx-$cfg/wrk-$i.txt")
        cmd=$(awk -F'[:,=]' -v re="$ROLLUP_COMMANDS" '
            $1 ~ re { s += $5 }
            END { print s + 0 }' "$OUT/redis/commandstats-$i-$cfg.txt")
        check=ok
        if [ "$cfg" = on ]; then
            pv=$(pageviews)
            [ "$pv" = "$ev" ] || check="pageviews=$pv"
            [ "$((d1 - d0))" = 0 ] || check="$check dropped=$((d1 - d0))"
        else
            [ "$(rcli --scan --pattern "$PREFIX:*" | head -1)" = "" ] \
                || check="rollup keys with rollups off"
        fi
        line=$(awk -v req="$req" -v us="$us" -v ev="$ev" \
            -v c=$((c1 - c0)) -v n=$((n1 - n0)) -v hz="$hz" -v cmd="$cmd" \
            -v w="$WRK_CPU" -v b=$((b1 - b0)) -v ms=$((t1 - t0)) 'BEGIN {
                o = ((b / hz) - (n / hz) - w) / (ms / 1000);
                # Redis CPU during the load alone is not known apart: the
                # rest of the busy time, less nginx and wrk, is "others"
                # and Redis together; Redis is taken out below
                printf "%.0f %.2f %.3f %.3f %.2f %.2f",
                    req / (us / 1000000), n / hz * 1000000 / req,
                    c / ev, cmd / ev, w / (ms / 1000), o }')
        read -r rps ngx rds cmdus wrkc o <<< "$line"
        # others: busy CPUs less nginx, wrk and Redis' share of the window
        others=$(awk -v o="$o" -v c=$((c1 - c0)) -v ms=$((t1 - t0)) \
            'BEGIN { x = o - c / 1000 / ms; if (x < 0) x = 0;
                     printf "%.2f", x }')
        rps_l[$cfg]="${rps_l[$cfg]:-} $rps"
        rds_l[$cfg]="${rds_l[$cfg]:-} $rds"
        ngx_l[$cfg]="${ngx_l[$cfg]:-} $ngx"
        printf '  %-3s %-4s %8s %8s %9s %9s %9s %6s %6s %s\n' "$i" "$cfg" \
            "$rps" "$ev" "$ngx" "$rds" "$cmdus" "$wrkc" "$others" "$check"
        for m in rps ev ngx rds cmdus wrkc others check; do
            tsv "run$i" "$cfg" "$m" "${!m}"
        done
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 }
    END { if (NR % 2) print v[(NR + 1) / 2];
          else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "  (ngx us/r: the worker's utime+stime per request during the load;"
echo "   rds us/ev: Redis' used_cpu_user+sys from before the load to the"
echo "   end of the drain, per event; cmd us/ev: INFO commandstats' usec"
echo "   of the rollups' commands, per event; wrk and others: CPUs)"

declare -A med_rps med_rds med_ngx
for cfg in on off; do
    med_rps[$cfg]=$(echo "${rps_l[$cfg]}" | median)
    med_rds[$cfg]=$(echo "${rds_l[$cfg]}" | median)
    med_ngx[$cfg]=$(echo "${ngx_l[$cfg]}" | median)
    tsv median "$cfg" rps "${med_rps[$cfg]}"
    tsv median "$cfg" ngx "${med_ngx[$cfg]}"
    tsv median "$cfg" rds "${med_rds[$cfg]}"
done

rds_diff=$(awk -v a="${med_rds[on]}" -v b="${med_rds[off]}" \
    'BEGIN { printf "%.3f", a - b }')
rps_ratio=$(awk -v a="${med_rps[on]}" -v b="${med_rps[off]}" \
    'BEGIN { printf "%.3f", a / b }')
ngx_diff=$(awk -v a="${med_ngx[on]}" -v b="${med_ngx[off]}" \
    'BEGIN { printf "%.2f", a - b }')
tsv median on/off rps "$rps_ratio"
tsv median on-off ngx "$ngx_diff"
tsv median on-off rds "$rds_diff"

echo
echo "summary (medians of $runs runs):"
printf '  %-32s %12s %12s %12s\n' '' 'rollups on' off 'on - off'
printf '  %-32s %12s %12s %12s\n' 'req/s' "${med_rps[on]}" \
    "${med_rps[off]}" "x $rps_ratio"
printf '  %-32s %12s %12s %12s\n' 'nginx worker us per request' \
    "${med_ngx[on]}" "${med_ngx[off]}" "$ngx_diff"
printf '  %-32s %12s %12s %12s\n' 'Redis us per event' "${med_rds[on]}" \
    "${med_rds[off]}" "$rds_diff"
if [ "$DO_CG" = 1 ]; then
    printf '  %-32s %12s %12s %12s\n' 'instructions per request' \
        "${ir[ct_get]}" "${ir[ct_get_norollup]}" "$diff"
fi
verdict() {
    awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "met" : "NOT met" }'
}
echo "  Redis CPU for the rollups: $rds_diff us per event (target <= 0.2):" \
     "$(verdict "$rds_diff" 0.2)"
[ "$DO_CG" = 1 ] && echo "  instructions on the beacon's path" \
     "(rollup_add): $add per request; summed after the requests" \
     "(rollup_sum_raw): $sum; all the rollups' work: $diff"
echo
echo "uptime after: $(uptime)"
tsv conditions - uptime_after "$(uptime)"
for cfg in on off; do
    cp "$OUT/nginx-$cfg/logs/error.log" "$OUT/error-$cfg.log"
    e=$(grep -c -E '\[(error|crit|alert|emerg)\]' "$OUT/error-$cfg.log" || true)
    echo "error log ($cfg): $e error+ lines"
done
echo "results: ${results#"$top"/}, report: ${OUT#"$top"/}/report.txt"
