#!/bin/bash
#
# make -f Makefile.local test-asan: nginx 1.22.1 itself and the module
# built with clang -fsanitize=address,undefined, --with-debug and
# NGX_DEBUG_PALLOC (every pool allocation its own malloc, so ASan sees a
# write past it), then the whole suite against that binary.  The nginx
# source is Debian's upstream tarball, fetched by util/fuzz/build.sh
# (apt-get source --download-only) into build/asan/nginx.  Sanitizer
# reports go to build/asan/report.*; any report fails the run.  UBSan
# suppressions (nginx's own code only, each explained): util/asan.supp.
#
#   util/asan.sh [prove arguments]

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/asan

"$top/util/deps.sh" asan

# the nginx source tree (build.sh fetches and keeps it)
BUILD=$out "$top/util/fuzz/build.sh" warnings

flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined"
flags="$flags -DNGX_DEBUG_PALLOC=1"

# A dynamic module's own ngx_modules[] (objs/*_modules.c) is interposed by
# the binary's: ASan then registers the module's 2-entry array at the
# binary's address and reports nginx's memcpy of the whole list at every
# reload.  Globals are not instrumented, so that false report goes; heap,
# pool and stack accesses still are.
flags="$flags -mllvm -asan-globals=0"

if [ ! -f "$out/objs/Makefile" ] \
   || [ "$top/config" -nt "$out/objs/Makefile" ] \
   || [ "$(cat "$out/flags" 2>/dev/null)" != "$flags" ]
then
    rm -rf "$out/objs"
    echo "$flags" > "$out/flags"
    (cd "$out/nginx" && ./configure --prefix="$out/prefix" \
        --builddir="$out/objs" --with-cc=clang \
        --with-cc-opt="$flags" --with-ld-opt="-fsanitize=address,undefined" \
        --with-compat --with-debug --with-threads \
        --with-http_ssl_module --with-http_v2_module \
        --with-http_realip_module \
        --add-dynamic-module="$top" > "$out/configure.log" 2>&1) || {
        tail -30 "$out/configure.log" >&2
        echo "util/asan.sh: configure failed" >&2
        exit 1
    }
fi

(cd "$out/nginx" && make -f "$out/objs/Makefile" -j"$(nproc)" \
    > "$out/make.log" 2>&1) || {
    tail -30 "$out/make.log" >&2
    echo "util/asan.sh: nginx with the module did not build" >&2
    exit 1
}

rm -f "$out"/report.*

# nginx frees its pools at exit only in part: leaks are valgrind's part
# (make test-valgrind, valgrind.suppress)
export ASAN_OPTIONS="detect_leaks=0:log_path=$out/report:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$out/report"
UBSAN_OPTIONS="$UBSAN_OPTIONS:suppressions=$top/util/asan.supp"

rc=0
TEST_NGINX_BINARY=$out/objs/nginx \
TEST_NGINX_LOAD_MODULES=$out/objs/ngx_http_clicktrack_module.so \
FAULTS_MODULE=$out/objs/ngx_http_clicktrack_module.so \
TEST_NGINX_SERVROOT=$out/servroot \
    "$top/util/test.sh" "$@" || rc=$?

if ls "$out"/report.* > /dev/null 2>&1; then
    cat "$out"/report.* >&2
    echo "util/asan.sh: sanitizer reports above" >&2
    rc=1
fi

exit $rc
