#!/usr/bin/env bash
# The embedding example builds gansrc ! styletransfer ! appsink in code and
# writes PNG frames. Models are made here in seconds.
# usage: test_embed.sh BUILD_DIR
set -euo pipefail
build="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
train="$build/trainer/neuralart-train"
"$train" gan --data builtin:50 --out "$tmp/gan" --steps 1 --resolution 32 \
  --base-width 8 --batch 4 --threads 1 >/dev/null 2>&1
mkdir -p "$tmp/content"
cp "$tmp/gan/samples/latest.png" "$tmp/content/a.png"
cp "$tmp/gan/loss_plot.png" "$tmp/content/b.png"
"$train" style --style "$tmp/gan/samples/latest.png" --content "$tmp/content" \
  --out "$tmp/style.bundle" --steps 1 --size 32 --width 4 --res-blocks 1 \
  --batch 1 --threads 1 >/dev/null 2>&1
export GST_PLUGIN_PATH="$build/plugins"
"$build/examples/neuralart-embed-example" "$tmp/frames" 3 \
  "$tmp/gan/generator.bundle" "$tmp/style.bundle"
count=$(ls "$tmp/frames"/frame_*.png | wc -l)
[ "$count" -eq 3 ] || { echo "expected 3 frames, got $count"; exit 1; }
# A missing model is an error, not a crash.
if "$build/examples/neuralart-embed-example" "$tmp/bad" 2 /nonexistent.bundle \
  "$tmp/style.bundle" 2>"$tmp/err"; then
  echo "expected failure for a missing model"; exit 1
fi
grep -q "/nonexistent.bundle" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "embed example: ok"
