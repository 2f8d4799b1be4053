#!/usr/bin/env bash
# Trains the style network variants of docs/benchmarks.md's compact model
# table with one recipe (mosaic on the 280 shared photos, VGG-19 loss,
# 128 px crops, batch 2, 2,000 steps, one thread each), then
# bench/compact-models.sh measures them.
set -euo pipefail

usage() {
  cat <<EOF
usage: bench/train-style-variants.sh OUT_DIR [--steps N] [--jobs N] [--only LABEL]

  OUT_DIR      where LABEL.bundle, LABEL.run/ and LABEL.log go
  --steps N    training steps of each variant (default 2000)
  --jobs N     variants trained at once, one thread each (default 2)
  --only L     train only the variant labelled L (repeatable)
Variants (label: width, residual blocks, --conv, --stem):
  reference      32 5 standard  full     pytorch/examples' TransformerNet
  half-width     16 5 standard  full
  fewer-blocks   32 3 standard  full
  separable      32 5 separable full
  compact-w32    32 5 separable shuffle
  compact        16 3 separable shuffle  the real-time model
Needs ../shared/data (style/mosaic.jpg, photos, vgg19-tfjs) and build/.
EOF
}

die() {
  echo "train-style-variants.sh: $*" >&2
  exit 1
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
data="$repo/../shared/data"
train="${NEURALART_BUILD_DIR:-$repo/build}/trainer/neuralart-train"
out="" steps=2000 jobs=2
only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --steps | --jobs)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || die "$1 expects a positive integer"
      [[ $1 == --steps ]] && steps=$2 || jobs=$2
      shift 2
      ;;
    --only)
      [[ $# -ge 2 ]] || die "--only needs a label"
      only+=("$2")
      shift 2
      ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      out=$1
      shift
      ;;
  esac
done
[[ -n "$out" ]] || {
  usage >&2
  exit 2
}
[[ -x "$train" ]] || die "$train is missing (build the project first)"
[[ -f "$data/vgg19-tfjs/model.json" && -d "$data/photos" ]] || die "needs $data (photos, style, vgg19-tfjs)"
mkdir -p "$out"

variants=(
  "reference 32 5 standard full"
  "half-width 16 5 standard full"
  "fewer-blocks 32 3 standard full"
  "separable 32 5 separable full"
  "compact-w32 32 5 separable shuffle"
  "compact 16 3 separable shuffle"
)

train_one() {
  local label=$1 width=$2 blocks=$3 conv=$4 stem=$5
  echo "train-style-variants.sh: $label (width $width, $blocks blocks, $conv, $stem)" >&2
  "$train" style --style "$data/style/mosaic.jpg" --content "$data/photos" \
    --out "$out/$label.bundle" --size 128 --style-size 256 --width "$width" \
    --res-blocks "$blocks" --conv "$conv" --stem "$stem" --steps "$steps" \
    --lr 0.003 --batch 2 --content-weight 4 \
    --loss-net "vgg19:$data/vgg19-tfjs/model.json" --threads 1 --seed 1 \
    --preview-every 0 --work-dir "$out/$label.run" >"$out/$label.log" 2>&1 ||
    die "$label failed; see $out/$label.log"
}

running=0
for v in "${variants[@]}"; do
  read -r label width blocks conv stem <<<"$v"
  if [[ ${#only[@]} -gt 0 ]] && [[ ! " ${only[*]} " == *" $label "* ]]; then
    continue
  fi
  train_one "$label" "$width" "$blocks" "$conv" "$stem" &
  running=$((running + 1))
  if [[ $running -ge $jobs ]]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
echo "train-style-variants.sh: done; now: bench/compact-models.sh reference=$out/reference.bundle ..." >&2
