#!/usr/bin/env bash
# build.sh [release|sanitize|fuzz]: configures (once) and builds into build/<kind>.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kind="${1:-release}"
case "$kind" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  # The load generator is a tool measured on the release build: not worth a sanitized compile.
  sanitize) flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DNEWSPUSH_SANITIZE=ON -DNEWSPUSH_LOADTEST=OFF) ;;
  # libFuzzer targets only (fuzz/), with clang-14; scripts/fuzz.sh runs them. Line tables are
  # all a crash's stack needs, and compile about 30% faster than full debug information.
  fuzz) flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only
               -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DNEWSPUSH_FUZZ=ON) ;;
  *) echo "build.sh: unknown build kind '$kind'" >&2; exit 2 ;;
esac
dir="$root/build/$kind"
# Let ccache share objects between clones of the repository (CI builds in a fresh clone).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S "$root" -B "$dir" -G Ninja "${flags[@]}" >/dev/null
fi
# Beast translation units take ~1 GB each at -O2; two jobs fit the 2-core CI machine.
cmake --build "$dir" -- -j "${NEWSPUSH_BUILD_JOBS:-$(nproc)}"
