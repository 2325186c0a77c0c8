#!/usr/bin/env bash
# Builds and runs every test: unit tests (release and ASan+UBSan builds),
# end-to-end tests against the real binary with real clients, and each
# libFuzzer target for a bounded time, and the plain Release (-O3) build a
# packager makes. Fails if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-12}"  # 26 targets x 12 s ~ 5.5 min, as 15 x 20 s was: keeps CI near 30 minutes on 2 cores
scripts/install-deps.sh --test

step() { echo; echo "=== $*"; }

step "release build"
cmake --preset release >/dev/null
cmake --build --preset release

# A packager's plain build (issue 9, 1c): CMAKE_BUILD_TYPE=Release (-O3), no
# preset, default generator; -Werror on here so a warning at -O3 (GCC finds
# other things than at the presets' -O2) fails CI instead of a user's build.
step "plain Release build (-O3, as a packager builds it, warnings as errors)"
cmake -S . -B build/plain-release -DCMAKE_BUILD_TYPE=Release -DVOLLEY_WERROR=ON >/dev/null
cmake --build build/plain-release -j2

step "unit tests (release)"
ctest --preset release --timeout 300 -j2

step "end-to-end tests (real binary, real clients)"
VOLLEY_BIN="$PWD/build/release/volley" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

step "ASan + UBSan build and unit tests"
cmake --preset asan >/dev/null
cmake --build --preset asan --target unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --preset asan --timeout 600 -j2

step "fuzz targets (${FUZZ_SECONDS}s each)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
for t in build/fuzz/fuzz_*; do
  [[ -x "$t" ]] || continue
  name=$(basename "$t")
  corpus="build/fuzz/corpus-$name"
  mkdir -p "$corpus"
  [[ -d "fuzz/corpus/$name" ]] && cp -n fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  echo "--- $name"
  "$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
done

step "all tests passed"
