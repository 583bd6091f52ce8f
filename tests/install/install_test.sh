#!/bin/sh
# tests/install/install_test.sh - an out-of-tree stage against the installed tree only.
#
# Installs the build tree into WORK/prefix, copies docs/examples/stage-square to
# WORK/src (so nothing can reach the source tree by a relative path), builds it
# with find_package(Sluice) given only CMAKE_PREFIX_PATH, runs its job with the
# installed `sluice` through SLUICE_STAGE_PATH and checks the total; then builds
# the same source with pkg-config alone and runs that plugin too.
#   usage: install_test.sh BUILD_DIR EXAMPLE_DIR WORK_DIR [CMAKE [CC]]
set -eu
build=${1:?usage: install_test.sh BUILD_DIR EXAMPLE_DIR WORK_DIR [CMAKE [CC]]}
example=${2:?missing EXAMPLE_DIR}
work=${3:?missing WORK_DIR}
cmake=${4:-cmake}
cc=${5:-cc}
# sum of n*n + 7 for n in [0, 100000), the parameters of square.yaml
expected=333328334050000

fail() { echo "install_test: FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
plugins=$prefix/lib/sluice/stages

step "install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || fail "cmake --install (see $work/install.log)"
for f in bin/sluice include/sluice/stage.h lib/cmake/Sluice/SluiceConfig.cmake \
         lib/pkgconfig/sluice.pc lib/sluice/stages/range.so; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done

step "build the example with find_package(Sluice)"
cp -R "$example" "$work/src"
rm -rf "$work/src/build"
"$cmake" -S "$work/src" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-Wall -Wextra -Wpedantic -Werror" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log"; fail "configuring the example"; }
grep -q "^Sluice_DIR:PATH=$prefix/lib/cmake/Sluice\$" "$work/build/CMakeCache.txt" \
  || fail "Sluice was not found in the install prefix: $(grep '^Sluice_DIR' "$work/build/CMakeCache.txt")"
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "building the example"; }
[ -f "$work/build/square.so" ] || fail "no square.so in $work/build"
if nm -D --defined-only "$work/build/square.so" | grep -v ' sl_stage_entry$' | grep -q ' T '; then
  fail "square.so exports more than sl_stage_entry: $(nm -D --defined-only "$work/build/square.so" | grep ' T ')"
fi

# Only the example is on the path: the installed sluice finds the installed
# range, sum and h5sink itself (beside its libsluice), before the build tree's.
export SLUICE_STAGE_PATH="$work/build"
sluice=$prefix/bin/sluice

step "sluice inspect square"
"$sluice" inspect square >"$work/inspect.txt" || { cat "$work/inspect.txt"; fail "inspect square"; }
cat "$work/inspect.txt"
grep -q "^file *$work/build/square.so\$" "$work/inspect.txt" || fail "inspect: wrong file"
grep -q "^abi *1\$" "$work/inspect.txt" || fail "inspect: no abi line"
grep -q "^offset" "$work/inspect.txt" || fail "inspect: no offset parameter"
"$sluice" stages -v >"$work/stages.txt"
grep -q "($plugins/range.so)" "$work/stages.txt" || { cat "$work/stages.txt"; fail "range is not the installed plugin"; }

step "run square.yaml with the installed sluice"
"$sluice" run "$work/src/square.yaml" -o "$work/out.h5" --threads 2 >"$work/run.txt" 2>&1 \
  || { cat "$work/run.txt"; fail "sluice run"; }
cat "$work/run.txt"
grep -q "^sum_square = $expected\$" "$work/run.txt" || fail "summary: sum_square is not $expected"
# The new stage shows in the bottleneck report's table like any other.
grep -Eq "^  square +[0-9]+% " "$work/run.txt" && grep -q "^bottleneck: " "$work/run.txt" \
  || { cat "$work/run.txt"; fail "the bottleneck report does not show the square stage"; }
if command -v h5dump >/dev/null 2>&1; then
  got=$(h5dump -a /sum_square "$work/out.h5" | sed -n 's/^ *(0): *//p')
  [ "$got" = "$expected" ] || fail "out.h5: attribute sum_square is '$got', expected $expected"
  echo "out.h5: sum_square = $got"
fi

step "build the example with pkg-config"
flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs sluice) || fail "pkg-config sluice"
echo "pkg-config: $flags"
pdir=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --variable=pluginsdir sluice)
[ "$(cd "$pdir" && pwd -P)" = "$(cd "$plugins" && pwd -P)" ] || fail "pluginsdir is '$pdir', not $plugins"
mkdir -p "$work/pc"
# shellcheck disable=SC2086 # flags are words
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -fvisibility=hidden -shared -fPIC \
  "$work/src/square.c" -o "$work/pc/square.so" $flags || fail "cc with pkg-config flags"
SLUICE_STAGE_PATH="$work/pc" "$sluice" run "$work/src/square.yaml" -o "$work/out2.h5" \
  >"$work/run2.txt" 2>&1 || { cat "$work/run2.txt"; fail "sluice run with the pkg-config plugin"; }
grep -q "^sum_square = $expected\$" "$work/run2.txt" || fail "pkg-config plugin: wrong sum_square"

echo "install_test: OK"
