#!/usr/bin/env bash
# Trains a GAN for a fixed CPU budget, then scores it with eval-gan: the
# same-budget comparisons of docs/training-gan.md (DCGAN against the
# StyleGAN-style generator, bce against rpgan, MNIST and stacked MNIST).
#
#   bench/gan-budget.sh CPU_SECONDS EVAL_DATA -- GAN_ARGS...
#
# GAN_ARGS are `neuralart-train gan` options (with --out RUN_DIR and enough
# --steps to outlast the budget). When the trainer's user + system time
# reaches CPU_SECONDS it gets one Ctrl-C, which writes the checkpoint and
# the generator as usual; then `eval-gan RUN_DIR/generator.bundle --data
# EVAL_DATA` prints the coverage report, also kept as RUN_DIR/eval.txt
# (with GAN_BUDGET_JSON=1 as RUN_DIR/eval.json instead). The trainer runs
# where NEURALART_BUILD_DIR (default build) puts it.
set -euo pipefail

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[ $# -ge 4 ] && [ "$3" = "--" ] || usage
budget=$1 data=$2
shift 3
[[ "$budget" =~ ^[0-9]+$ ]] && [ "$budget" -gt 0 ] ||
  { echo "gan-budget: CPU_SECONDS must be a positive integer, got '$budget'" >&2; exit 2; }
build=${NEURALART_BUILD_DIR:-build}
train="$build/trainer/neuralart-train"
[ -x "$train" ] || { echo "gan-budget: $train is missing: build first (cmake --build $build)" >&2; exit 2; }
out=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--out" ] && out=${args[$((i + 1))]:-}
done
[ -n "$out" ] || { echo "gan-budget: give the trainer --out RUN_DIR" >&2; exit 2; }

tick=$(getconf CLK_TCK)
"$train" gan "$@" &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' INT TERM
# utime and stime are fields 14 and 15 of /proc/PID/stat, after the command
# name in parentheses (which may hold spaces).
cpu_seconds() {
  local stat
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  read -r -a f <<<"$stat"
  echo $(((f[11] + f[12]) / tick))
}
stopped=""
while kill -0 "$pid" 2>/dev/null; do
  used=$(cpu_seconds) || break
  if [ "$used" -ge "$budget" ]; then
    echo "gan-budget: $used CPU-s used, stopping the trainer (Ctrl-C)" >&2
    kill -INT "$pid"
    stopped=yes
    break
  fi
  sleep 1
done
rc=0
wait "$pid" || rc=$?
# 130: stopped by the Ctrl-C above, after writing the generator.
if [ "$rc" -ne 0 ] && ! { [ "$rc" -eq 130 ] && [ -n "$stopped" ]; }; then
  echo "gan-budget: the trainer failed (exit $rc)" >&2
  exit "$rc"
fi
if [ "${GAN_BUDGET_JSON:-0}" = 1 ]; then
  "$train" eval-gan "$out/generator.bundle" --data "$data" --json | tee "$out/eval.json"
else
  "$train" eval-gan "$out/generator.bundle" --data "$data" | tee "$out/eval.txt"
fi
