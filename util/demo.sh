#!/bin/bash
# The demo: a private Redis, and nginx with the module on
# http://127.0.0.1:8080/ serving demo/ with a beacon location and the
# status page.  Runs in the foreground; Ctrl-C stops both.  It starts
# with a little traffic (util/demo-traffic.pl: today's through the beacon,
# the 30 days before written to the rollups), so that the dashboard's
# overview is full at once; DEMO_TRAFFIC=0 starts empty.
#
#   DEMO_PORT=8080 DEMO_REDIS_PORT=6390 DEMO_DIR=build/demo util/demo.sh
#
# NGINX_BINARY and DEMO_MODULE (the browser tests' own) run another nginx
# and module than Debian's and build/'s.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8080}
redis_port=${DEMO_REDIS_PORT:-6390}
run=${DEMO_DIR:-$top/build/demo}
nginx=${NGINX_BINARY:-/usr/sbin/nginx}

rm -rf "$run"
mkdir -p "$run/conf" "$run/logs" "$run/tmp" "$run/redis"

# countries when nginx's geoip module and the database are there
if [ -f /usr/lib/nginx/modules/ngx_http_geoip_module.so ] \
   && [ -f /usr/share/GeoIP/GeoIP.dat ] \
   && [ "$nginx" = /usr/sbin/nginx ]
then
    geoip='s|^@GEOIP@||'
else
    geoip='/^@GEOIP@/d'
fi

module=${DEMO_MODULE:-$top/build/ngx_http_clicktrack_module.so}

sed -e "s|@MODULE@|$module|" \
    -e "$geoip" \
    -e "s|@ROOT@|$top/demo|" \
    -e "s|@PORT@|$port|" \
    -e "s|@REDIS_PORT@|$redis_port|" \
    "$top/demo/nginx.conf.in" > "$run/conf/nginx.conf"

redis_pid=
nginx_pid=

stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping the demo"
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    exit 0
}
trap stop INT TERM EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$run/redis" \
    --save '' --appendonly no --logfile "$run/logs/redis.log" &
redis_pid=$!

"$nginx" -p "$run/" -c conf/nginx.conf -t -q
"$nginx" -p "$run/" -c conf/nginx.conf -g 'daemon off;' &
nginx_pid=$!

sleep 0.5
kill -0 "$nginx_pid" 2>/dev/null || { echo "nginx did not start: see $run/logs/error.log"; exit 1; }

if [ "${DEMO_TRAFFIC:-1}" != 0 ]; then
    "$top/util/demo-traffic.pl" "$port" "$redis_port"
fi

cat <<MSG

clicktrack demo
  demo site:    http://127.0.0.1:$port/
  dashboard:    http://127.0.0.1:$port/clicktrack/dashboard
  beacon:       http://127.0.0.1:$port/ct?t=click&l=hello
  status:       http://127.0.0.1:$port/clicktrack/status
  stream:       curl -N http://127.0.0.1:$port/clicktrack/stream
  export:       http://127.0.0.1:$port/clicktrack/stream?format=csv
  stats:        curl "http://127.0.0.1:$port/clicktrack/stats?period=7d"
  events:       redis-cli -p $redis_port LRANGE clicktrack:events 0 -1
  live feed:    redis-cli -p $redis_port XREAD BLOCK 0 STREAMS clicktrack:recent \\$
  logs:         $run/logs/

Ctrl-C stops nginx and Redis.
MSG

wait "$nginx_pid"
