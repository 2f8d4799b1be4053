#!/usr/bin/env bash
# run-speed.sh: neuralart's C++ training steps against the same networks in
# PyTorch (Python), one after the other on this machine with the same thread
# count; prints a markdown table with the speed ratio and machine facts.
set -euo pipefail

PY=/usr/bin/python3  # Debian's python3-torch (a pyenv python3 has no torch)

usage() {
  cat <<EOF
usage: bench/run-speed.sh [options]

Runs neuralart-bench-dcgan and bench/dcgan_pytorch.py (DCGAN 64x64 RGB
training, batch 64), then neuralart-bench-style-step and
bench/style_step_pytorch.py (feed-forward style training step, 256x256,
batch 4), then neuralart-bench-gatys and bench/gatys_pytorch.py (Gatys
style transfer, one Adam step on a 512x512 image), and prints a markdown
table: C++ speed, PyTorch speed and their ratio (C++ speed / PyTorch speed;
above 1 means C++ is faster). PyTorch runs eager fp32 (NCHW); the C++ side
runs in --precision.

options:
  --threads N        intra-op threads for every run (default: nproc = $(nproc))
  --build DIR        CMake build folder holding bench/ (default: REPO/build)
  --vgg PATH         TF.js VGG-19 model.json for the style loss network
                     (default: REPO/../shared/data/vgg19-tfjs/model.json;
                     a random conv stack in both when absent)
  --dcgan-steps N    timed DCGAN steps (default 20)
  --dcgan-warmup N   untimed DCGAN steps first (default 3)
  --style-steps N    timed style steps (default 10)
  --style-warmup N   untimed style steps first (default 2)
  --gatys-steps N    timed Gatys steps (default 6)
  --gatys-warmup N   untimed Gatys steps first (default 1)
  --precision P      the C++ side's precision: auto, fp32 or bf16 (default
                     auto: bf16 on a CPU with AVX512-BF16 or AMX)
  --quick            smoke test: DCGAN 5 (+2), style 2 (+1), Gatys 2 (+1)
  -h, --help         this text

Build the programs first:
  cd build && cmake . && make neuralart-bench-dcgan neuralart-bench-style-step \
    neuralart-bench-gatys
Needs $PY with torch (sudo apt-get install python3-torch). Run on an idle
machine: other jobs on the cores change both numbers.
EOF
}

die() {
  echo "run-speed.sh: $*" >&2
  exit 1
}

# PyTorch for the Python side, and OpenBLAS (which LibTorch and python3-torch
# on Debian use for some CPU kernels).
check_prerequisites() {
  if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    die "$PY cannot import torch; install it with: sudo apt-get install python3-torch"
  fi
  local ldconfig_bin
  ldconfig_bin=$(command -v ldconfig || echo /sbin/ldconfig)
  # grep without -q reads all input: with pipefail, grep -q could make
  # ldconfig die of SIGPIPE and the pipeline look like a miss.
  if ! "$ldconfig_bin" -p 2>/dev/null | grep libopenblas >/dev/null; then
    echo "run-speed.sh: warning: libopenblas not found by ldconfig -p; CPU" \
      "numbers may be slow or not comparable (sudo apt-get install" \
      "libopenblas0)" >&2
  fi
}

for arg in "$@"; do
  case "$arg" in
    -h | --help)
      usage
      exit 0
      ;;
  esac
done
check_prerequisites

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
threads=$(nproc)
build="$repo/build"
vgg="$repo/../shared/data/vgg19-tfjs/model.json"
dcgan_steps=20
dcgan_warmup=3
style_steps=10
style_warmup=2
gatys_steps=6
gatys_warmup=1
precision=auto

need_value() {
  [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"
}
need_count() {
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 expects a non-negative integer, got '$2'"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads | --dcgan-steps | --dcgan-warmup | --style-steps | --style-warmup | \
      --gatys-steps | --gatys-warmup)
      need_value "$@"
      need_count "$1" "$2"
      case "$1" in
        --gatys-steps) gatys_steps=$2 ;;
        --gatys-warmup) gatys_warmup=$2 ;;
        --threads) threads=$2 ;;
        --dcgan-steps) dcgan_steps=$2 ;;
        --dcgan-warmup) dcgan_warmup=$2 ;;
        --style-steps) style_steps=$2 ;;
        --style-warmup) style_warmup=$2 ;;
      esac
      shift 2
      ;;
    --build)
      need_value "$@"
      build=$2
      shift 2
      ;;
    --vgg)
      need_value "$@"
      vgg=$2
      shift 2
      ;;
    --precision)
      need_value "$@"
      case "$2" in
        auto | fp32 | bf16) precision=$2 ;;
        *) die "--precision must be auto, fp32 or bf16, got '$2'" ;;
      esac
      shift 2
      ;;
    --quick)
      dcgan_steps=5
      dcgan_warmup=2
      style_steps=2
      style_warmup=1
      gatys_steps=2
      gatys_warmup=1
      shift
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $threads -ge 1 ]] || die "--threads must be at least 1"
vgg=$(realpath -m -- "$vgg")
[[ $dcgan_steps -ge 1 && $style_steps -ge 1 && $gatys_steps -ge 1 ]] ||
  die "steps must be >= 1"

dcgan_bin="$build/bench/neuralart-bench-dcgan"
style_bin="$build/bench/neuralart-bench-style-step"
gatys_bin="$build/bench/neuralart-bench-gatys"
for bin in "$dcgan_bin" "$style_bin" "$gatys_bin"; do
  [[ -x "$bin" ]] || die "$bin is missing; build it: cd $build && cmake . &&" \
    "make neuralart-bench-dcgan neuralart-bench-style-step neuralart-bench-gatys"
done

# Each program prints one JSON line on stdout; progress goes to stderr.
run() {
  echo "run-speed.sh: $*" >&2
  "$@"
}

dcgan_args=(--steps "$dcgan_steps" --warmup "$dcgan_warmup" --threads "$threads")
style_args=(--steps "$style_steps" --warmup "$style_warmup" --threads "$threads"
  --vgg "$vgg")
gatys_args=(--steps "$gatys_steps" --warmup "$gatys_warmup" --threads "$threads"
  --vgg "$vgg")

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cpp_dcgan=$(run "$dcgan_bin" "${dcgan_args[@]}" --precision "$precision")
py_dcgan=$(run "$PY" "$here/dcgan_pytorch.py" "${dcgan_args[@]}")
cpp_style=$(run "$style_bin" "${style_args[@]}" --precision "$precision")
py_style=$(run "$PY" "$here/style_step_pytorch.py" "${style_args[@]}")
cpp_gatys=$(run "$gatys_bin" "${gatys_args[@]}" --precision "$precision")
py_gatys=$(run "$PY" "$here/gatys_pytorch.py" "${gatys_args[@]}")

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
torch_version=$("$PY" -c 'import torch; print(torch.__version__)')

CPP_DCGAN=$cpp_dcgan PY_DCGAN=$py_dcgan CPP_STYLE=$cpp_style \
  PY_STYLE=$py_style CPP_GATYS=$cpp_gatys PY_GATYS=$py_gatys CPU=${cpu:-unknown} NPROC=$(nproc) \
  DATE=$(date -u '+%Y-%m-%d %H:%M UTC') TORCH_VERSION=$torch_version \
  LOAD_BEFORE=$load_before LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg) \
  THREADS=$threads \
  "$PY" - <<'EOF'
import json
import os

e = os.environ
cd, pd = json.loads(e["CPP_DCGAN"]), json.loads(e["PY_DCGAN"])
cs, ps = json.loads(e["CPP_STYLE"]), json.loads(e["PY_STYLE"])
cg, pg = json.loads(e["CPP_GATYS"]), json.loads(e["PY_GATYS"])

if (cd["params_g"], cd["params_d"]) != (pd["params_g"], pd["params_d"]):
    print("**warning: DCGAN parameter counts differ between C++ and Python**")
if cs["params"] != ps["params"] or cs["loss_net"] != ps["loss_net"]:
    print("**warning: style networks differ between C++ and Python**")

print(f"| benchmark | neuralart C++ (LibTorch, {cd['precision']}) "
      "| PyTorch (Python, eager fp32) | C++ / PyTorch speed |")
print("|---|---|---|---|")
print(f"| DCGAN 64x64 RGB training, batch {cd['batch']} "
      f"(G {cd['params_g']:,} + D {cd['params_d']:,} params) "
      f"| {cd['images_per_second']:.1f} images/s "
      f"| {pd['images_per_second']:.1f} images/s "
      f"| {cd['images_per_second'] / pd['images_per_second']:.2f}x |")
print(f"| Style training step {cs['size']}x{cs['size']}, batch {cs['batch']} "
      f"(TransformerNet {cs['params']:,} params, {cs['loss_net']} loss net) "
      f"| {cs['ms_per_step']:.0f} ms/step "
      f"| {ps['ms_per_step']:.0f} ms/step "
      f"| {ps['ms_per_step'] / cs['ms_per_step']:.2f}x |")
print(f"| Gatys step {cg['size']}x{cg['size']} (Adam, {cg['loss_net']} loss "
      f"net, 2-level pyramid) | {cg['ms_per_step']:.0f} ms/step "
      f"| {pg['ms_per_step']:.0f} ms/step "
      f"| {pg['ms_per_step'] / cg['ms_per_step']:.2f}x |")
print()
print(f"- CPU: {e['CPU']} ({e['NPROC']} cores online), threads "
      f"{e['THREADS']}")
print(f"- date: {e['DATE']}; load average (1, 5, 15 min) before: "
      f"{e['LOAD_BEFORE']}, after: {e['LOAD_AFTER']}")
print(f"- torch: Python {e['TORCH_VERSION']}, LibTorch {cd['torch']}")
print(f"- steps: DCGAN {cd['steps']} timed after {cd['warmup']} warm-up; "
      f"style {cs['steps']} timed after {cs['warmup']} warm-up; "
      f"Gatys {cg['steps']} timed after {cg['warmup']} warm-up")
print()
print("Raw results:")
print()
print("```")
for r in (cd, pd, cs, ps, cg, pg):
    print(json.dumps(r, sort_keys=True))
print("```")
EOF
