#!/usr/bin/env bash
# bench/cuda-check.sh OUT_DIR [FRAMES.rgbx]
#
# On a machine with an NVIDIA GPU and PyTorch (a pip wheel, which carries a
# CUDA LibTorch): builds core, its tests and the tensor-only benchmarks
# against that LibTorch (NEURALART_WITH_MEDIA=OFF: no OpenCV, GStreamer or
# Boost needed), runs the CUDA tests, the GPU benchmarks (C++ and their
# PyTorch twins on the same frames), then the rest of the core tests.
# Everything lands in OUT_DIR: *.log and bench.jsonl (one JSON line per
# measurement). FRAMES.rgbx: raw 640x360 RGBx frames to time on (e.g. from
# gst-launch-1.0 ... ! video/x-raw,format=RGBx,width=640,height=360 !
# filesink); without it, smooth random frames.
#
# Needs nlohmann-json, GoogleTest and zlib headers; DEPS_PREFIX names a
# prefix holding them (include/, lib/, share/cmake/) where the system lacks
# them. VGG=PATH/model.json times the style step with VGG-19.
# Each step has its own time limit, so a slow one cannot eat the rest.
set -uo pipefail
out=${1:?usage: bench/cuda-check.sh OUT_DIR [FRAMES.rgbx]}
frames=${2:-}
mkdir -p "$out"
deps=${DEPS_PREFIX:-}
jsonl="$out/bench.jsonl"
log() { echo "[$(date +%T)] $*" | tee -a "$out/steps.log"; }

torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c 'import torch;print("torch", torch.__version__, "cuda",
torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
  nproc
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"

zlib_args=()
if [ -n "$deps" ]; then
  # Headers come from DEPS_PREFIX; link the system's runtime zlib.
  so=
  for f in /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libz.so.1; do
    [ -e "$f" ] && so=$f && break
  done
  if [ -n "$so" ]; then
    mkdir -p "$deps/lib"
    ln -sf "$so" "$deps/lib/libz.so"
  fi
  zlib_args=(-DZLIB_ROOT="$deps")
fi

log configure
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DNEURALART_WITH_MEDIA=OFF -DNEURALART_BUILD_EXAMPLES=OFF \
  -DCMAKE_CUDA_ARCHITECTURES=native \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deps" "${zlib_args[@]}" \
  >"$out/configure.log" 2>&1 || {
  tail -40 "$out/configure.log"
  exit 1
}
log build
timeout 330 ninja -C build-cuda -k 0 neuralart_core_tests \
  neuralart-bench-stylizer neuralart-bench-dcgan neuralart-bench-style-step \
  >"$out/build.log" 2>&1
rc=$?
log "build rc=$rc"
[ $rc -eq 0 ] || grep -E "error|Error" -A4 "$out/build.log" | head -80

t=build-cuda/tests/neuralart_core_tests
b=build-cuda/bench
if [ -x $t ]; then
  log "CUDA tests"
  timeout 90 $t --gtest_filter='Cuda.*' >"$out/cuda-tests.log" 2>&1
  log "CUDA tests rc=$?"
  tail -30 "$out/cuda-tests.log"
fi

input=()
[ -n "$frames" ] && input=(--input "$frames" --input-size 640x360)
sizes=256x256,640x360,1280x720
if [ -x $b/neuralart-bench-stylizer ]; then
  log "stylizer fp32"
  timeout 60 $b/neuralart-bench-stylizer --device cuda --precision fp32 \
    --sizes $sizes --frames 150 --warmup 20 "${input[@]}" | tee -a "$jsonl"
  log "stylizer fp16 + PSNR against CPU fp32"
  timeout 120 $b/neuralart-bench-stylizer --device cuda --precision fp16 \
    --sizes $sizes --frames 300 --warmup 20 --psnr 1 "${input[@]}" |
    tee -a "$jsonl"
fi
log "PyTorch eager twins"
for args in "--precision fp32" "--precision fp16 --channels-last 1"; do
  # shellcheck disable=SC2086
  timeout 60 python3 bench/stylizer_pytorch.py --device cuda $args \
    --sizes 640x360,1280x720 --frames 200 --warmup 20 "${input[@]}" |
    tee -a "$jsonl"
done
if [ -x $b/neuralart-bench-dcgan ]; then
  log "DCGAN training step"
  timeout 40 $b/neuralart-bench-dcgan --device cuda --steps 200 --warmup 20 \
    | tee -a "$jsonl"
  timeout 40 python3 bench/dcgan_pytorch.py --device cuda --steps 200 \
    --warmup 20 | tee -a "$jsonl"
fi
if [ -x $b/neuralart-bench-style-step ]; then
  log "style training step"
  timeout 40 $b/neuralart-bench-style-step --device cuda --steps 40 \
    --warmup 5 ${VGG:+--vgg "$VGG"} | tee -a "$jsonl"
fi
log "torch.compile twin (fp16, channels-last)"
timeout 120 python3 bench/stylizer_pytorch.py --device cuda --precision fp16 \
  --channels-last 1 --compile 1 --sizes 1280x720 --frames 300 --warmup 30 \
  "${input[@]}" | tee -a "$jsonl"
if [ -x $t ]; then
  log "all core tests"
  timeout 100 $t --gtest_brief=1 >"$out/core-tests.log" 2>&1
  log "core tests rc=$?"
  tail -15 "$out/core-tests.log"
fi
log finished
