#!/usr/bin/env bash
# The README's test command: install what is missing, build, run every test.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_dependencies
build_project -DNEURALART_BUILD_TESTS=ON
log "running the test suite"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS" --timeout 1500 "$@"
