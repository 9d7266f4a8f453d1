#!/bin/sh
#
# make -f Makefile.local fuzz: builds the event layer's driver and fuzz
# target (build.sh), runs the 627 rule cases of event_tests.pl against the
# ASan + UBSan driver, then fuzzes for FUZZ_SECONDS (default 60).  A crash,
# a sanitizer report or a broken property (event_harness.c aborts) fails
# the run and leaves the input in build/fuzz/crash-*; the corpus grows in
# build/fuzz/corpus (the committed seeds in util/fuzz/corpus stay as they
# are).

set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

"$ROOT/util/deps.sh" fuzz

export BUILD
"$HERE/build.sh" warnings asan fuzz

DRIVER="$BUILD/event_driver_asan" prove "$HERE/event_tests.pl"

mkdir -p "$BUILD/corpus"
echo "run.sh: fuzzing for $FUZZ_SECONDS s" >&2

"$BUILD/event_fuzz" -dict="$HERE/event.dict" -max_len=8192 \
    -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
    -artifact_prefix="$BUILD/" "$BUILD/corpus" "$HERE/corpus"
