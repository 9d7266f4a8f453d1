#!/bin/sh
# Installs the Debian packages that the build, the demo and the tests need,
# and only those that are missing.  Needs root (or sudo).
#
#   util/deps.sh [build|test|demo|deb|fuzz|lint|asan|hiredis]...
#                                                        default: build

set -eu

want_build="gcc make libc6-dev nginx-core nginx-dev libhiredis-dev uuid-dev"
# the dashboard's browser tests: headless Chromium driven by playwright-core
# (node and npm are looked for as commands below: nodesource's nodejs
# carries npm and conflicts with Debian's npm package)
# nginx's own geoip module and the country database: t/028, the demo
want_geoip="libnginx-mod-http-geoip geoip-database"
want_test="$want_build redis-server perl chromium $want_geoip"
want_demo="$want_build redis-server $want_geoip"
want_deb="$want_build debhelper dpkg-dev redis-server curl"
# clang with libFuzzer and the sanitizers; dpkg-dev for apt-get source
want_fuzz="$want_build clang libclang-rt-14-dev dpkg-dev perl"
want_lint="$want_build cppcheck clang-tidy"
# util/hiredis.sh: apt-get source (dpkg-source) and hiredis' make
want_hiredis="gcc make libc6-dev dpkg-dev"
want_asan="$want_test clang libclang-rt-14-dev dpkg-dev libpcre2-dev zlib1g-dev
           libssl-dev"

[ $# -eq 0 ] && set -- build

pkgs=""
for what in "$@"; do
    case "$what" in
        build) pkgs="$pkgs $want_build" ;;
        test)  pkgs="$pkgs $want_test" ;;
        demo)  pkgs="$pkgs $want_demo" ;;
        deb)   pkgs="$pkgs $want_deb" ;;
        fuzz)  pkgs="$pkgs $want_fuzz" ;;
        lint)  pkgs="$pkgs $want_lint" ;;
        asan)  pkgs="$pkgs $want_asan" ;;
        hiredis) pkgs="$pkgs $want_hiredis" ;;
        *) echo "util/deps.sh: unknown set \"$what\"" >&2; exit 2 ;;
    esac
done

missing=""
for p in $pkgs; do
    case " $missing " in *" $p "*) continue ;; esac
    if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null \
            | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && browser_deps_only=1 || browser_deps_only=

browser_modules() {
    # playwright-core for t/browser/, from the npm registry, once
    case " $* " in *" test "*) ;; *) return 0 ;; esac
    [ -d t/browser/node_modules/playwright-core ] && return 0
    if ! command -v npm >/dev/null; then
        echo "util/deps.sh: installing: nodejs npm"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
            --no-install-recommends nodejs npm
    fi
    (cd t/browser && npm ci --no-audit --no-fund --loglevel=error)
}

cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

if [ -n "$browser_deps_only" ]; then
    browser_modules "$@"
    exit 0
fi

echo "util/deps.sh: installing:$missing"

export DEBIAN_FRONTEND=noninteractive

# a machine that never ran "apt-get update" finds nothing: update and retry
if ! $sudo apt-get install -y -q --no-install-recommends $missing; then
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends $missing
fi

# Debian starts the servers it installs; the project runs its own
for svc in nginx redis-server; do
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
    $sudo service "$svc" stop >/dev/null 2>&1 || true
done

browser_modules "$@"
