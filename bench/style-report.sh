#!/usr/bin/env bash
# The style-quality report of docs/style.md: Gatys results with VGG-19 and
# with the built-in random network, and feed-forward results, for the style
# images of ../shared/data/style on ../shared/data/content/amber.jpg; one
# contact sheet and one table of losses measured with a fixed evaluation
# network (VGG-19 relu2_2 content, relu1_1/2_1/3_1 style).
set -euo pipefail
usage() {
  cat <<'USAGE'
usage: bench/style-report.sh OUT_DIR [--size 256] [--steps 200] [--threads 1] [--ff LABEL=MODEL[:STYLEFILE]...]

  OUT_DIR          where the images, sheet.png and table.md go
  --size N         shorter side of content and results (default 256)
  --steps N        L-BFGS steps of each Gatys run (default 200)
  --threads N      CPU threads for each run (default 1: on a busy machine,
                   more threads than free cores are much slower)
  --ff LABEL=MODEL[:STYLEFILE]  also restyle amber with a feed-forward model
                   (styletransfer element); STYLEFILE names the style image
                   it learned (for the loss table). Repeatable.
Needs ../shared/data (content, style, vgg19-tfjs) and a built tree.
USAGE
}
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${NEURALART_BUILD_DIR:-$root/build}"
data="$root/../shared/data"
out="" size=256 steps=200 threads=1
ff=()
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --ff) ff+=("$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "style-report.sh: unknown option $1" >&2; exit 2 ;;
    *) out="$1"; shift ;;
  esac
done
[ -n "$out" ] || { usage >&2; exit 2; }
[ -f "$data/vgg19-tfjs/model.json" ] || { echo "style-report.sh: needs $data (vgg19-tfjs, style, content)" >&2; exit 1; }
train="$build/trainer/neuralart-train"
evaltool="$build/bench/neuralart-bench-style-eval"
vgg="vgg19:$data/vgg19-tfjs/model.json"
content="$data/content/amber.jpg"
mkdir -p "$out"
export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

styles=(candy mosaic rain-princess-cropped udnie)
sheet=()
echo "| result | style | content loss | style loss | seconds |" > "$out/table.md"
echo "|---|---|---|---|---|" >> "$out/table.md"
score() {  # score IMAGE STYLEFILE LABEL SECONDS
  local json
  json="$("$evaltool" --loss-net "$vgg" --content "$content" --style "$2" --size "$size" "$1")"
  local c s
  c="$(sed -n 's/.*"content_loss": \([^,]*\),.*/\1/p' <<<"$json")"
  s="$(sed -n 's/.*"style_loss": \([^,}]*\)[,}].*/\1/p' <<<"$json")"
  printf '| %s | %s | %.3f | %.4f | %s |\n' "$3" "$(basename "$2")" "$c" "$s" "$4" >> "$out/table.md"
}
for st in "${styles[@]}"; do
  sfile="$data/style/$st.jpg"
  for net in vgg random; do
    spec="$vgg"
    [ "$net" = random ] && spec=random
    img="$out/gatys-$net-$st.png"
    t0=$(date +%s)
    "$train" stylize --content "$content" --style "$sfile" --out "$img" \
      --size "$size" --steps "$steps" --loss-net "$spec" --threads "$threads" \
      >/dev/null 2>&1
    score "$img" "$sfile" "Gatys, $net" "$(( $(date +%s) - t0 ))"
    sheet+=("$img")
  done
done
for spec in "${ff[@]}"; do
  label="${spec%%=*}" rest="${spec#*=}"
  model="${rest%%:*}" sfile=""
  [ "$rest" != "$model" ] && sfile="${rest#*:}"
  img="$out/ff-$label.png"
  gst-launch-1.0 -q filesrc location="$content" ! decodebin ! videoconvert \
    ! videoscale ! "video/x-raw,format=RGB,height=$size,pixel-aspect-ratio=1/1" \
    ! styletransfer model="$model" threads="$threads" ! videoconvert ! pngenc \
    ! filesink location="$img" >/dev/null
  [ -n "$sfile" ] && score "$img" "$sfile" "feed-forward, $label" "-"
  sheet+=("$img")
done
"$train" contact-sheet "$content" "${sheet[@]}" --cols 3 --height "$size" \
  --out "$out/sheet.png" >/dev/null
echo "wrote $out/sheet.png and $out/table.md"
