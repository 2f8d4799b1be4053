#!/usr/bin/env bash
# soak.sh: runs a pipeline for many frames and samples its resident memory
# (VmRSS) every second; prints the samples as CSV and a summary line.
#   bench/soak.sh [--frames N] [--build DIR] [--size WxH] [--model FILE]
#                 styletransfer|gansrc
# styletransfer: videotestsrc (ball, 160x120 or --size) ! styletransfer (the
# shipped default-style or --model, bf16 where the CPU has native bf16)
# ! fakesink.
# gansrc: gansrc (the shipped default-gan, walk) 64x64 ! fakesink.
set -euo pipefail
frames=10000
size=160x120
model=""
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
while [[ $# -gt 1 ]]; do
  case "$1" in
    --frames) frames=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
what=${1:-styletransfer}
precision=fp32
grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo && precision=bf16
# Caps strings hold commas: they are single arguments.
# shellcheck disable=SC2054
case "$what" in
  styletransfer)
    [[ "$size" =~ ^[0-9]+x[0-9]+$ ]] || { echo "soak.sh: --size WxH, not '$size'" >&2; exit 1; }
    pipeline=(videotestsrc num-buffers="$frames" pattern=ball !
      "video/x-raw,width=${size%x*},height=${size#*x}" ! styletransfer threads=2
      precision="$precision" ${model:+model="$model"} ! fakesink sync=false) ;;
  gansrc)
    pipeline=(gansrc num-buffers="$frames" threads=1 !
      video/x-raw,width=64,height=64 ! fakesink sync=false) ;;
  *) echo "soak.sh: styletransfer or gansrc, not '$what'" >&2; exit 1 ;;
esac
gst-launch-1.0 -q --gst-plugin-path="$build/plugins" "${pipeline[@]}" &
pid=$!
echo "seconds,rss_kib"
start=$(date +%s)
samples=()
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  if [[ -n "$rss" ]]; then
    echo "$(($(date +%s) - start)),$rss"
    samples+=("$rss")
  fi
  sleep 1
done
wait "$pid"
n=${#samples[@]}
q=$((n / 4))
[[ $n -ge 8 ]] || { echo "soak.sh: too few samples ($n)" >&2; exit 1; }
# Growth: mean of the last quarter against the mean of the second quarter
# (the first quarter holds the warm-up).
printf '%s\n' "${samples[@]}" | awk -v q="$q" -v n="$n" -v what="$what" \
  -v frames="$frames" -v secs="$(($(date +%s) - start))" '
  { v[NR] = $1 }
  END {
    for (i = q + 1; i <= 2 * q; i++) a += v[i]; a /= q
    for (i = n - q + 1; i <= n; i++) b += v[i]; b /= q
    printf "# %s: %d frames in %d s; RSS second quarter %.1f MiB, last quarter %.1f MiB (%+.2f%%), max %.1f MiB\n",
      what, frames, secs, a / 1024, b / 1024, 100 * (b - a) / a, max(v, n) / 1024
  }
  function max(v, n,   m, i) { m = 0; for (i = 1; i <= n; i++) if (v[i] > m) m = v[i]; return m }'
