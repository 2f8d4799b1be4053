#!/usr/bin/env bash
# The README's main-job command: install what is missing, build, then run
# the main job on built-in defaults and print where the results are.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_dependencies
build_project -DNEURALART_BUILD_TESTS=OFF
OUT="${1:-$NEURALART_ROOT/out/demo}"
mkdir -p "$OUT"
TRAIN="$BUILD_DIR/trainer/neuralart-train"
log "neuralart $("$TRAIN" --version)"
log "built: neuralart-train ($TRAIN) and the GStreamer plugin ($BUILD_DIR/plugins)"
echo "So far the main job builds the trainer and the plugin; training and"
echo "video rendering land with the trainer and element issues."
