#!/bin/bash
# Runs nginx's ./configure in the current directory (a copy of the nginx
# source) with the flags the installed nginx was built with, so that the
# module is binary compatible with it (--with-compat), plus "$@".

set -eu

flags=()

if [ -f conf_flags ]; then
    # Debian's nginx-dev: NGX_CONF_FLAGS=( ... )
    . ./conf_flags
    flags=("${NGX_CONF_FLAGS[@]}")
else
    flags=(--with-compat --with-threads --with-http_realip_module)
fi

case " ${flags[*]} " in
    *" --with-compat "*) ;;
    *) flags+=(--with-compat) ;;
esac

exec ./configure "${flags[@]}" --with-cc-opt="-g -O2" "$@"
