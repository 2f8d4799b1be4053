#!/usr/bin/env bash
# The compact style model table of docs/benchmarks.md: for each trained
# model, its speed at 1280x720 and 640x360 (Stylizer, bf16 and fp32, real
# frames), the bf16 output's PSNR against fp32, and the quality of its fp32
# output on evaluation images no model trained on (amber.jpg and frames of
# the three shared clips): content and style loss measured by one fixed
# network (VGG-19: relu2_2 content; relu1_1, relu2_1, relu3_1 style), the
# same for every model.
set -euo pipefail

PY=/usr/bin/python3  # Debian's python3 (json only)

usage() {
  cat <<EOF
usage: bench/compact-models.sh [options] LABEL=MODEL.bundle...

options:
  --style FILE    style image the models learned (default:
                  REPO/../shared/data/style/mosaic.jpg)
  --threads N     intra-op threads for the speed runs (default: nproc = $(nproc))
  --frames N      timed frames per size (default 20)
  --sizes LIST    speed sizes (default 1280x720,640x360)
  --eval-size N   shorter side of the evaluation images (default 256)
  --scales LIST   inference scales to measure each model at, the speed dial
                  of the styletransfer element (default 1; e.g. 1,0.75,0.5)
  --build DIR     CMake build folder with the bench tools and the plugin
                  (default: REPO/build)
  --skip-speed    quality only
  --skip-quality  speed only
  -h, --help      this text
Needs ../shared/data (vgg19-tfjs, content, video) and gst-launch-1.0.
EOF
}

die() {
  echo "compact-models.sh: $*" >&2
  exit 1
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
data="$repo/../shared/data"
style="$data/style/mosaic.jpg"
threads=$(nproc)
frames=20
sizes=1280x720,640x360
eval_size=256
scales=1
build="$repo/build"
speed=1
quality=1
models=()

need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --threads | --frames | --eval-size)
      need_value "$@"
      [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || die "$1 expects a positive integer, got '$2'"
      case "$1" in
        --threads) threads=$2 ;;
        --frames) frames=$2 ;;
        --eval-size) eval_size=$2 ;;
      esac
      shift 2
      ;;
    --style | --sizes | --build | --scales)
      need_value "$@"
      case "$1" in
        --style) style=$2 ;;
        --scales) scales=$2 ;;
        --sizes) sizes=$2 ;;
        --build) build=$2 ;;
      esac
      shift 2
      ;;
    --skip-speed)
      speed=0
      shift
      ;;
    --skip-quality)
      quality=0
      shift
      ;;
    -*) die "unknown option $1 (see --help)" ;;
    *=*)
      [[ -f "${1#*=}" ]] || die "${1#*=}: no such model file"
      models+=("$1")
      shift
      ;;
    *) die "'$1' is not LABEL=MODEL.bundle (see --help)" ;;
  esac
done
[[ ${#models[@]} -ge 1 ]] || die "no models given (see --help)"
[[ -f "$data/vgg19-tfjs/model.json" ]] || die "needs $data (vgg19-tfjs, content, video)"
[[ -f "$style" ]] || die "$style: no such style image"
bench="$build/bench/neuralart-bench-stylizer"
evaltool="$build/bench/neuralart-bench-style-eval"
for t in "$bench" "$evaltool"; do
  [[ -x "$t" ]] || die "$t is missing; build it: cd $build && cmake -DNEURALART_BUILD_BENCH=ON .. && make $(basename "$t")"
done
export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
gst-inspect-1.0 styletransfer >/dev/null 2>&1 || die "no styletransfer element in $build/plugins"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Evaluation images: amber and frames 1 and 61 of each clip (every decoded
# frame up to 61 is written, then all but those two are removed: exact,
# unlike a videorate that may or may not emit a last frame).
cp "$data/content/amber.jpg" "$tmp/eval-amber.jpg"
for clip in "$data"/video/*.webm; do
  name=$(basename "$clip" .webm)
  mkdir -p "$tmp/frames-$name"
  gst-launch-1.0 -q filesrc location="$clip" ! decodebin ! videoconvert ! \
    identity eos-after=62 ! jpegenc quality=95 ! \
    multifilesink location="$tmp/frames-$name/%03d.jpg" >/dev/null
  for k in 000 060; do
    [[ -f "$tmp/frames-$name/$k.jpg" ]] || die "$clip: frame $k was not decoded"
    mv "$tmp/frames-$name/$k.jpg" "$tmp/eval-$name-$k.jpg"
  done
  rm -rf "$tmp/frames-$name"
done
evals=("$tmp"/eval-*.jpg)
echo "compact-models.sh: ${#evals[@]} evaluation images" >&2

# Speed input: 12 frames of a clip (identity passes N-1 buffers), RGBx at 640x360 (resized per size).
gst-launch-1.0 -q filesrc location="$data/video/people_walking_indoor_768x432.webm" ! \
  decodebin ! videoconvert ! videoscale ! \
  video/x-raw,format=RGBx,width=640,height=360 ! identity eos-after=13 ! \
  filesink location="$tmp/frames.rgbx" >/dev/null

results="$tmp/results.jsonl"
vgg="vgg19:$data/vgg19-tfjs/model.json"
IFS=, read -r -a scale_list <<<"$scales"
for spec in "${models[@]}"; do
  label=${spec%%=*}
  model=${spec#*=}
  for scale in "${scale_list[@]}"; do
    echo "compact-models.sh: $label at inference scale $scale" >&2
    # Quality: each evaluation image restyled by the element (fp32), scored.
    content_sum=0 style_sum=0
    [[ $quality == 1 ]] || evals=()
    for img in "${evals[@]}"; do
      out="$tmp/out-$label-$scale-$(basename "$img" .jpg).png"
      gst-launch-1.0 -q filesrc location="$img" ! decodebin ! videoconvert ! \
        videoscale ! "video/x-raw,format=RGB,height=$eval_size,pixel-aspect-ratio=1/1" ! \
        styletransfer model="$model" threads="$threads" precision=fp32 \
        inference-scale="$scale" ! videoconvert ! pngenc ! \
        filesink location="$out" >/dev/null
      json=$("$evaltool" --loss-net "$vgg" --content "$img" --style "$style" \
        --size "$eval_size" "$out")
      content_sum=$("$PY" -c "import json,sys; print($content_sum + json.loads(sys.argv[1])['content_loss'])" "$json")
      style_sum=$("$PY" -c "import json,sys; print($style_sum + json.loads(sys.argv[1])['style_loss'])" "$json")
    done
    n=${#evals[@]}
    [[ $n -ge 1 ]] || n=1
    row="{\"label\":\"$label\",\"model\":\"$model\",\"scale\":$scale,\"content_loss\":$("$PY" -c "print($content_sum / $n)"),\"style_loss\":$("$PY" -c "print($style_sum / $n)")"
    if [[ $speed == 1 ]]; then
      for precision in fp32 bf16; do
        if [[ $precision == bf16 ]] && ! grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo; then
          continue
        fi
        psnr=()
        [[ $precision == bf16 ]] && psnr=(--psnr 1)
        "$bench" --model "$model" --sizes "$sizes" --frames "$frames" --warmup 2 \
          --threads "$threads" --precision "$precision" --scale "$scale" \
          "${psnr[@]}" --input "$tmp/frames.rgbx" --input-size 640x360 \
          >"$tmp/speed.jsonl"
        row+=",\"$precision\":$("$PY" -c "import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))" "$tmp/speed.jsonl")"
      done
    fi
    echo "$row}" | tee -a "$results"
  done
done

"$PY" - "$results" "$sizes" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sizes = sys.argv[2].split(",")
ref = rows[0]
head = ["model", "architecture", "inference scale", "GFLOP at " + sizes[0]]
for s in sizes:
    head += ["fps bf16 " + s, "fps fp32 " + s]
head += ["bf16 PSNR (min)", "content loss", "style loss", "style vs " + ref["label"]]
print("\n| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    by = {p: {x["size"]: x for x in r.get(p, [])} for p in ("bf16", "fp32")}
    any_run = next(iter(by["fp32"].values()), {})
    cells = [r["label"],
             "w{} b{} {} {}".format(any_run.get("width", "?"), any_run.get("blocks", "?"),
                                    any_run.get("conv", "?"), any_run.get("stem", "?")),
             "{:g}".format(r["scale"]),
             "{:.1f}".format(by["fp32"][sizes[0]]["gflop_per_frame"]) if sizes[0] in by["fp32"] else ""]
    for s in sizes:
        for p in ("bf16", "fp32"):
            cells.append("{:.1f}".format(by[p][s]["fps"]) if s in by[p] else "")
    psnr = [x["psnr_min"] for x in r.get("bf16", []) if "psnr_min" in x]
    cells.append("{:.1f} dB".format(min(psnr)) if psnr else "")
    if r["style_loss"] > 0 and ref["style_loss"] > 0:  # not --skip-quality
        cells += ["{:.3f}".format(r["content_loss"]), "{:.4f}".format(r["style_loss"]),
                  "{:+.0f} %".format(100 * (r["style_loss"] / ref["style_loss"] - 1))]
    else:
        cells += ["", "", ""]
    print("| " + " | ".join(cells) + " |")
EOF
