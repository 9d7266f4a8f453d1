#!/bin/bash
# The Debian package libnginx-mod-http-clicktrack.
#
#   util/deb.sh build    dpkg-buildpackage -b -us -uc on a copy of the
#                        tree under build/deb/; the .deb lands there
#   util/deb.sh test     install that .deb, run the system nginx with the
#                        module enabled the Debian way, send a beacon, read
#                        it back from Redis, then purge the package again
#
# Called by "make -f Makefile.local deb" and "make -f Makefile.local
# test-deb".  The test changes the machine (dpkg -i, then purge): it is
# meant for CI and for a developer's own machine, as root.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/deb
pkg=libnginx-mod-http-clicktrack

build() {
    rm -rf "$out"
    mkdir -p "$out/src"

    # the files git knows plus new ones not ignored: what a release holds
    (cd "$top" && git ls-files -z --cached --others --exclude-standard) \
        | (cd "$top" && xargs -0 cp --parents -t "$out/src" 2>/dev/null \
           || true)

    # git ls-files lists deleted files too; the copy skips them
    (cd "$out/src" && dpkg-buildpackage -b -us -uc) \
        > "$out/build.log" 2>&1 || {
        tail -40 "$out/build.log" >&2
        echo "util/deb.sh: dpkg-buildpackage failed, see $out/build.log" >&2
        exit 1
    }

    ls "$out"/${pkg}_*.deb
}

free_port() {
    "$top/util/free-port.pl"
}

fail() {
    echo "not ok - $*" >&2
    exit 1
}

run_test() {
    local deb
    deb=$(ls "$out"/${pkg}_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || fail "no package under $out: run util/deb.sh build"

    if dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null \
            | grep -q 'install ok installed'; then
        fail "$pkg is already installed; the test would remove it"
    fi

    # globals: the EXIT trap runs after this function has returned
    redis_pid= nginx_pid=
    tmp=$(mktemp -d /tmp/clicktrack-deb.XXXXXX)
    redis_port=$(free_port)
    port=$(free_port)

    cleanup() {
        [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null || true
        [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
        wait 2>/dev/null || true
        DEBIAN_FRONTEND=noninteractive dpkg --purge "$pkg" >/dev/null 2>&1 \
            || true
        rm -rf "$tmp"
    }
    trap cleanup EXIT INT TERM

    DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" > "$tmp/dpkg.log" 2>&1 \
        || { cat "$tmp/dpkg.log" >&2; fail "dpkg -i $deb"; }
    echo "ok - dpkg -i $(basename "$deb")"

    # what the package put where
    so=/usr/lib/nginx/modules/ngx_http_clicktrack_module.so
    avail=/usr/share/nginx/modules-available/mod-http-clicktrack.conf
    [ -f "$so" ] || fail "$so is not installed"
    [ -f "$avail" ] || fail "$avail is not installed"
    grep -q 'load_module modules/ngx_http_clicktrack_module.so;' "$avail" \
        || fail "$avail does not load the module"
    link=$(ls /etc/nginx/modules-enabled/*mod-http-clicktrack.conf \
           2>/dev/null | head -1)
    [ -n "$link" ] && [ "$(readlink -f "$link")" = "$avail" ] \
        || fail "no symlink to $avail in /etc/nginx/modules-enabled"
    echo "ok - $so, $avail, enabled as $link"

    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" \
        --save '' --appendonly no --logfile "$tmp/redis.log" &
    redis_pid=$!
    for _ in $(seq 50); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done

    # the system nginx, loading the module only through modules-enabled
    # as /etc/nginx/nginx.conf does, but with a configuration of its own,
    # so that none of the machine's sites is touched
    mkdir -p "$tmp/logs"
    cat > "$tmp/nginx.conf" <<EOF
include /etc/nginx/modules-enabled/*.conf;
worker_processes 1;
error_log $tmp/logs/error.log info;
pid $tmp/logs/nginx.pid;
events { }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    clicktrack_redis 127.0.0.1:$redis_port;
    clicktrack_list clicktrack:debtest;
    server {
        listen 127.0.0.1:$port;
        location = /ct { clicktrack_beacon; }
        location = /clicktrack/status { clicktrack_status; }
    }
}
EOF
    /usr/sbin/nginx -t -q -c "$tmp/nginx.conf" \
        || fail "nginx -t with the packaged module"
    /usr/sbin/nginx -c "$tmp/nginx.conf" \
        || fail "the system nginx did not start with the module"
    for _ in $(seq 50); do
        [ -s "$tmp/logs/nginx.pid" ] && break
        sleep 0.1
    done
    nginx_pid=$(cat "$tmp/logs/nginx.pid")
    echo "ok - /usr/sbin/nginx runs with the packaged module"

    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' \
           -A 'Mozilla/5.0 (X11; Linux x86_64) deb-test' \
           "http://127.0.0.1:$port/ct?t=click&l=from-the-package")
    [ "$code" = 200 ] || fail "beacon answered $code, not 200"

    local got=
    for _ in $(seq 50); do
        got=$(redis-cli -p "$redis_port" lrange clicktrack:debtest 0 -1)
        [ -n "$got" ] && break
        sleep 0.1
    done
    case "$got" in
        *'"type":"click"'*'"label":"from-the-package"'*) ;;
        *) fail "the event did not reach Redis: '$got'" ;;
    esac
    echo "ok - the beacon's event is in Redis: $got"

    kill -QUIT "$nginx_pid"
    for _ in $(seq 50); do
        kill -0 "$nginx_pid" 2>/dev/null || break
        sleep 0.1
    done
    nginx_pid=

    DEBIAN_FRONTEND=noninteractive dpkg --purge "$pkg" > "$tmp/dpkg.log" \
        2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg --purge $pkg"; }
    [ ! -e "$so" ] || fail "$so is left after purge"
    [ ! -e "$link" ] || fail "$link is left after purge"
    echo "ok - dpkg --purge removed the module and its symlink"
}

case "${1:-}" in
    build) build ;;
    test)  run_test ;;
    *) echo "usage: util/deb.sh build|test" >&2; exit 2 ;;
esac
