#!/bin/bash
#
# make -f Makefile.local test-debug: nginx 1.22.1 and the module built
# --with-debug (gcc, nginx's own -Werror), then the whole suite against
# that binary.  A module's ngx_log_debugN() lines compile to nothing
# unless the nginx it is built with was configured --with-debug, and
# Debian's /usr/sbin/nginx is not: this is the build that prints them,
# and the suite's error_log is at "debug" (Test::Nginx's default), so
# every line is formatted and written.  The nginx source is Debian's
# upstream tarball, fetched as util/asan.sh has it (util/fuzz/build.sh)
# into build/debug/nginx; objects, servroot and logs stay in build/debug.
#
#   util/debug.sh [prove arguments]   build, then the suite (or those tests)
#   util/debug.sh --build             build only: build/debug/objs/nginx
#                                     and ngx_http_clicktrack_module.so

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/debug

# the same packages as util/asan.sh's: the tarball's fetch, the build's
# clang check, nginx's libraries, the suite's
"$top/util/deps.sh" asan

# the nginx source tree (build.sh fetches and keeps it)
BUILD=$out "$top/util/fuzz/build.sh" warnings

if [ ! -f "$out/objs/Makefile" ] || [ "$top/config" -nt "$out/objs/Makefile" ]
then
    rm -rf "$out/objs"
    (cd "$out/nginx" && ./configure --prefix="$out/prefix" \
        --builddir="$out/objs" --with-cc-opt="-g -O1" \
        --with-compat --with-debug --with-threads \
        --with-http_ssl_module --with-http_v2_module \
        --with-http_realip_module \
        --add-dynamic-module="$top" > "$out/configure.log" 2>&1) || {
        tail -30 "$out/configure.log" >&2
        echo "util/debug.sh: configure failed" >&2
        exit 1
    }
fi

(cd "$out/nginx" && make -f "$out/objs/Makefile" -j"$(nproc)" \
    > "$out/make.log" 2>&1) || {
    tail -30 "$out/make.log" >&2
    echo "util/debug.sh: nginx with the module did not build" >&2
    exit 1
}

if [ "${1:-}" = --build ]; then
    echo "$out/objs/nginx"
    echo "$out/objs/ngx_http_clicktrack_module.so"
    exit 0
fi

TEST_NGINX_BINARY=$out/objs/nginx \
TEST_NGINX_LOAD_MODULES=$out/objs/ngx_http_clicktrack_module.so \
FAULTS_MODULE=$out/objs/ngx_http_clicktrack_module.so \
TEST_NGINX_SERVROOT=$out/servroot \
TEST_NGINX_LOG_LEVEL=debug \
    exec "$top/util/test.sh" "$@"
