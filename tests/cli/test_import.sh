#!/usr/bin/env bash
# neuralart-train import against PyTorch itself: python3-torch writes
# pytorch/examples TransformerNet checkpoints with seeded random weights in
# both torch.save formats, and its outputs on fixed random images; the
# imported bundles must give the same outputs (PSNR >= 40 dB in fp32, and
# through the elements' 8-bit path), and other layouts must be refused with
# the key, object or format named. Exit 0 pass, 1 fail, 77 skip (no
# python3-torch). Run by ctest, or by hand with NEURALART_TRAIN and
# NEURALART_IMPORT_CHECK pointing at the build's programs.
set -euo pipefail

TEST_NAME=test_import
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${NEURALART_BUILD_DIR:-$HERE/../../build}"
TRAIN="${NEURALART_TRAIN:-$BUILD_DIR/trainer/neuralart-train}"
CHECK="${NEURALART_IMPORT_CHECK:-$BUILD_DIR/tests/neuralart_import_check}"
PYTORCH_SIDE="$HERE/transformer_net_import.py"

fail() {
  echo "$TEST_NAME: FAIL: $*" >&2
  exit 1
}
note() { echo "$TEST_NAME: $*"; }

# Debian's python3-torch belongs to the system python3, which may not be
# the first python3 on PATH (pyenv, a venv).
PY=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null &&
    "$candidate" -c "import torch" >/dev/null 2>&1; then
    PY="$candidate"
    break
  fi
done
if [ -z "$PY" ]; then
  echo "$TEST_NAME: SKIP: PyTorch for Python is not installed" \
    "(apt-get install python3-torch)" >&2
  exit 77
fi
[ -x "$TRAIN" ] || fail "$TRAIN is missing: build neuralart-train"
[ -x "$CHECK" ] || fail "$CHECK is missing: build neuralart_import_check"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/neuralart-$TEST_NAME.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
"$PY" "$PYTORCH_SIDE" make "$WORK"

# Both serialisations, each on a multiple-of-4 image and one with odd sides.
for src in net.pth net.model; do
  bundle="$WORK/$src.bundle"
  "$TRAIN" import "$WORK/$src" --out "$bundle" ||
    fail "import $src exited with $?"
  "$TRAIN" inspect "$bundle" --json >"$WORK/meta.json"
  for field in '"upsample": "double"' '"output": "linear"' \
    '"value_range": "byte"' '"imported_from"' '"file": "'"$WORK/$src"'"' \
    '"res_blocks": 5' '"width": 32' '"net"'; do
    grep -qF "$field" "$WORK/meta.json" ||
      fail "inspect $src.bundle lacks $field: $(cat "$WORK/meta.json")"
  done
  for size in 96x64 83x61; do
    "$CHECK" "$bundle" "$WORK/input_$size.safetensors" "$WORK/out.safetensors" ||
      fail "neuralart_import_check failed on $src, $size"
    note "$src, $size:"
    "$PY" "$PYTORCH_SIDE" compare "$WORK/expected_$size.safetensors" \
      "$WORK/out.safetensors" || fail "$src at $size differs from PyTorch"
  done
done

# --style-name names the style.
"$TRAIN" import "$WORK/net.pth" --out "$WORK/named.bundle" \
  --style-name candy >/dev/null
"$TRAIN" inspect "$WORK/named.bundle" --json | grep -q '"candy"' ||
  fail "--style-name candy is not in the bundle"

# expect_refusal CODE TEXT SRC: import SRC must exit CODE, say TEXT and write
# no bundle.
expect_refusal() {
  local code="$1" text="$2" src="$3" rc=0
  "$TRAIN" import "$src" --out "$WORK/refused.bundle" >"$WORK/out" 2>&1 ||
    rc=$?
  [ "$rc" -eq "$code" ] ||
    fail "import $src exited with $rc, expected $code: $(cat "$WORK/out")"
  grep -qF -- "$text" "$WORK/out" ||
    fail "import $src does not say '$text': $(cat "$WORK/out")"
  [ ! -e "$WORK/refused.bundle" ] || fail "import $src wrote a bundle"
  note "refused $(basename "$src"): $(head -n 1 "$WORK/out")"
}
expect_refusal 2 "'res3.conv2.conv.weight'" "$WORK/renamed.pth"
expect_refusal 1 "__main__.TransformerNet" "$WORK/whole_model.pth"
expect_refusal 1 "TorchScript" "$WORK/scripted.pt"
expect_refusal 1 "cannot open" "$WORK/missing.pth"
head -c 3000000 "$WORK/net.model" >"$WORK/truncated.model"
expect_refusal 1 "truncated" "$WORK/truncated.model"
head -c 3000000 "$WORK/net.pth" >"$WORK/truncated.pth"
expect_refusal 1 "corrupt zip archive" "$WORK/truncated.pth"
cp "$WORK/net.pth" "$WORK/damaged.pth"
printf 'XXXX' | dd of="$WORK/damaged.pth" bs=1 seek=100000 conv=notrunc \
  status=none
expect_refusal 1 "CRC-32" "$WORK/damaged.pth"
printf 'not a checkpoint' >"$WORK/text.pth"
expect_refusal 1 "not a torch.save file" "$WORK/text.pth"
note "ok"
