#!/usr/bin/env bash
# The README's test command: install what is missing, build, run every test.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# Tests only: Debian's PyTorch writes the fast_neural_style checkpoints that
# `neuralart-train import` is tested on (tests/cli/test_import.sh).
DEBIAN_PACKAGES+=(python3-torch)
install_dependencies
build_project -DNEURALART_BUILD_TESTS=ON
log "running the test suite"
cd "$BUILD_DIR"
# The fuzz targets' blind mutation runs under ASan + UBSan below, which
# finds strictly more; without that stage it runs here.
skip=()
[ "${NEURALART_SANITIZE_QUICK:-1}" = 1 ] && skip=(-E '^fuzz_mutate_')
ctest --output-on-failure -j "$JOBS" --timeout 1500 "${skip[@]}" "$@"
# The readers of untrusted files again, under ASan + UBSan (docs/hardening.md;
# NEURALART_SANITIZE_QUICK=0 skips it, scripts/sanitize.sh runs everything).
if [ "${NEURALART_SANITIZE_QUICK:-1}" = 1 ]; then
  bash "$NEURALART_ROOT/scripts/sanitize.sh" --quick
fi
