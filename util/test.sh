#!/bin/bash
# The whole test suite: a private Redis on a free loopback port, then
# prove over t/ (and the fallback runner's own tests).  Called by
# "make -f Makefile.local test", which builds the module first.
#
# Test::Nginx::Socket: the real one when installed (in @INC, or under
# $TEST_NGINX_LIB), else the project's compatible runner in util/test-nginx.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

free_port() {
    "$top/util/free-port.pl"
}

tmp=$(mktemp -d /tmp/clicktrack-test.XXXXXX)
redis_pid=

cleanup() {
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    # a test that stopped halfway must not leave its nginx running
    pidfile=${TEST_NGINX_SERVROOT:-$top/t/servroot}/logs/nginx.pid
    if [ -f "$pidfile" ]; then
        kill -QUIT "$(cat "$pidfile")" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export TEST_NGINX_REDIS_PORT=${TEST_NGINX_REDIS_PORT:-$(free_port)}
export TEST_NGINX_PORT=${TEST_NGINX_PORT:-$(free_port)}
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$top/build/ngx_http_clicktrack_module.so}
export TEST_NGINX_REDIS_SERVER=${TEST_NGINX_REDIS_SERVER:-$(command -v redis-server)}

redis-server --port "$TEST_NGINX_REDIS_PORT" --bind 127.0.0.1 \
    --dir "$tmp" --save '' --appendonly no --daemonize no \
    --logfile "$tmp/redis.log" &
redis_pid=$!

for _ in $(seq 50); do
    if redis-cli -p "$TEST_NGINX_REDIS_PORT" ping >/dev/null 2>&1; then
        break
    fi
    sleep 0.1
done
redis-cli -p "$TEST_NGINX_REDIS_PORT" ping >/dev/null

inc=()
if [ -n "${TEST_NGINX_LIB:-}" ]; then
    inc=(-I "$TEST_NGINX_LIB")
    echo "Test::Nginx from $TEST_NGINX_LIB"
elif perl -MTest::Nginx::Socket -e 1 2>/dev/null; then
    echo "Test::Nginx: the installed one"
else
    inc=(-I "$top/util/test-nginx/lib")
    echo "Test::Nginx: the project's fallback runner (util/test-nginx)"
fi

echo "redis on 127.0.0.1:$TEST_NGINX_REDIS_PORT, nginx on :$TEST_NGINX_PORT"
# the libhiredis the module loads (HIREDIS=PREFIX builds in an rpath)
echo "hiredis: $(ldd "${TEST_NGINX_LOAD_MODULES%% *}" 2>/dev/null \
                 | sed -n 's/^[[:space:]]*libhiredis[^ ]* => \([^ ]*\).*/\1/p')"

status=0

# the fallback runner proves itself first
if [ ${#inc[@]} -gt 0 ] && [ "${inc[1]}" = "$top/util/test-nginx/lib" ]; then
    prove "${inc[@]}" util/test-nginx/t/ || status=1
fi

prove "${inc[@]}" -I "$top/t/lib" -r "${@:-t/}" || status=1

# with the whole suite only: the browser tests (headless Chromium), and
# the fault-injection suite (its own Redis and nginx per scenario, a few
# minutes at most)
if [ $# -eq 0 ]; then
    # Chromium and playwright-core, when this was not run by make
    util/deps.sh test || status=1
    node --test t/browser/ || status=1
    util/faults/run || status=1
fi

exit $status
