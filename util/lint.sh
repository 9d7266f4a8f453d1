#!/bin/sh
#
# make -f Makefile.local lint: cppcheck and clang-tidy on the module's C
# sources, with the include paths of the configured nginx tree that the
# build leaves in build/nginx-src and build/objs.  Exits 1 on a finding.
#
# cppcheck: warning, style, performance and portability, less two style
# checks that nginx's layout contradicts (variableScope: declarations sit
# at the top of a function; constParameter: handler signatures are
# nginx's).  clang-tidy: the clang static analyzer and bugprone-*, less
# the analyzer's advice to use C11 Annex K (memcpy_s) and bugprone checks
# about naming and argument order that nginx's API dictates, and
# implicit-widening-of-multiplication-result (it fires only on constant
# products such as 16 * 1024 * 1024, which gcc's -Woverflow checks).

set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$ROOT/build/nginx-src
cd "$ROOT"

INC="-I$T/src/core -I$T/src/event -I$T/src/event/modules -I$T/src/os/unix
     -I$ROOT/src -I$ROOT/build/objs -I$T/src/http -I$T/src/http/modules
     -I$T/src/http/v2"
FILES="ngx_http_clicktrack_module.c $(ls src/*.c)"

TIDY="-*,clang-analyzer-*,bugprone-*
,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling
,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier
,-bugprone-narrowing-conversions,-bugprone-assignment-in-if-condition
,-bugprone-implicit-widening-of-multiplication-result"
TIDY=$(echo $TIDY | tr -d ' ')

rc=0

echo "lint: cppcheck" >&2
cppcheck --quiet --inline-suppr --error-exitcode=1 \
    --enable=warning,style,performance,portability \
    --suppress=variableScope --suppress=constParameter \
    --suppress=missingIncludeSystem --suppress=toomanyconfigs \
    --suppress="*:$T/*" $INC $FILES || rc=1

echo "lint: clang-tidy" >&2
for f in $FILES; do
    out=$(clang-tidy --quiet -checks="$TIDY" "$f" -- $INC 2>/dev/null)
    if printf '%s\n' "$out" | grep -q 'warning:'; then
        printf '%s\n' "$out"
        rc=1
    fi
done

exit $rc
