#!/usr/bin/env bash
# side-by-side: original | restyled, twice as wide (or tall), same frames,
# frame rate and duration, audio copied; one panel per --style; --live runs
# headless; bad options exit 2.
source "$(dirname "$(readlink -f "$0")")/common.sh"
model="$(style_model)"
sbs=("$PIPES/side-by-side")
make_clip "$WORK/in.webm" 64 48 10 10 audio

"${sbs[@]}" "$WORK/in.webm" "$WORK/wide.mp4" --model "$model" --threads 1 --quiet >/dev/null ||
  fail "side-by-side failed"
expect_media "$WORK/wide.mp4" "128x48 10/1" 10 1.0 Opus
audio_payload "$WORK/in.webm" audio/x-opus "$WORK/a-in"
audio_payload "$WORK/wide.mp4" audio/x-opus "$WORK/a-out"
cmp -s "$WORK/a-in" "$WORK/a-out" || fail "the audio was not copied"
"${sbs[@]}" "$WORK/in.webm" "$WORK/tall.webm" --vertical --scale 0.5 --model "$model" --threads 1 --quiet >/dev/null ||
  fail "side-by-side --vertical failed"
expect_media "$WORK/tall.webm" "64x96 10/1" 10 1.0 Opus
# One panel per style: original | style | style (the tiny model's one style
# twice, by index and as a list).
"${sbs[@]}" "$WORK/in.webm" "$WORK/three.mp4" --style 0,0 --model "$model" --threads 1 >"$WORK/log" 2>&1 ||
  { cat "$WORK/log" >&2; fail "side-by-side --style 0,0 failed"; }
expect_media "$WORK/three.mp4" "192x48 10/1" 10 1.0 Opus
grep -q 'original | 0 | 0' "$WORK/log" || fail "the panels were not named"
"${sbs[@]}" "$WORK/in.webm" "$WORK/three-tall.webm" --style 0 --style 0 --vertical --no-audio \
  --model "$model" --threads 1 --quiet >/dev/null || fail "side-by-side --style 0 --style 0 --vertical failed"
expect_media "$WORK/three-tall.webm" "64x144 10/1" 10 1.0 none

"${sbs[@]}" --live --sink fakesink --num-buffers 5 --size 32x32 --model "$model" --threads 1 >"$WORK/log" 2>&1 ||
  { cat "$WORK/log" >&2; fail "side-by-side --live failed"; }
grep -q 'Got EOS' "$WORK/log" || fail "the live pipeline did not run to the end"
"${sbs[@]}" --live --sink fakesink --num-buffers 5 --size 32x32 --style 0,0 --model "$model" --threads 1 >"$WORK/log" 2>&1 ||
  { cat "$WORK/log" >&2; fail "side-by-side --live with two styles failed"; }
grep -q 'Got EOS' "$WORK/log" || fail "the live pipeline with two styles did not run to the end"

expect_exit 2 "${sbs[@]}"
expect_exit 2 "${sbs[@]}" "$WORK/in.webm" "$WORK/x.gif"
expect_exit 2 "${sbs[@]}" "$WORK/in.webm" "$WORK/x.mp4" --strength -1
expect_exit 2 "${sbs[@]}" --live "$WORK/in.webm"
expect_exit 2 "${sbs[@]}" "$WORK/in.webm" "$WORK/x.mp4" --style 0,,1
expect_exit 2 "${sbs[@]}" "$WORK/in.webm" "$WORK/x.mp4" --style "a b"
expect_exit 1 "${sbs[@]}" "$WORK/missing.webm" "$WORK/x.mp4" --model "$model"
[ ! -e "$WORK/x.mp4" ] || fail "a failed run left an output"
note "pass"
