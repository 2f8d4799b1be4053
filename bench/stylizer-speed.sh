#!/usr/bin/env bash
# stylizer-speed.sh: restyling speed on this CPU. The Stylizer (what the
# styletransfer element runs per frame) in fp32 and bf16 against PyTorch
# eager fp32 (Debian's python3-torch) on the same frames with the same
# weights, at 256x256, 640x360 and 1280x720; then the styletransfer element
# in a real pipeline. Prints one JSON line per measurement and a markdown
# table.
set -euo pipefail

PY=/usr/bin/python3  # Debian's python3-torch (a pyenv python3 has no torch)

usage() {
  cat <<EOF
usage: bench/stylizer-speed.sh [options]

options:
  --threads N    intra-op threads (default: nproc = $(nproc))
  --build DIR    CMake build folder (default: REPO/build)
  --frames N     timed frames per size (default 10)
  --clip FILE    video whose frames are timed (default:
                 REPO/../shared/data/video/people_walking_indoor_768x432.webm;
                 smooth random frames when absent)
  --width W      style network width (default 32: pytorch/examples'
                 TransformerNet, 71 GFLOP per 640x360 frame)
  --quick        1 timed frame per size, 256x256 and 640x360 only
  -h, --help     this text
EOF
}

die() {
  echo "stylizer-speed.sh: $*" >&2
  exit 1
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
threads=$(nproc)
build="$repo/build"
frames=10
width=32
sizes=256x256,640x360,1280x720
clip="$repo/../shared/data/video/people_walking_indoor_768x432.webm"

need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --threads | --frames | --width)
      need_value "$@"
      [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || die "$1 expects a positive integer, got '$2'"
      case "$1" in
        --threads) threads=$2 ;;
        --frames) frames=$2 ;;
        --width) width=$2 ;;
      esac
      shift 2
      ;;
    --build | --clip)
      need_value "$@"
      [[ "$1" == --build ]] && build=$2 || clip=$2
      shift 2
      ;;
    --quick)
      frames=1
      sizes=256x256,640x360
      shift
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

bin="$build/bench/neuralart-bench-stylizer"
[[ -x "$bin" ]] || die "$bin is missing; build it: cd $build && make neuralart-bench-stylizer"
"$PY" -c 'import torch' 2>/dev/null || die "$PY cannot import torch (sudo apt-get install python3-torch)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
input=()
if [[ -f "$clip" ]]; then
  # 12 decoded frames of the clip (identity passes N-1 buffers), RGBx at 640x360: both sides resize them.
  gst-launch-1.0 -q filesrc location="$clip" ! decodebin ! videoconvert ! \
    videoscale ! video/x-raw,format=RGBx,width=640,height=360 ! \
    identity eos-after=13 ! filesink location="$tmp/frames.rgbx" >/dev/null
  input=(--input "$tmp/frames.rgbx" --input-size 640x360)
fi

results="$tmp/results.jsonl"
common=(--sizes "$sizes" --frames "$frames" --warmup 1 --width "$width"
  --threads "$threads" "${input[@]}")
echo "stylizer-speed.sh: C++ fp32" >&2
"$bin" "${common[@]}" --precision fp32 | tee -a "$results"
if grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo; then
  echo "stylizer-speed.sh: C++ bf16 (PSNR against C++ fp32)" >&2
  "$bin" "${common[@]}" --precision bf16 --psnr 1 | tee -a "$results"
fi
echo "stylizer-speed.sh: PyTorch eager fp32" >&2
"$PY" "$here/stylizer_pytorch.py" "${common[@]}" --precision fp32 |
  tee -a "$results"

# The element in a pipeline: the shipped default model (width 16).
model="$repo/examples/models/default-style.bundle"
if gst-inspect-1.0 --gst-plugin-path="$build/plugins" styletransfer >/dev/null 2>&1; then
  for precision in fp32 bf16; do
    if [[ $precision == bf16 ]] && ! grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo; then
      continue
    fi
    n=$((frames * 3))
    start=$(date +%s.%N)
    gst-launch-1.0 -q --gst-plugin-path="$build/plugins" videotestsrc \
      num-buffers=$n pattern=ball ! video/x-raw,width=640,height=360 ! \
      styletransfer model="$model" threads="$threads" precision=$precision ! \
      fakesink sync=false >/dev/null
    end=$(date +%s.%N)
    echo "{\"impl\":\"gst-launch styletransfer\",\"model\":\"default-style (width 16)\",\"precision\":\"$precision\",\"size\":\"640x360\",\"frames\":$n,\"fps\":$("$PY" -c "print($n / ($end - $start))")}" |
      tee -a "$results"
  done
fi

"$PY" - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ref = {r["size"]: r["fps"] for r in rows if r["impl"] == "pytorch-eager"}
print("\n| implementation | precision | size | fps | ms/frame | GFLOP/s | PSNR vs fp32 (min) | peak RSS MiB | vs PyTorch eager fp32 |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    ratio = r["fps"] / ref[r["size"]] if r["size"] in ref and "gflops" in r else None
    print("| {} | {} | {} | {:.2f} | {} | {} | {} | {} | {} |".format(
        r["impl"], r.get("precision", ""), r["size"], r["fps"],
        "{:.0f}".format(1000 / r["fps"]),
        "{:.0f}".format(r["gflops"]) if "gflops" in r else "",
        "{:.1f}".format(r["psnr_min"]) if "psnr_min" in r else "",
        "{:.0f}".format(r["peak_rss_mib"]) if "peak_rss_mib" in r else "",
        "{:.2f}x".format(ratio) if ratio else ""))
EOF
