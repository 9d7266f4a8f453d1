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

# HIREDIS=PREFIX: that hiredis (PREFIX/include/hiredis, PREFIX/lib), which
# the module then loads through its rpath, rather than the system's
cc_opt="-g -O2"
ld_opt=()
if [ -n "${HIREDIS:-}" ]; then
    cc_opt="$cc_opt -I$HIREDIS/include"
    ld_opt=(--with-ld-opt="-L$HIREDIS/lib -Wl,-rpath,$HIREDIS/lib")
fi

exec ./configure "${flags[@]}" --with-cc-opt="$cc_opt" \
    ${ld_opt[@]+"${ld_opt[@]}"} "$@"
