#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, then
# shows the whole product with the shipped models:
#   1. a GAN latent-walk video (gansrc, 3x3 mosaic) and a sample grid,
#   2. 8 s of real footage (vtest.avi, people walking, from Debian's
#      opencv-doc) restyled by every style of the shipped style model, side
#      by side: original | style 1 | style 2 ... (pipelines/side-by-side),
#   3. any painting at run time: the same footage restyled by the shipped
#      universal model given The Starry Night (opencv-doc) as a file,
#   4. a labelled contact sheet: an input frame and the same frame in each
#      style, the styles' paintings (when they are on this machine), the
#      frame through the universal model beside its painting, frames of the
#      GAN walk.
# Without vtest.avi it restyles a generated test scene instead, and says so.
# Everything lands in one folder (default out/demo/). Never needs ../shared.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'USAGE'
usage: bash scripts/demo.sh [--no-build] [OUT_DIR]   (default: out/demo)

  --no-build   use the build that is there (build/, or $NEURALART_BUILD_DIR):
               install nothing, build nothing
  NEURALART_DEMO_VIDEO=FILE          footage to restyle (default: vtest.avi
                                     from Debian's opencv-doc)
  NEURALART_DEMO_STYLE_MODEL=BUNDLE  style model (default: the shipped
                                     examples/models/default-style.bundle)
USAGE
}
build=1
OUT="$NEURALART_ROOT/out/demo"
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --no-build) build=0; shift ;;
    -*) echo "demo.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) OUT="$1"; shift ;;
  esac
done
if [ "$build" -eq 1 ]; then
  install_dependencies
  # Only what the demo runs: the trainer and the plugin (not bench/ or
  # examples/, each of which precompiles LibTorch's headers again).
  NEURALART_BUILD_TARGETS="neuralart-train gstneuralart" build_project -DNEURALART_BUILD_TESTS=OFF
fi
command -v jq >/dev/null || { echo "demo.sh: jq is missing: apt-get install jq (or run without --no-build)" >&2; exit 1; }
mkdir -p "$OUT/frames"
OUT="$(cd "$OUT" && pwd)"
TRAIN="$BUILD_DIR/trainer/neuralart-train"
[ -x "$TRAIN" ] || { echo "demo.sh: $TRAIN is missing: run without --no-build" >&2; exit 1; }
PIPES="$NEURALART_ROOT/pipelines"
MODELS="$NEURALART_ROOT/examples/models"
STYLE_MODEL="${NEURALART_DEMO_STYLE_MODEL:-$MODELS/default-style.bundle}"
VIDEO="${NEURALART_DEMO_VIDEO:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}"
FRAMES=80 # 8 s of vtest.avi (10 fps)
export NEURALART_BUILD_DIR="$BUILD_DIR"
start=$(date +%s)
rm -rf "$OUT/frames/input"
rm -f "$OUT"/frames/*.png

log "1/4 GAN: latent walk video and sample grid ($MODELS/default-gan.bundle)"
"$PIPES/gan-video" "$OUT/gan-walk.mp4" --seconds 8 --grid 3x3 --size 576x576 --speed 0.6
"$TRAIN" sample "$MODELS/default-gan.bundle" --grid 8x8 --out "$OUT/gan-samples.png"

# Every style of the model, by its name (index when the name is not a plain
# word); "style N" for a model without names.
info="$("$TRAIN" inspect "$STYLE_MODEL" --json)"
mapfile -t style_names < <(jq -r '(.styles // []) as $s |
  if ($s | length) > 0 then $s[] else range(.arch.num_styles // 1) | "style \(.)" end' <<<"$info")
style_args=()
for i in "${!style_names[@]}"; do
  if [[ "${style_names[$i]}" =~ ^[A-Za-z0-9_.+-]+$ ]]; then style_args+=("${style_names[$i]}"); else style_args+=("$i"); fi
done
n_styles="${#style_names[@]}"
# One panel per style after the original: vtest.avi's own 768 pixels wide,
# narrower when there are so many styles that the video would pass 3840.
panel_w=$((3840 / (n_styles + 1) / 16 * 16))
[ "$panel_w" -le 768 ] || panel_w=768
# Each network gets its share of the cores: the styles run side by side.
threads=$(($(nproc) / n_styles))
[ "$threads" -ge 1 ] || threads=1

log "2/4 style transfer: ${n_styles} style(s) of $(basename "$STYLE_MODEL") (${style_names[*]}), side by side"
rm -f "$OUT/input.mp4.part"
if [ -r "$VIDEO" ]; then
  # The first $FRAMES frames as pictures, then re-timed into an H.264 clip.
  # One more is cut and dropped: after decodebin, the frame that meets
  # identity's eos-after can be one from later in the file, mis-timed.
  panel_h=$((panel_w * 3 / 4 / 2 * 2))
  clip="$FRAMES frames of $(basename "$VIDEO")"
  mkdir -p "$OUT/frames/input"
  gst-launch-1.0 -q filesrc location="$VIDEO" ! decodebin ! videoconvert ! videoscale \
    ! "video/x-raw,format=RGB,width=$panel_w,height=$panel_h,pixel-aspect-ratio=1/1" \
    ! identity eos-after=$((FRAMES + 1)) ! pngenc compression-level=1 \
    ! multifilesink location="$OUT/frames/input/%03d.png"
  gst-launch-1.0 -q multifilesrc location="$OUT/frames/input/%03d.png" stop-index=$((FRAMES - 1)) \
    caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! video/x-raw,format=I420 \
    ! x264enc speed-preset=veryfast tune=zerolatency ! mp4mux ! filesink location="$OUT/input.mp4.part"
  cp "$OUT/frames/input/$(printf %03d $((FRAMES / 2)))".png "$OUT/frames/input.png"
  rm -rf "$OUT/frames/input"
  input_label="input: $(basename "$VIDEO") at $((FRAMES / 20)) s"
else
  echo "demo.sh: $VIDEO is missing (Debian package opencv-doc): restyling a generated test scene instead" >&2
  [ "$panel_w" -le 640 ] || panel_w=640
  panel_h=$((panel_w * 9 / 16 / 2 * 2))
  clip="a generated test scene with a tone"
  gst-launch-1.0 -q -e \
    videotestsrc pattern=ball motion=sweep flip=true num-buffers=150 \
      background-color=0xff203050 foreground-color=0xffffd040 \
    ! "video/x-raw,width=$panel_w,height=$panel_h,framerate=30/1" \
    ! videoconvert ! x264enc speed-preset=veryfast ! mux. \
    audiotestsrc wave=ticks num-buffers=216 ! audioconvert ! avenc_aac ! mux. \
    mp4mux name=mux ! filesink location="$OUT/input.mp4.part"
  gst-launch-1.0 -q filesrc location="$OUT/input.mp4.part" ! decodebin ! videoconvert \
    ! videorate ! video/x-raw,framerate=1/2 ! pngenc ! multifilesink location="$OUT/frames/scene_%02d.png"
  mv -f "$OUT/frames/scene_01.png" "$OUT/frames/input.png"
  input_label="input: a test scene at 2 s"
fi
mv -f "$OUT/input.mp4.part" "$OUT/input.mp4"
style_list="$(IFS=,; echo "${style_args[*]}")"
"$PIPES/side-by-side" "$OUT/input.mp4" "$OUT/side-by-side.mp4" --model "$STYLE_MODEL" \
  --style "$style_list" --threads "$threads"

# Any painting at run time: the universal model reads The Starry Night as a
# file (its predictor never trained on it) and restyles the same clip.
UNIVERSAL="$MODELS/universal-style.bundle"
PAINTING=/usr/share/doc/opencv-doc/examples/data/starry_night.jpg
universal=0
if [ -r "$PAINTING" ] && [ -f "$UNIVERSAL" ]; then
  log "3/4 any painting: $(basename "$UNIVERSAL") with style-image=$(basename "$PAINTING")"
  GST_PLUGIN_PATH="$BUILD_DIR/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" gst-launch-1.0 -q \
    filesrc location="$OUT/input.mp4" ! decodebin ! videoconvert \
    ! styletransfer model="$UNIVERSAL" style-image="$PAINTING" threads="$(nproc)" \
    ! videoconvert ! x264enc speed-preset=veryfast ! mp4mux \
    ! filesink location="$OUT/universal.mp4.part"
  mv -f "$OUT/universal.mp4.part" "$OUT/universal.mp4"
  GST_PLUGIN_PATH="$BUILD_DIR/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" gst-launch-1.0 -q \
    filesrc location="$OUT/frames/input.png" ! pngdec ! videoconvert \
    ! styletransfer model="$UNIVERSAL" style-image="$PAINTING" threads="$(nproc)" \
    ! videoconvert ! pngenc ! filesink location="$OUT/frames/universal.png"
  universal=1
else
  log "3/4 any painting: skipped ($PAINTING, from opencv-doc, is not here)"
fi

log "4/4 contact sheet"
# The input frame in every style: one pipeline, one branch per style.
branches=()
for i in "${!style_args[@]}"; do
  branches+=(t. ! queue ! videoconvert ! styletransfer model="$STYLE_MODEL" style="$i" threads="$threads"
    ! videoconvert ! pngenc ! filesink location="$OUT/frames/style_$i.png")
done
GST_PLUGIN_PATH="$BUILD_DIR/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" gst-launch-1.0 -q \
  filesrc location="$OUT/frames/input.png" ! pngdec ! videoconvert ! tee name=t "${branches[@]}"
cols=$((n_styles + 1))
sheet=("$OUT/frames/input.png") labels=("$input_label")
for i in "${!style_names[@]}"; do
  sheet+=("$OUT/frames/style_$i.png") labels+=("${style_names[$i]}")
done
# The paintings the styles were trained on, under their styles, when this
# machine has them: provenance.style_files names the newest styles' images
# (a model extended with --base lists only the styles it added).
mapfile -t style_files < <(jq -r '.provenance.style_files // [] | .[]' <<<"$info")
painting_row=() painting_labels=() found=0
first_file=$((n_styles - ${#style_files[@]}))
[ "$first_file" -ge 0 ] || first_file=0
for i in "${!style_names[@]}"; do
  painting="" k=$((i - first_file))
  # The demo never reads the project's shared data (../shared): a painting
  # from there is named, not shown.
  if [ "$k" -ge 0 ] && [[ "${style_files[$k]}" == *shared/data/* ]]; then
    painting_row+=("$OUT/frames/blank.png")
    painting_labels+=("${style_names[$i]}: shared data, not shown")
    continue
  fi
  if [ "$k" -ge 0 ]; then
    for candidate in "${style_files[$k]}" "$NEURALART_ROOT/${style_files[$k]}" \
      "$(dirname "$STYLE_MODEL")/${style_files[$k]}"; do
      if [ -f "$candidate" ]; then painting="$candidate"; break; fi
    done
  fi
  if [ -n "$painting" ]; then
    painting_row+=("$painting") painting_labels+=("${style_names[$i]}: $(basename "$painting")")
    found=$((found + 1))
  else
    painting_row+=("$OUT/frames/blank.png") painting_labels+=("${style_names[$i]}: image not here")
  fi
done
if [ "$found" -gt 0 ]; then
  gst-launch-1.0 -q videotestsrc pattern=black num-buffers=1 ! "video/x-raw,width=$panel_w,height=$panel_h" \
    ! videoconvert ! pngenc ! filesink location="$OUT/frames/blank.png"
  sheet+=("$OUT/frames/blank.png" "${painting_row[@]}") labels+=("the styles' paintings:" "${painting_labels[@]}")
else
  echo "demo.sh: the styles' images (${style_files[*]:-none listed}) are not on this machine: no paintings row" >&2
fi
# The universal model's row: its painting, the frame, blanks to the width.
if [ "$universal" = 1 ]; then
  [ -f "$OUT/frames/blank.png" ] || gst-launch-1.0 -q videotestsrc pattern=black num-buffers=1 \
    ! "video/x-raw,width=$panel_w,height=$panel_h" ! videoconvert ! pngenc \
    ! filesink location="$OUT/frames/blank.png"
  sheet+=("$PAINTING" "$OUT/frames/universal.png")
  labels+=("any painting: starry_night.jpg as a file" "universal-style.bundle with it")
  for ((i = 2; i < cols; i++)); do sheet+=("$OUT/frames/blank.png") labels+=(""); done
fi
# One row of GAN walk frames, evenly spread over its 8 s.
gst-launch-1.0 -q filesrc location="$OUT/gan-walk.mp4" ! decodebin ! videoconvert \
  ! videorate ! "video/x-raw,framerate=$cols/8" ! pngenc ! multifilesink location="$OUT/frames/gan_%02d.png"
for ((i = 0; i < cols; i++)); do
  sheet+=("$OUT/frames/$(printf gan_%02d.png "$i")")
  labels+=("GAN latent walk at $(awk -v t="$i" -v c="$cols" 'BEGIN{printf "%.1f", t * 8 / c}') s")
done
label_args=()
for label in "${labels[@]}"; do label_args+=(--labels "${label//,/;}"); done
"$TRAIN" contact-sheet "${sheet[@]}" --cols "$cols" --height 256 "${label_args[@]}" \
  --title "neuralart: $clip restyled by $(basename "$STYLE_MODEL"); a GAN latent walk" \
  --out "$OUT/contact-sheet.png"

log "done in $(($(date +%s) - start)) s; results in $OUT:"
for f in "$OUT"/*; do
  [ "$(basename "$f")" = frames ] || echo "  $f"
done
