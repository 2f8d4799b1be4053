#!/usr/bin/env bash
# torchscript-speed.sh: a user's own network as TorchScript in the
# styletransfer element, against PyTorch eager on the same file's network.
# pytorch/examples' TransformerNet (width 32, 5 residual blocks, reflection
# padding; random weights) is scripted with Debian's python3-torch; then, at
# one frame size:
#   - PyTorch eager fp32 (bench/stylizer_pytorch.py; bf16 fails there);
#   - gst-launch-1.0 videotestsrc ! styletransfer model=FILE.pt ! fakesink in
#     fp32 and bf16 (the element rewrites the reflection padding, which has
#     no bf16 kernel in LibTorch 1.13: runtime/script_precision.h). Auto is
#     not a row: it times both on the first frame (several seconds here),
#     which swamps the N/2N difference; GST_DEBUG=styletransfer:4 shows its
#     choice;
#   - the same architecture as a neuralart bundle (neuralart-bench-stylizer).
# The element's rate is frames over the time between a run of N and one of
# 2N frames, so loading and warm-up cancel out. Prints JSON lines and a
# markdown table.
set -euo pipefail

PY=/usr/bin/python3  # Debian's python3-torch

usage() {
  cat <<EOF
usage: bench/torchscript-speed.sh [options]

options:
  --size WxH     frame size (default 640x360)
  --frames N     timed frames per measurement (default 10)
  --threads N    intra-op threads (default: nproc = $(nproc))
  --build DIR    CMake build folder (default: REPO/build)
  -h, --help     this text
EOF
}

die() {
  echo "torchscript-speed.sh: $*" >&2
  exit 1
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
size=640x360 frames=10 threads=$(nproc) build="$repo/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --size | --frames | --threads | --build)
      [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"
      case "$1" in
        --size)
          [[ "$2" =~ ^[0-9]+x[0-9]+$ ]] || die "--size expects WxH, got '$2'"
          size=$2
          ;;
        --frames | --threads)
          [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || die "$1 expects a positive integer, got '$2'"
          [[ "$1" == --frames ]] && frames=$2 || threads=$2
          ;;
        --build) build=$2 ;;
      esac
      shift 2
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
w=${size%x*} h=${size#*x}
"$PY" -c 'import torch' 2>/dev/null || die "$PY cannot import torch (sudo apt-get install python3-torch)"
gst-inspect-1.0 --gst-plugin-path="$build/plugins" styletransfer >/dev/null 2>&1 ||
  die "the styletransfer element is not in $build/plugins; build the tree first"
bench="$build/bench/neuralart-bench-stylizer"
[[ -x "$bench" ]] || die "$bench is missing; build it first"
bf16=0
grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo && bf16=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.jsonl"
script="$tmp/transformer_net.pt"
common=(--sizes "$size" --frames "$frames" --warmup 2 --threads "$threads")

echo "torchscript-speed.sh: PyTorch eager fp32 (and the TorchScript file)" >&2
"$PY" "$here/stylizer_pytorch.py" "${common[@]}" --precision fp32 --save-script "$script" |
  tee -a "$results"
# PyTorch eager has no bf16 row: in PyTorch 1.13 the network fails in bf16
# ("reflection_pad2d" not implemented for 'BFloat16'), as the element did.

# Seconds for a pipeline of n frames.
run_element() {  # run_element N PRECISION
  local start end
  start=$(date +%s.%N)
  gst-launch-1.0 -q --gst-plugin-path="$build/plugins" videotestsrc num-buffers="$1" \
    pattern=ball ! "video/x-raw,width=$w,height=$h" ! \
    styletransfer model="$script" threads="$threads" precision="$2" ! \
    fakesink sync=false >/dev/null
  end=$(date +%s.%N)
  "$PY" -c "print($end - $start)"
}
precisions=(fp32)
[[ $bf16 == 1 ]] && precisions+=(bf16)
for precision in "${precisions[@]}"; do
  echo "torchscript-speed.sh: styletransfer model=FILE.pt precision=$precision" >&2
  t1=$(run_element "$frames" "$precision")
  t2=$(run_element $((2 * frames)) "$precision")
  echo "{\"impl\":\"styletransfer TorchScript\",\"precision\":\"$precision\",\"size\":\"$size\",\"frames\":$frames,\"fps\":$("$PY" -c "print($frames / max($t2 - $t1, 1e-9))")}" |
    tee -a "$results"
done

for precision in "${precisions[@]}"; do
  echo "torchscript-speed.sh: the same architecture as a bundle, $precision" >&2
  "$bench" "${common[@]}" --width 32 --blocks 5 --precision "$precision" | tee -a "$results"
done

"$PY" - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ref = next(r["fps"] for r in rows if r["impl"] == "pytorch-eager" and r["precision"] == "fp32")
print("\n| implementation | precision | size | fps | ms/frame | vs PyTorch eager fp32 |")
print("|---|---|---|---|---|---|")
for r in rows:
    name = r["impl"] + (" channels-last" if r.get("channels_last") else "")
    if r["impl"] not in ("pytorch-eager", "styletransfer TorchScript"):
        name = "neuralart bundle (Stylizer)"
    print("| {} | {} | {} | {:.2f} | {:.0f} | {:.2f}x |".format(
        name, r.get("precision", ""), r["size"], r["fps"], 1000 / r["fps"],
        r["fps"] / ref))
EOF
