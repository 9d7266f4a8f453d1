#!/bin/sh
#
# Builds the event layer's test driver and fuzz target from the real
# src/ngx_http_clicktrack_event.c and src/ngx_http_clicktrack_record.c (the
# parsers and the record's writer) and six nginx core files (pools,
# strings, arrays, times), without the rest of nginx.
#
#   util/fuzz/build.sh [warnings] [driver] [asan] [fuzz]
#
#   warnings  compile event.c and record.c alone with gcc and clang,
#             -Werror and the module's warning flags
#   driver    $BUILD/event_driver       (gcc -O1 -g; for valgrind)
#   asan      $BUILD/event_driver_asan  (clang, ASan + UBSan)
#   fuzz      $BUILD/event_fuzz         (clang libFuzzer + ASan + UBSan)
#
# Default: warnings driver asan (fuzz too when clang has libFuzzer).
#
# Environment:
#   NGINX_SRC  an nginx source tree; used when it holds src/core/*.c.
#              Debian's nginx-dev (/usr/share/nginx/src) has only the
#              headers, so otherwise the upstream tarball of the same
#              nginx version is fetched once with `apt-get source
#              --download-only` (private apt lists: the system's apt
#              configuration is not touched).
#   BUILD      output directory (default /tmp/clicktrack-fuzz)
#   CC, CLANG  compilers (default gcc, clang)

set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-/tmp/clicktrack-fuzz}
NGINX_SRC=${NGINX_SRC:-/usr/share/nginx/src}
CC=${CC:-gcc}
CLANG=${CLANG:-clang}

CORE="src/core/ngx_palloc.c src/core/ngx_string.c src/core/ngx_array.c
      src/core/ngx_times.c src/os/unix/ngx_alloc.c src/os/unix/ngx_time.c"

UNITS="$ROOT/src/ngx_http_clicktrack_event.c
       $ROOT/src/ngx_http_clicktrack_json.c
       $ROOT/src/ngx_http_clicktrack_record.c
       $ROOT/src/ngx_http_clicktrack_url.c
       $ROOT/src/ngx_http_clicktrack_ua.c"

WARN="-Wall -Wextra -Wpointer-arith -Wno-unused-parameter -Werror"

mkdir -p "$BUILD"

say() {
    echo "build.sh: $*" >&2
}


# an nginx tree with the core sources in $BUILD/nginx

nginx_version() {
    sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' "$1/src/core/nginx.h"
}

fetch_nginx() {
    ver=$1
    apt="$BUILD/apt"

    say "fetching the nginx $ver sources (apt-get source --download-only)"

    rm -rf "$apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" \
             "$apt/sources.list.d" "$apt/dl"

    # deb-src twins of this machine's deb sources
    : > "$apt/sources.list"
    if [ -f /etc/apt/sources.list ]; then
        sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' \
            /etc/apt/sources.list > "$apt/sources.list"
    fi
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        sed 's/^Types:.*/Types: deb-src/' "$f" \
            > "$apt/sources.list.d/$(basename "$f")"
    done
    for f in /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" \
            > "$apt/sources.list.d/$(basename "$f")"
    done

    opts="-o Dir::Etc::SourceList=$apt/sources.list
          -o Dir::Etc::SourceParts=$apt/sources.list.d
          -o Dir::State::Lists=$apt/lists
          -o Dir::Cache=$apt/cache
          -o APT::Sandbox::User=root"

    apt-get -qq $opts update >&2

    # only the upstream tarball is needed: a missing .dsc or Debian
    # tarball (a superseded security upload) does not matter
    (cd "$apt/dl" \
     && apt-get -qq $opts source --download-only nginx \
        > "$apt/source.log" 2>&1) \
    || true

    tarball=$(ls "$apt"/dl/nginx_"$ver".orig.tar.gz 2>/dev/null | head -n 1)
    if [ -z "$tarball" ]; then
        cat "$apt/source.log" >&2
        say "no nginx_$ver.orig.tar.gz from apt; set NGINX_SRC to an" \
            "nginx $ver source tree"
        exit 2
    fi

    mkdir -p "$BUILD/nginx.new"
    tar xzf "$tarball" -C "$BUILD/nginx.new" --strip-components=1
    rm -rf "$BUILD/nginx"
    mv "$BUILD/nginx.new" "$BUILD/nginx"
}

prepare_nginx() {
    want=$(nginx_version "$NGINX_SRC")

    if [ -f "$BUILD/nginx/objs/ngx_auto_config.h" ] \
       && [ -f "$BUILD/nginx/src/core/ngx_palloc.c" ] \
       && [ "$(nginx_version "$BUILD/nginx")" = "$want" ]
    then
        return
    fi

    if [ -f "$NGINX_SRC/src/core/ngx_palloc.c" ]; then
        rm -rf "$BUILD/nginx"
        mkdir -p "$BUILD/nginx"
        cp -R "$NGINX_SRC/auto" "$NGINX_SRC/src" "$NGINX_SRC/configure" \
              "$BUILD/nginx/"
    else
        fetch_nginx "$want"
    fi

    # ngx_auto_config.h for this machine; only the core matters here
    say "configuring nginx $want headers"
    (cd "$BUILD/nginx" \
     && ./configure --with-compat --with-threads --without-http \
                    --without-pcre --builddir="$BUILD/nginx/objs" \
                    > "$BUILD/configure.log" 2>&1) \
    || { say "configure failed, see $BUILD/configure.log"; exit 2; }
}


INC=""

includes() {
    n="$BUILD/nginx"
    INC="-I$n/src/core -I$n/src/event -I$n/src/event/modules
         -I$n/src/os/unix -I$n/objs -I$ROOT/src -I$HERE"
}

# $1 compiler, $2 output, $3 extra flags
link() {
    cc=$1
    out=$2
    flags=$3
    objs="$BUILD/obj-$(basename "$out")"

    rm -rf "$objs"
    mkdir -p "$objs"

    for f in $CORE; do
        $cc -c $flags -w $INC "$BUILD/nginx/$f" \
            -o "$objs/$(basename "$f" .c).o"
    done

    for f in $UNITS "$HERE/event_harness.c" "$4"
    do
        $cc -c $flags $WARN $INC "$f" -o "$objs/$(basename "$f" .c).o"
    done

    $cc $flags -o "$out" "$objs"/*.o -lpthread
    say "built $out"
}

warnings() {
    for cc in "$CC" "$CLANG"; do
        extra=""
        case $cc in
        *clang*) extra="-Wconditional-uninitialized" ;;
        esac
        for f in $UNITS; do
            $cc -c -O2 $WARN $extra $INC "$f" -o /dev/null
            say "$cc: src/$(basename "$f") is -Werror clean"
        done
    done
}

have_libfuzzer() {
    echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' \
        > "$BUILD/probe.c"
    $CLANG -fsanitize=fuzzer "$BUILD/probe.c" -o "$BUILD/probe" \
        > /dev/null 2>&1
}


targets=${*:-default}

prepare_nginx
includes

for t in $targets; do
    case $t in
    warnings)
        warnings
        ;;
    driver)
        link "$CC" "$BUILD/event_driver" "-O1 -g" "$HERE/event_driver.c"
        ;;
    asan)
        link "$CLANG" "$BUILD/event_driver_asan" \
             "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all
              -fno-omit-frame-pointer" "$HERE/event_driver.c"
        ;;
    fuzz)
        link "$CLANG" "$BUILD/event_fuzz" \
             "-O1 -g -fsanitize=fuzzer,address,undefined
              -fno-sanitize-recover=all" "$HERE/event_fuzz.c"
        ;;
    default)
        warnings
        link "$CC" "$BUILD/event_driver" "-O1 -g" "$HERE/event_driver.c"
        link "$CLANG" "$BUILD/event_driver_asan" \
             "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all
              -fno-omit-frame-pointer" "$HERE/event_driver.c"
        if have_libfuzzer; then
            link "$CLANG" "$BUILD/event_fuzz" \
                 "-O1 -g -fsanitize=fuzzer,address,undefined
                  -fno-sanitize-recover=all" "$HERE/event_fuzz.c"
        else
            say "clang has no libFuzzer: event_fuzz skipped"
        fi
        ;;
    *)
        say "unknown target $t"
        exit 2
        ;;
    esac
done
