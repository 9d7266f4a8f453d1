#!/bin/bash
# The stats API over 30 days with full tables: a private Redis is filled,
# by "redis-cli --pipe", with 30 days of one site's rollups as the module
# writes them (TOP entries in each of the 15 tables every day, the counts
# hash with its hours, the visitors' and visits' HyperLogLogs of a few
# thousand ids a day), then one nginx worker answers
# /stats?site=bench.example&from=...&to=... REQUESTS times, one at a time,
# and the latency of each answer (curl's time_total) gives the median,
# p90, p99 and max.
#
#   util/bench/run stats [REQUESTS [TOP]]      (default 200 1000)
#
# Environment: BENCH_MODULE=FILE (default build/ngx_http_clicktrack_module.so)

set -eu

requests=${1:-200}
top_n=${2:-1000}
top=$(cd "$(dirname "$0")/../.." && pwd)
module=${BENCH_MODULE:-$top/build/ngx_http_clicktrack_module.so}
nginx=${NGINX_BINARY:-/usr/sbin/nginx}
tmp=$(mktemp -d /tmp/clicktrack-stats-bench.XXXXXX)
redis_pid=
nginx_pid=

cleanup() {
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

[ -f "$module" ] || { echo "no module at $module" >&2; exit 1; }

port() { "$top/util/free-port.pl"; }

redis_port=$(port)
http_port=$(port)

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" &
redis_pid=$!

for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.05
done

# 30 days ending today (UTC), as the rollups write them

perl -e '
    use POSIX ();
    my ($top) = @ARGV;
    my @tables = qw(pages referrers utm_source utm_medium utm_campaign
                    utm_content utm_term countries browsers os devices
                    events labels outbound downloads);
    sub cmd { my $s = "*" . @_ . "\r\n";
              $s .= "\$" . length($_) . "\r\n$_\r\n" for @_; print $s }
    for my $d (0 .. 29) {
        my $day = POSIX::strftime("%Y-%m-%d", gmtime(time - 86400 * $d));
        my $base = "clicktrack:stats:{bench.example}:$day";
        cmd("ZINCRBY", "clicktrack:stats:sites:$day", 5000, "bench.example");
        cmd("HSET", "$base:counts", "events", 5000, "pageviews", 4000,
            map { (sprintf("events:%02d", $_), 200,
                   sprintf("pageviews:%02d", $_), 160) } 0 .. 23);
        for my $k (qw(visitors visits)) {
            for my $chunk (0 .. 3) {
                cmd("PFADD", "$base:$k",
                    map { "$k-$d-" . ($chunk * 500 + $_) } 1 .. 500);
            }
        }
        for my $t (@tables) {
            for my $chunk (0 .. int(($top - 1) / 250)) {
                my @args;
                for my $i ($chunk * 250 + 1 .. ($chunk + 1) * 250) {
                    last if $i > $top;
                    push @args, int(1000 / $i) + 1,
                                "/$t/entry-number-$i-" . ("x" x 20);
                }
                cmd("ZADD", "$base:$t", @args);
            }
        }
    }' "$top_n" | redis-cli -p "$redis_port" --pipe > "$tmp/pipe.txt"

mkdir -p "$tmp/logs" "$tmp/conf"
cat > "$tmp/conf/nginx.conf" <<CONF
load_module $module;
worker_processes 1;
daemon off;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    clicktrack_redis 127.0.0.1:$redis_port;
    clicktrack_rollup clicktrack:stats top=$top_n;
    server {
        listen 127.0.0.1:$http_port;
        location = /stats { clicktrack_stats; }
    }
}
CONF

"$nginx" -p "$tmp/" -c conf/nginx.conf &
nginx_pid=$!

from=$(date -u -d '29 days ago' +%F)
to=$(date -u +%F)
url="http://127.0.0.1:$http_port/stats?site=bench.example&from=$from&to=$to"

for _ in $(seq 100); do
    curl -s -o /dev/null "$url" && break
    sleep 0.05
done

curl -s "$url" > "$tmp/answer.json"
size=$(wc -c < "$tmp/answer.json")
grep -q '"pages":\[\["' "$tmp/answer.json" \
    || { echo "no pages in the answer:"; head -c 300 "$tmp/answer.json"; exit 1; }

for _ in $(seq "$requests"); do
    curl -s -o /dev/null -w '%{time_total}\n' "$url"
done | sort -n > "$tmp/times"

awk -v n="$requests" -v top="$top_n" -v size="$size" '
    { t[NR] = $1 * 1000 }
    END {
        printf "stats, 30 days, top=%d, %d requests, answer %d bytes\n",
               top, n, size
        printf "median %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               t[int(n * 0.5 + 0.5)], t[int(n * 0.9 + 0.5)],
               t[int(n * 0.99 + 0.5)], t[n]
    }' "$tmp/times"
