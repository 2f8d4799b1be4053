#!/usr/bin/env bash
# live-restyle, headless: test pattern -> leaky queue -> styletransfer ->
# fakesink runs to the end; a broken model makes it fail (so the network
# really runs); bad options exit 2.
source "$(dirname "$(readlink -f "$0")")/common.sh"
model="$(style_model)"
live=("$PIPES/live-restyle")

"${live[@]}" --test-pattern --sink fakesink --num-buffers 10 --size 64x48 --model "$model" --threads 1 \
  >"$WORK/log" 2>&1 || { cat "$WORK/log" >&2; fail "live-restyle with a test pattern failed"; }
grep -q 'Got EOS' "$WORK/log" || { cat "$WORK/log" >&2; fail "the pipeline did not run to the end"; }
note "ok: test pattern -> styletransfer -> fakesink"
if [ ! -e /dev/video0 ]; then
  "${live[@]}" --sink fakesink --num-buffers 3 --size 32x32 --model "$model" --threads 1 >"$WORK/log" 2>&1 ||
    { cat "$WORK/log" >&2; fail "live-restyle without a camera failed"; }
  grep -q 'no camera found' "$WORK/log" || fail "no message about the missing camera"
  note "ok: no camera -> test pattern, with a message"
fi
head -c 3000 /dev/urandom >"$WORK/broken.bundle"
expect_exit 1 "${live[@]}" --test-pattern --sink fakesink --num-buffers 3 --size 32x32 --model "$WORK/broken.bundle"
expect_exit 1 "${live[@]}" --test-pattern --sink fakesink --model "$WORK/missing.bundle"
expect_exit 1 "${live[@]}" --device /dev/neuralart-no-such-camera --sink fakesink --model "$model"
expect_exit 2 "${live[@]}" --size 8x8
expect_exit 2 "${live[@]}" --size big
expect_exit 2 "${live[@]}" --num-buffers 0
expect_exit 2 "${live[@]}" --scale 2
expect_exit 2 "${live[@]}" --sink 'fakesink ! x'
expect_exit 2 "${live[@]}" extra
expect_exit 0 "${live[@]}" --help
note "pass"
