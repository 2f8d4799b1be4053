#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, then
# shows the whole product with the shipped models:
#   1. a GAN latent-walk video (gansrc, 3x3 mosaic) and a sample grid,
#   2. a sample clip made here (videotestsrc + audio) restyled by
#      styletransfer with the shipped style model's two styles (audio
#      copied through),
#   3. a contact sheet of frames from all of them.
# Everything lands in one folder (default out/demo/). Never needs ../shared.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

OUT="${1:-$NEURALART_ROOT/out/demo}"
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  echo "usage: bash scripts/demo.sh [OUT_DIR]   (default: out/demo)"
  exit 0
fi
install_dependencies
build_project -DNEURALART_BUILD_TESTS=OFF
mkdir -p "$OUT/frames"
OUT="$(cd "$OUT" && pwd)"
TRAIN="$BUILD_DIR/trainer/neuralart-train"
PIPES="$NEURALART_ROOT/pipelines"
MODELS="$NEURALART_ROOT/examples/models"
export NEURALART_BUILD_DIR="$BUILD_DIR"
start=$(date +%s)

log "1/3 GAN: latent walk video and sample grid ($MODELS/default-gan.bundle)"
"$PIPES/gan-video" "$OUT/gan-walk.mp4" --seconds 8 --grid 3x3 --size 576x576 --speed 0.6
"$TRAIN" sample "$MODELS/default-gan.bundle" --grid 8x8 --out "$OUT/gan-samples.png"

log "2/3 style transfer: a sample clip, restyled"
# The sample: a moving test scene with a tone, so the audio path shows too.
rm -f "$OUT/sample.mp4.part"
gst-launch-1.0 -q -e \
  videotestsrc pattern=ball motion=sweep flip=true num-buffers=150 \
    background-color=0xff203050 foreground-color=0xffffd040 \
  ! video/x-raw,width=640,height=360,framerate=30/1 \
  ! videoconvert ! x264enc speed-preset=veryfast ! mux. \
  audiotestsrc wave=ticks num-buffers=216 ! audioconvert ! avenc_aac ! mux. \
  mp4mux name=mux ! filesink location="$OUT/sample.mp4.part"
mv -f "$OUT/sample.mp4.part" "$OUT/sample.mp4"
# The shipped default-style.bundle holds two styles: gold (0) and truchet (1).
"$PIPES/restyle-file" "$OUT/sample.mp4" "$OUT/restyled.mp4" --style gold
"$PIPES/restyle-file" "$OUT/sample.mp4" "$OUT/restyled-truchet.mp4" --style truchet

log "3/3 contact sheet"
rm -f "$OUT"/frames/*.png
for video in gan-walk sample restyled restyled-truchet; do
  [ -f "$OUT/$video.mp4" ] || continue
  gst-launch-1.0 -q filesrc location="$OUT/$video.mp4" ! decodebin ! videoconvert \
    ! videoscale ! video/x-raw,height=288,pixel-aspect-ratio=1/1 ! videorate ! video/x-raw,framerate=1/2 \
    ! pngenc ! multifilesink location="$OUT/frames/${video}_%02d.png"
done
mapfile -t frames < <(ls "$OUT"/frames/*_0[0-2].png 2>/dev/null)
"$TRAIN" contact-sheet "${frames[@]}" --cols 3 --height 288 --out "$OUT/contact-sheet.png"

log "done in $(( $(date +%s) - start )) s; results in $OUT:"
for f in "$OUT"/*; do
  [ "$(basename "$f")" = frames ] || echo "  $f"
done
