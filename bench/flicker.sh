#!/usr/bin/env bash
# Flicker of restyled video, smoothing off and on (docs/benchmarks.md,
# docs/styletransfer.md): for each clip, decodes FRAMES frames, restyles
# them with styletransfer at temporal-smoothing 0 and SMOOTH, measures the
# mean warping error (Lai et al. 2018) of input and outputs with
# neuralart-bench-flicker, and times each setting (decode + restyle, no
# encode) in frames per second.
set -euo pipefail
usage() {
  cat <<'USAGE'
usage: bench/flicker.sh [--model M] [--style NAME] [--style-image F] [--frames N] [--smooth S] [--flow fast|fine] [--threads T] [CLIP...]

  --model M     style model (default: the shipped default-style.bundle)
  --style NAME  the model's style to use (default: its first)
  --style-image F  a painting for a universal model's style-image
  --frames N    frames per clip (default 90)
  --smooth S    temporal-smoothing value for the "on" run (default 0.6)
  --flow F      temporal-flow for the "on" run: fast (default) or fine
  --threads T   styletransfer threads (default: all cores)
  CLIP...       videos (default: ../shared/data/video/*.webm)
Prints one markdown table row per clip.
USAGE
}
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${NEURALART_BUILD_DIR:-$root/build}"
model="" style="" style_image="" frames=90 smooth=0.6 flow=fast threads=0
clips=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --style) style="$2"; shift 2 ;;
    --style-image) style_image="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --smooth) smooth="$2"; shift 2 ;;
    --flow) flow="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "flicker.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) clips+=("$1"); shift ;;
  esac
done
case "$flow" in fast|fine) ;; *) echo "flicker.sh: --flow is fast or fine, got '$flow'" >&2; exit 2 ;; esac
if [ ${#clips[@]} -eq 0 ]; then
  shopt -s nullglob
  clips=("$root"/../shared/data/video/*.webm)
  [ ${#clips[@]} -gt 0 ] || { echo "flicker.sh: no clips given and none in ../shared/data/video" >&2; exit 1; }
fi
tool="$build/bench/neuralart-bench-flicker"
[ -x "$tool" ] || { echo "flicker.sh: $tool not built (cmake -DNEURALART_BUILD_BENCH=ON)" >&2; exit 1; }
export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
model_prop=()
[ -n "$model" ] && model_prop=("model=$model")
[ -n "$style" ] && model_prop+=("style=$style")
[ -n "$style_image" ] && model_prop+=("style-image=$style_image")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

decode() {  # decode CLIP -> gst-launch elements up to RGB frames
  echo filesrc location="$1" ! decodebin ! videoconvert ! video/x-raw,format=RGB
}

echo "| clip | frames | input | smoothing off | smoothing $smooth ($flow flow) | fps off | fps on |"
echo "|---|---|---|---|---|---|---|"
for clip in "${clips[@]}"; do
  name="$(basename "$clip")"
  rm -rf "${work:?}"/*
  mkdir -p "$work/in" "$work/off" "$work/on"
  # One frame more than needed, then dropped: the last frame before an
  # `identity eos-after` cut is sometimes missing and, when written, often
  # only partly decoded (blocks of the frame before), which made one pair of
  # the metric wrong and the input's own error vary between runs.
  # shellcheck disable=SC2046
  gst-launch-1.0 -q $(decode "$clip") ! identity eos-after="$((frames + 1))" \
    ! pngenc ! multifilesink location="$work/in/%05d.png" >/dev/null
  for ((i = frames; ; i++)); do
    f=$(printf '%s/in/%05d.png' "$work" "$i")
    [ -e "$f" ] || break
    rm -f "$f"
  done
  fps=()
  for setting in off on; do
    s=0
    [ "$setting" = on ] && s="$smooth"
    props=("${model_prop[@]}" "threads=$threads" "temporal-smoothing=$s" "temporal-flow=$flow")
    # Timed run: decode + restyle (+ smoothing) into fakesink.
    t0=$(date +%s.%N)
    # shellcheck disable=SC2046
    gst-launch-1.0 -q $(decode "$clip") ! identity eos-after="$frames" \
      ! styletransfer "${props[@]}" ! fakesink sync=false >/dev/null
    t1=$(date +%s.%N)
    fps+=("$(echo "$frames / ($t1 - $t0)" | bc -l)")
    # Frames for the metric: from the decoded PNGs, so that every setting
    # sees exactly the same frames (an EOS cut may end a live decode one
    # frame early or late).
    gst-launch-1.0 -q multifilesrc location="$work/in/%05d.png" index=0 \
      caps="image/png,framerate=30/1" ! pngdec ! videoconvert \
      ! video/x-raw,format=RGB ! styletransfer "${props[@]}" ! pngenc \
      ! multifilesink location="$work/$setting/%05d.png" >/dev/null
  done
  mapfile -t errs < <("$tool" "$work/in" "$work/off" "$work/on" |
    sed -n 's/.*"warping_error": \([^}]*\)}.*/\1/p')
  printf '| %s | %s | %.5f | %.5f | %.5f | %.1f | %.1f |\n' "$name" \
    "$(find "$work/off" -name "*.png" | wc -l)" "${errs[0]}" "${errs[1]}" "${errs[2]}" \
    "${fps[0]}" "${fps[1]}"
done
