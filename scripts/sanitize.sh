#!/usr/bin/env bash
# Builds neuralart with AddressSanitizer + UndefinedBehaviorSanitizer (gcc)
# in build-asan/ and runs tests under them. Options and leak suppressions
# are compiled into every executable (cmake/sanitizer_defaults.cpp.in,
# tests/sanitizers/lsan.supp).
#
#   bash scripts/sanitize.sh          the whole test suite, then LeakSanitizer
#                                     on gst-launch pipelines (~25 min build,
#                                     ~15 min tests on 2 cores)
#   bash scripts/sanitize.sh --quick  the readers of untrusted files only:
#                                     build the fuzz targets (they link the
#                                     readers alone, not all of core),
#                                     replay their corpus and mutate it
#                                     (run by scripts/test.sh, so by CI)
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
ASAN_BUILD="${NEURALART_ASAN_BUILD_DIR:-$NEURALART_ROOT/build-asan}"
install_dependencies
log "configuring $ASAN_BUILD (address,undefined)"
# -O1 -g1, as the sanitizers' own docs advise: line tables are all a report
# needs, and the readers compile in half the time of -O2 -g (measured: 157 s
# against 309 s on one core).
cmake -S "$NEURALART_ROOT" -B "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -DNEURALART_SANITIZE=address,undefined -DNEURALART_BUILD_TESTS=ON \
  -DNEURALART_BUILD_BENCH=OFF >/dev/null
# gtest discovery runs each test binary at build time; leaks there are
# GoogleTest's business, not ours.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
if [ "$QUICK" -eq 1 ]; then
  targets=(neuralart-fuzz-tensor_file neuralart-fuzz-bundle neuralart-fuzz-idx
    neuralart-fuzz-tfjs neuralart-fuzz-pth neuralart-fuzz-image)
  log "building ${targets[*]}"
  cmake --build "$ASAN_BUILD" -j "$JOBS" --target "${targets[@]}"
  unset ASAN_OPTIONS
  log "replaying and mutating the fuzz corpus under ASan + UBSan"
  (cd "$ASAN_BUILD" && ctest -L fuzz -j "$JOBS" --output-on-failure)
  exit 0
fi
log "building everything"
cmake --build "$ASAN_BUILD" -j "$JOBS"
unset ASAN_OPTIONS
log "the whole test suite under ASan + UBSan"
(cd "$ASAN_BUILD" && ctest -LE lint -j "$JOBS" --timeout 3000 --output-on-failure)
log "LeakSanitizer on gst-launch-1.0 pipelines"
bash "$NEURALART_ROOT/tests/sanitizers/leak-check-pipelines.sh" "$ASAN_BUILD"
