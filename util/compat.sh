#!/bin/bash
# Builds nginx from a source tree you give (a release tarball or a git
# checkout of github.com/nginx/nginx) with the module, and runs the whole
# suite against that nginx binary.  Nothing is downloaded: fetch the
# source yourself.  Output goes under build/compat-VERSION/.
#
#   util/compat.sh /path/to/nginx-source [prove arguments]
#
# HIREDIS=PREFIX (util/hiredis.sh) builds the module against that hiredis
# (build/compat-VERSION-hiredis-NAME/).
#
# docs/compatibility.md lists the versions checked this way.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:?usage: util/compat.sh NGINX_SOURCE_DIR [t/...]}
shift
src=$(cd "$src" && pwd)

# a release tarball has ./configure, a git checkout auto/configure
if [ -x "$src/configure" ]; then
    configure=./configure
elif [ -f "$src/auto/configure" ]; then
    configure=auto/configure
else
    echo "util/compat.sh: $src is not an nginx source tree" >&2
    exit 2
fi

version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' \
          "$src/src/core/nginx.h")
out=$top/build/compat-$version

hiredis_opt=()
if [ -n "${HIREDIS:-}" ]; then
    HIREDIS=$(cd "$HIREDIS" && pwd)
    out=$out-hiredis-$(basename "$HIREDIS")
    hiredis_opt=(--with-cc-opt="-I$HIREDIS/include"
                 --with-ld-opt="-L$HIREDIS/lib -Wl,-rpath,$HIREDIS/lib")
fi
rm -rf "$out"
mkdir -p "$out"
cp -a "$src" "$out/nginx"

echo "nginx $version: building into $out"

# the modules the suite uses, as Debian's nginx has them
(cd "$out/nginx" && $configure --prefix="$out/prefix" \
    --with-compat --with-debug --with-threads \
    --with-http_ssl_module --with-http_v2_module --with-http_realip_module \
    ${hiredis_opt[@]+"${hiredis_opt[@]}"} \
    --add-dynamic-module="$top" > "$out/configure.log" 2>&1 \
    && make -j"$(nproc)" > "$out/make.log" 2>&1) || {
    tail -30 "$out/configure.log" "$out/make.log" >&2
    echo "util/compat.sh: nginx $version with the module did not build" >&2
    exit 1
}

TEST_NGINX_BINARY=$out/nginx/objs/nginx \
TEST_NGINX_LOAD_MODULES=$out/nginx/objs/ngx_http_clicktrack_module.so \
FAULTS_MODULE=$out/nginx/objs/ngx_http_clicktrack_module.so \
TEST_NGINX_SERVROOT=$out/servroot \
    "$top/util/test.sh" "$@"
