#!/usr/bin/env bash
# style-quality.sh: feed-forward style models against the per-image optimum
# (Gatys) on photos they never saw, scored by one fixed evaluator (issue
# #17's protocol, docs/style.md): for each photo, the Gatys result and each
# model's result at the same size, their style ratio (VGG-19 Gram distance
# at relu1_1, relu2_1, relu3_1 over the untouched photo's; lower = more
# stylised) and content distance (relu2_2 normalised MSE to the photo),
# each also as a multiple of Gatys' on that photo, a spectral-peak number
# for periodic artefacts, and a labelled contact sheet
# (photo | Gatys | model... per row).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/style-quality.sh OUT_DIR --painting FILE --photos A.jpg[,B.jpg...]
           [--model LABEL=BUNDLE[@STYLE]]... [--size 512] [--gatys-steps 80]
           [--threads 2] [--precision auto]

  OUT_DIR            images, sheet.png, scores.jsonl and table.md go here
  --painting FILE    the painting (style image) every model was trained on
  --photos LIST      comma-separated content photos (none trained on)
  --model L=B[@S]    a style bundle to score, labelled L; @S picks its style
                     by name (default: the first); @image: a universal
                     model (neuralart-train universal) given the painting
                     itself as its style-image. Repeatable.
  --size N           shorter side of the photos and results (default 512)
  --gatys-steps N    L-BFGS steps of the per-image optimum (default 80)
  --style-size N     shorter side of the painting for Gatys (default: --size)
  --threads N        CPU threads per run (default 2)
  --precision P      Gatys' precision: auto, fp32 or bf16 (default auto)
  --no-gatys         score the models only (ratios to Gatys left out)
  --reuse-gatys      keep OUT_DIR's Gatys results from an earlier run with
                     the same painting, photos and size (new models only)

Needs ../shared/data/vgg19-tfjs (the evaluator and Gatys' loss network), a
built tree (neuralart-train, neuralart-bench-style-eval, the plugin) and
gst-launch-1.0.
USAGE
}

die() {
  echo "style-quality.sh: $*" >&2
  exit 2
}

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${NEURALART_BUILD_DIR:-$root/build}"
vgg_json="$root/../shared/data/vgg19-tfjs/model.json"
out="" painting="" photos="" size=512 gatys_steps=80 threads=2 style_size=0
precision=auto gatys=1 reuse=0
models=()
while [ $# -gt 0 ]; do
  case "$1" in
    --painting) painting="${2:?}"; shift 2 ;;
    --photos) photos="${2:?}"; shift 2 ;;
    --model) models+=("${2:?}"); shift 2 ;;
    --size) size="${2:?}"; shift 2 ;;
    --style-size) style_size="${2:?}"; shift 2 ;;
    --gatys-steps) gatys_steps="${2:?}"; shift 2 ;;
    --threads) threads="${2:?}"; shift 2 ;;
    --precision) precision="${2:?}"; shift 2 ;;
    --no-gatys) gatys=0; shift ;;
    --reuse-gatys) reuse=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) out="$1"; shift ;;
  esac
done
[ -n "$out" ] || { usage >&2; exit 2; }
[ -f "$painting" ] || die "--painting '$painting' is not a file"
[ -n "$photos" ] || die "--photos is required"
[ -f "$vgg_json" ] || die "needs $vgg_json (../shared/data/vgg19-tfjs)"
[ "$style_size" = 0 ] && style_size=$size
train="$build/trainer/neuralart-train"
evaltool="$build/bench/neuralart-bench-style-eval"
for bin in "$train" "$evaltool"; do
  [ -x "$bin" ] || die "$bin is missing; build the tree first"
done
export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
mkdir -p "$out"
: >"$out/scores.jsonl"

IFS=, read -r -a photo_list <<<"$photos"
sheet=()
for photo in "${photo_list[@]}"; do
  [ -f "$photo" ] || die "photo '$photo' is not a file"
  name="$(basename "${photo%.*}")"
  # The photo at the evaluation size, so every result has its pixels.
  gst-launch-1.0 -q filesrc location="$photo" ! decodebin ! videoconvert \
    ! videoscale ! "video/x-raw,format=RGB,height=$size,pixel-aspect-ratio=1/1" \
    ! videoconvert ! pngenc ! filesink location="$out/photo-$name.png" \
    >/dev/null
  row=("$out/photo-$name.png")
  results=()
  if [ "$gatys" = 1 ]; then
    img="$out/gatys-$name.png"
    if [ "$reuse" = 1 ] && [ -f "$img" ] && [ -f "$out/gatys-$name.seconds" ]; then
      secs=$(cat "$out/gatys-$name.seconds")
    else
      t0=$(date +%s.%N)
      "$train" stylize --content "$out/photo-$name.png" --style "$painting" \
        --out "$img" --size "$size" --style-size "$style_size" \
        --steps "$gatys_steps" --loss-net "vgg19:$vgg_json" \
        --threads "$threads" --precision "$precision" >/dev/null 2>&1 ||
        die "Gatys failed on $photo"
      secs=$(printf '%.3f' "$(echo "$(date +%s.%N) - $t0" | bc)")
      echo "$secs" >"$out/gatys-$name.seconds"
    fi
    results+=("gatys|$img|$secs")
    row+=("$img")
  fi
  for spec in "${models[@]}"; do
    label="${spec%%=*}" rest="${spec#*=}"
    bundle="${rest%%@*}" style=""
    [ "$rest" != "$bundle" ] && style="${rest#*@}"
    img="$out/$label-$name.png"
    t0=$(date +%s.%N)
    gst-launch-1.0 -q filesrc location="$out/photo-$name.png" ! decodebin \
      ! videoconvert ! styletransfer model="$bundle" threads="$threads" \
      $([ "$style" = image ] && echo "style-image=$painting" ||
        echo ${style:+style="$style"}) ! videoconvert ! pngenc \
      ! filesink location="$img" >/dev/null || die "$label failed on $photo"
    secs=$(printf '%.3f' "$(echo "$(date +%s.%N) - $t0" | bc)")
    results+=("$label|$img|$secs")
    row+=("$img")
  done
  for r in "${results[@]}"; do
    IFS='|' read -r label img secs <<<"$r"
    json="$("$evaltool" --loss-net "vgg19:$vgg_json" \
      --content "$out/photo-$name.png" --style "$painting" --size "$size" \
      "$img")"
    echo "{\"photo\": \"$name\", \"label\": \"$label\", \"seconds\": $secs, ${json#\{}" \
      >>"$out/scores.jsonl"
  done
  sheet+=("${row[@]}")
done
cols=$(( 1 + gatys + ${#models[@]} ))
"$train" contact-sheet "${sheet[@]}" --cols "$cols" --height 256 \
  --out "$out/sheet.png" >/dev/null

# The table: per label, the mean over photos, and the means of the per-photo
# multiples of Gatys.
python3 - "$out/scores.jsonl" >"$out/table.md" <<'EOF'
import collections
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
by_photo = collections.defaultdict(dict)
for r in rows:
    by_photo[r["photo"]][r["label"]] = r
labels = list(dict.fromkeys(r["label"] for r in rows))
print("| result | style ratio | content distance | style ratio / Gatys' "
      "| content distance / Gatys' | spectral peak (dB) | seconds per image |")
print("|---|---|---|---|---|---|---|")
for label in labels:
    mine = [p[label] for p in by_photo.values() if label in p]
    sr = sum(r["style_ratio"] for r in mine) / len(mine)
    cd = sum(r["content_loss"] for r in mine) / len(mine)
    secs = sum(r["seconds"] for r in mine) / len(mine)
    peak = sum(r["spectral_peak_db"] for r in mine) / len(mine)
    rel = [(p[label]["style_ratio"] / p["gatys"]["style_ratio"],
            p[label]["content_loss"] / max(p["gatys"]["content_loss"], 1e-12))
           for p in by_photo.values() if label in p and "gatys" in p]
    if rel and label != "gatys":
        rs = "%.2fx" % (sum(a for a, _ in rel) / len(rel))
        rc = "%.2fx" % (sum(b for _, b in rel) / len(rel))
    else:
        rs = rc = ""
    print(f"| {label} | {sr:.3f} | {cd:.3f} | {rs} | {rc} | {peak:.1f} "
          f"| {secs:.1f} |")
print()
print(f"{len(by_photo)} photos; means over photos.")
EOF
cat "$out/table.md"
echo "wrote $out/sheet.png, $out/table.md and $out/scores.jsonl"
