#!/bin/bash
# Builds the newest hiredis 1.x that Debian carries (trixie or sid) from
# its source package, for building and testing the module against it:
#
#   util/hiredis.sh            installs it under build/hiredis-1.x/
#   make -f Makefile.local test HIREDIS=build/hiredis-1.x
#
# apt-get source runs with a sources.list and lists of its own under
# build/apt/ (deb.debian.org, deb-src only), so the machine's apt
# configuration and lists are not changed.  Nothing outside build/ is
# written.  Prints the prefix on its last line.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

apt=$top/build/apt
src=$top/build/hiredis-src
prefix=$top/build/hiredis-1.x

if [ -f "$prefix/.version" ]; then
    echo "hiredis $(cat "$prefix/.version") in $prefix (rm -rf it to rebuild)"
    echo "$prefix"
    exit 0
fi

util/deps.sh hiredis

mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" \
         "$apt/prefs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
for suite in trixie sid; do
    echo "deb-src [signed-by=$keyring] http://deb.debian.org/debian $suite main"
done > "$apt/sources.list"

opts=(-o "Dir::Etc::SourceList=$apt/sources.list"
      -o "Dir::Etc::SourceParts=$apt/parts"
      -o "Dir::Etc::Preferences=$apt/prefs/none"
      -o "Dir::Etc::PreferencesParts=$apt/prefs"
      -o "Dir::State::Lists=$apt/lists"
      -o "Dir::Cache=$apt/cache"
      -o "APT::Sandbox::User=root"
      -o "Acquire::Languages=none")

apt-get "${opts[@]}" -q update

version=$(apt-cache "${opts[@]}" showsrc hiredis \
          | sed -n 's/^Version: //p' | sort -V | tail -1)
case "$version" in
    1.*) ;;
    *) echo "util/hiredis.sh: Debian's newest hiredis is \"$version\"," \
            "not a 1.x" >&2
       exit 1 ;;
esac

echo "hiredis $version: fetching its source package"

rm -rf "$src"
mkdir -p "$src"
(cd "$src" && apt-get "${opts[@]}" -q source "hiredis=$version")

dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'hiredis-*' | head -1)

# the library alone (no SSL, no tests), as Debian's libhiredis-dev lays
# it out: include/hiredis/*.h and lib/libhiredis.so
# (LIBRARY_PATH given: the Makefile would take gcc's from the environment)
vars=(PREFIX="$prefix" LIBRARY_PATH=lib DESTDIR= USE_SSL=0)
rm -rf "$prefix"
make -C "$dir" -j"$(nproc)" "${vars[@]}" dynamic static \
    > "$src/make.log" 2>&1 \
    && make -C "$dir" "${vars[@]}" install >> "$src/make.log" 2>&1 || {
    tail -30 "$src/make.log" >&2
    echo "util/hiredis.sh: hiredis $version did not build" >&2
    exit 1
}

echo "$version" > "$prefix/.version"
echo "hiredis $version installed in $prefix"
echo "$prefix"
