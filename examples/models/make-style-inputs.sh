#!/usr/bin/env bash
# Makes the inputs of the shipped style models on any machine with the
# project built: style images and a content folder, all generated here
# (GStreamer's videotestsrc) or taken from a Debian package
# (gnome-backgrounds), so the models can be retrained on any Debian machine.
# usage: make-style-inputs.sh OUT_DIR   (expects build/ from scripts/demo.sh)
set -euo pipefail
out="${1:?usage: make-style-inputs.sh OUT_DIR}"
mkdir -p "$out/style" "$out/content"
png() {  # png FILE WIDTH HEIGHT videotestsrc-args...
  local file="$1" w="$2" h="$3"
  shift 3
  gst-launch-1.0 -q videotestsrc num-buffers=1 "$@" \
    ! "video/x-raw,width=$w,height=$h" ! videoconvert ! pngenc \
    ! filesink location="$file"
}
# Styles and photo-like content: GNOME's wallpapers (Debian package
# gnome-backgrounds, CC-BY-SA 3.0; see examples/models/README.md).
bg=/usr/share/backgrounds/gnome
if [ ! -r "$bg/grid-l.webp" ]; then
  echo "make-style-inputs.sh: $bg/grid-l.webp is missing; install the wallpapers with:" >&2
  echo "  sudo apt-get install gnome-backgrounds" >&2
  exit 1
fi
cp "$bg/grid-l.webp" "$out/style/gold.webp"
cp "$bg/truchet-l.webp" "$out/style/truchet.webp"
cp "$bg/licorice-d.webp" "$out/style/licorice.webp"
for f in adwaita-d adwaita-l pixels-d pixels-l symbolic-d symbolic-l wood-d wood-l; do
  cp "$bg/$f.webp" "$out/content/gnome-$f.webp"
done
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
echo "made $(find "$out/style" -type f | wc -l) style images and $(find "$out/content" -type f | wc -l) content images in $out"
