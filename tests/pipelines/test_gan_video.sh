#!/usr/bin/env bash
# gan-video: a tiny generator trained here renders walk and loop videos with
# the asked size, frame rate and frame count; bad options exit 2.
source "$(dirname "$(readlink -f "$0")")/common.sh"
[ -x "$TRAIN" ] || fail "$TRAIN is missing: build the neuralart-train target"
gan=("$PIPES/gan-video")
"$TRAIN" gan --out "$WORK/gan" --steps 2 --resolution 32 --base-width 8 --batch 4 --sample-every 1 \
  --checkpoint-every 1 --threads 1 >"$WORK/train.log" 2>&1 || { cat "$WORK/train.log" >&2; fail "training the test generator failed"; }
g="$WORK/gan/generator.bundle"

"${gan[@]}" "$g" "$WORK/walk.webm" --seconds 1 --fps 5 --size 32x32 >/dev/null || fail "gan-video walk failed"
expect_media "$WORK/walk.webm" "32x32 5/1" 5 1.0 none
"${gan[@]}" "$g" "$WORK/loop.mp4" --mode loop --grid 2x2 --seconds 0.8 --fps 10 --size 64x64 >/dev/null ||
  fail "gan-video loop failed"
expect_media "$WORK/loop.mp4" "64x64 10/1" 8 0.8 none

expect_exit 2 "${gan[@]}" "$g" "$WORK/x.mp4" --grid 2x3
expect_exit 2 "${gan[@]}" "$g" "$WORK/x.mp4" --seconds 0
expect_exit 2 "${gan[@]}" "$g" "$WORK/x.mp4" --mode sideways
expect_exit 2 "${gan[@]}" "$g" "$WORK/x.mp4" --bogus
expect_exit 2 "${gan[@]}" a b c
expect_exit 2 "${gan[@]}" "$g" "$WORK/x.avi"
expect_exit 1 "${gan[@]}" "$WORK/missing.bundle" "$WORK/x.mp4"
[ ! -e "$WORK/x.mp4" ] && [ ! -e "$WORK/x.mp4.part" ] || fail "a failed run left an output"
note "pass"
