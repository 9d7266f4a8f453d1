#!/bin/bash
# Instructions per request of one nginx worker, counted by callgrind:
# repeatable on a busy machine, unlike requests/s.
#
#   util/bench/run callgrind [TARGET...]     default: empty_gif ct_get
#
# TARGET is one of empty_gif, log, ct_get, ct_get_norecent,
# ct_get_norollup (clicktrack_rollup off), ct_post.
# For each, nginx runs in one process (master_process off) under
# valgrind --tool=callgrind with a private Redis; wrk loads it for a
# warm-up, the counters are zeroed, wrk loads it again for CG_SECONDS at
# CG_CONNECTIONS connections, the counters are dumped, and the instruction
# count is divided by the requests nginx handled meanwhile (stub_status).
# The profile stays in build/bench/callgrind/TARGET/ for callgrind_annotate.
#
# Environment: CG_SECONDS=8 CG_CONNECTIONS=8 BENCH_MODULE=FILE
#   CG_OUT=DIR (default build/bench/callgrind); BENCH_PATHS, BENCH_HOST
#   go to wrk.lua (GET a mix of requests instead of one: rollup.sh)

set -eu
set -o pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/util/bench
MODULE=${BENCH_MODULE:-$top/build/ngx_http_clicktrack_module.so}
NGINX=${NGINX_BINARY:-/usr/sbin/nginx}
SECONDS_=${CG_SECONDS:-8}
CONNS=${CG_CONNECTIONS:-8}
OUT=${CG_OUT:-$top/build/bench/callgrind}
QUERY='/ct?t=click&l=x&u=https%3A%2F%2Fexample.com%2F'
KEY=bench:events
BATCH=20

[ $# -gt 0 ] || set -- empty_gif ct_get
[ -f "$MODULE" ] || { echo "no module at $MODULE" >&2; exit 1; }

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0, ReuseAddr => 1)
            or die "no free port: $!\n";
        print $s->sockport, "\n";'
}

redis_pid=
vg_pid=
cleanup() {
    [ -n "$vg_pid" ] && kill -QUIT "$vg_pid" 2>/dev/null && wait "$vg_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    return 0
}
trap cleanup EXIT

mkdir -p "$OUT"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$OUT" --logfile "$OUT/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.05
done

printf '[' > "$OUT/body.json"
for i in $(seq $BATCH); do
    [ "$i" -gt 1 ] && printf ',' >> "$OUT/body.json"
    printf '{"t":"click","l":"x%d","u":"https://example.com/"}' "$i" \
        >> "$OUT/body.json"
done
printf ']' >> "$OUT/body.json"

stub() {
    curl -s "http://127.0.0.1:$port/bench_status" | awk 'NR == 3 { print $3 }'
}

printf '%-16s %10s %14s %12s\n' target requests instructions 'Ir/request'

for target in "$@"; do
    dir=$OUT/$target
    rm -rf "$dir"
    mkdir -p "$dir/conf" "$dir/logs" "$dir/tmp"
    port=$(free_port)
    loads="" http="" loc="empty_gif;" body=""
    case "$target" in
    empty_gif) ;;
    log)
        http="log_format beacon escape=json
        '{\"ts\":\"\$time_iso8601\",\"type\":\"\$arg_t\",\"label\":\"\$arg_l\",'
        '\"url\":\"\$arg_u\",\"ip\":\"\$remote_addr\",'
        '\"ua\":\"\$http_user_agent\",\"host\":\"\$host\"}';"
        loc="empty_gif;
            access_log logs/beacon.log beacon buffer=64k flush=1s;" ;;
    ct_get|ct_get_norecent|ct_get_norollup|ct_post)
        loads="load_module $MODULE;"
        http="clicktrack_redis 127.0.0.1:$redis_port;
    clicktrack_list $KEY;"
        [ "$target" = ct_get_norecent ] && http="$http
    clicktrack_recent off;"
        [ "$target" = ct_get_norollup ] && http="$http
    clicktrack_rollup off;"
        [ "$target" = ct_post ] && body=$OUT/body.json
        loc="clicktrack_beacon;
            clicktrack_cookie off;" ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    cat > "$dir/conf/nginx.conf" <<CONF
$loads
daemon off;
master_process off;
worker_processes 1;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    $http
    server {
        listen 127.0.0.1:$port;
        location = /ct { $loc }
        location = /bench_status { stub_status; }
    }
}
CONF
    valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
        --dump-instr=no --collect-atstart=yes \
        "$NGINX" -p "$dir/" -e logs/error.log -c conf/nginx.conf \
        > "$dir/valgrind.txt" 2>&1 &
    vg_pid=$!
    for _ in $(seq 200); do
        curl -s -o /dev/null "http://127.0.0.1:$port/bench_status" && break
        sleep 0.1
    done
    BENCH_BODY=$body wrk -t1 -c"$CONNS" -d3s -s "$bench/wrk.lua" \
        "http://127.0.0.1:$port$QUERY" > "$dir/wrk-warmup.txt" 2>&1
    sleep 0.5
    callgrind_control -z "$vg_pid" > /dev/null 2>&1
    s0=$(stub)
    BENCH_BODY=$body wrk -t1 -c"$CONNS" -d"${SECONDS_}s" -s "$bench/wrk.lua" \
        "http://127.0.0.1:$port$QUERY" > "$dir/wrk.txt" 2>&1
    sleep 0.5      # the last flush of the queue
    s1=$(stub)
    callgrind_control -d "$vg_pid" > /dev/null 2>&1
    kill -QUIT "$vg_pid"
    wait "$vg_pid" || true
    vg_pid=
    # the dump made by -d: the file with the highest part number
    f=$(ls -v "$dir"/callgrind.out.* 2>/dev/null | tail -1)
    [ -n "$f" ] || f=$dir/callgrind.out
    ir=$(awk '/^summary:/ { print $2 }' "$f")
    n=$((s1 - s0 - 1))
    printf '%-16s %10d %14d %12.0f\n' "$target" "$n" "$ir" \
        "$(awk -v a="$ir" -v b="$n" 'BEGIN { print a / b }')"
    callgrind_annotate "$f" 2>/dev/null | head -60 > "$dir/annotate.txt"
done
