#!/usr/bin/env bash
# Makes the inputs of the shipped style models on any machine with the
# project built: style images and a content folder, all generated here
# (GStreamer's videotestsrc and textoverlay, and the shipped GAN), so the
# models can be retrained without downloading anything.
# usage: make-style-inputs.sh OUT_DIR   (expects build/ from scripts/demo.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:?usage: make-style-inputs.sh OUT_DIR}"
train="${NEURALART_BUILD_DIR:-$root/build}/trainer/neuralart-train"
mkdir -p "$out/style" "$out/content"
png() {  # png FILE WIDTH HEIGHT videotestsrc-args...
  local file="$1" w="$2" h="$3"
  shift 3
  gst-launch-1.0 -q videotestsrc num-buffers=1 "$@" \
    ! "video/x-raw,width=$w,height=$h" ! videoconvert ! pngenc \
    ! filesink location="$file"
}
# Styles: the shipped GAN's letters, a zone plate, spokes.
"$train" sample "$root/examples/models/default-gan.bundle" --grid 8x8 --seed 3 \
  --out "$out/style/letters.png" >/dev/null
png "$out/style/rings.png" 256 256 pattern=zone-plate kx2=20 ky2=20 kt=1
png "$out/style/spokes.png" 256 256 pattern=spokes
# Content: test scenes with shapes, gradients and colour fields.
i=0
for pattern in smpte ball gamut circular pinwheel colors bar smpte75 smpte100 checkers-8; do
  for size in 256x256 320x240; do
    w="${size%x*}" h="${size#*x}"
    png "$out/content/scene_$i.png" "$w" "$h" pattern="$pattern" \
      foreground-color=$((0xff000000 + i * 0x0a1b2c % 0xffffff)) \
      background-color=$((0xff000000 + (i * 0x3c2b1a + 0x202020) % 0xffffff))
    i=$((i + 1))
  done
done
for t in 1 2 3 4; do
  gst-launch-1.0 -q videotestsrc pattern=ball motion=sweep num-buffers=$((t * 7)) \
    ! video/x-raw,width=320,height=240 ! videoconvert ! pngenc snapshot=false \
    ! multifilesink location="$out/content/ball_${t}_%02d.png" max-files=1
done
echo "made $(ls "$out/style" | wc -l) style images and $(ls "$out/content" | wc -l) content images in $out"
