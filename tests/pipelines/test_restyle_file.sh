#!/usr/bin/env bash
# restyle-file: size, frame rate, frame count and duration kept; audio copied
# bit for bit when the container takes it, re-encoded when not; bad options
# exit 2; failures and interruptions leave no output.
source "$(dirname "$(readlink -f "$0")")/common.sh"
model="$(style_model)"
rs=("$PIPES/restyle-file")
opts=(--model "$model" --threads 1)

# H.264 + AAC in MP4 when an H.264 decoder is installed, else VP8 + Opus.
if has_element avdec_h264 || has_element openh264dec; then
  in="$WORK/in.mp4" caps="audio/mpeg" codec=AAC
else
  note "no H.264 decoder (gstreamer1.0-libav): testing with WebM input only"
  in="$WORK/in.webm" caps="audio/x-opus" codec=Opus
fi
make_clip "$in" 64 48 10 10 audio
make_clip "$WORK/in-noaudio.webm" 48 32 5 6
in_duration="$(cut -d' ' -f3 <<<"$(media_info "$in")")"

# Same container family: the audio is copied untouched.
for ext in mp4 mkv; do
  out="$WORK/out-$ext.$ext"
  "${rs[@]}" "$in" "$out" "${opts[@]}" 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "restyle-file to .$ext failed"; }
  expect_media "$out" "64x48 10/1" 10 "$in_duration" "$codec"
  audio_payload "$in" "$caps" "$WORK/a-in"
  audio_payload "$out" "$caps" "$WORK/a-out"
  [ -s "$WORK/a-in" ] || fail "no audio payload read from $in"
  cmp -s "$WORK/a-in" "$WORK/a-out" || fail "the audio of $out is not a copy of the input's"
  grep -q 'progress\|%' "$WORK/err" || fail "no progress shown"
done

# WebM takes only Vorbis/Opus: AAC is re-encoded, and it says so.
out="$WORK/out.webm"
"${rs[@]}" "$in" "$out" "${opts[@]}" --strength 0.5 --scale 0.5 >"$WORK/log" 2>&1 ||
  { cat "$WORK/log" >&2; fail "restyle-file to .webm failed"; }
expect_media "$out" "64x48 10/1" 10 "$in_duration" Opus
if [ "$codec" = AAC ]; then grep -q 're-encoding' "$WORK/log" || fail "no message about re-encoding the audio"; fi

# No audio in, none out; --no-audio drops it.
"${rs[@]}" "$WORK/in-noaudio.webm" "$WORK/noaudio.mp4" "${opts[@]}" --quiet >/dev/null ||
  fail "restyle-file without audio failed"
expect_media "$WORK/noaudio.mp4" "48x32 5/1" 6 1.2 none
"${rs[@]}" "$in" "$WORK/dropped.mkv" "${opts[@]}" --no-audio --quiet >/dev/null || fail "--no-audio failed"
# Smoothing with either flow.
for flow in fine fast; do
  "${rs[@]}" "$WORK/in-noaudio.webm" "$WORK/smooth-$flow.webm" "${opts[@]}" --smoothing 0.8 \
    --smoothing-flow "$flow" --quiet >/dev/null || fail "--smoothing 0.8 --smoothing-flow $flow failed"
  expect_media "$WORK/smooth-$flow.webm" "48x32 5/1" 6 1.2 none
done
expect_media "$WORK/dropped.mkv" "64x48 10/1" 10 "$in_duration" none

# Without --model: the shipped default, when the source tree has it.
if [ -f "$SOURCE_DIR/examples/models/default-style.bundle" ]; then
  "${rs[@]}" "$WORK/in-noaudio.webm" "$WORK/default.webm" --threads 1 --quiet >/dev/null ||
    fail "restyle-file with the default model failed"
  expect_media "$WORK/default.webm" "48x32 5/1" 6 1.2 none
else
  note "examples/models/default-style.bundle is not there (yet): the default model is not tested"
fi

# --style-image: the shipped universal model restyles like a painting given
# as a file; a missing painting is refused before any work.
if [ -f "$SOURCE_DIR/examples/models/universal-style.bundle" ]; then
  gst-launch-1.0 -q videotestsrc pattern=smpte num-buffers=1 ! video/x-raw,width=96,height=64 \
    ! videoconvert ! pngenc ! filesink location="$WORK/painting.png"
  "${rs[@]}" "$WORK/in-noaudio.webm" "$WORK/painted.webm" --style-image "$WORK/painting.png" \
    --threads 1 --quiet >/dev/null || fail "restyle-file --style-image failed"
  expect_media "$WORK/painted.webm" "48x32 5/1" 6 1.2 none
else
  note "examples/models/universal-style.bundle is not there: --style-image is not tested"
fi
expect_exit 1 "${rs[@]}" "$WORK/in-noaudio.webm" "$WORK/x.webm" --style-image "$WORK/none.png"
[ ! -e "$WORK/x.webm" ] || fail "a missing style image left an output"

# An odd size: kept in WebM; refused with a reason for H.264.
make_clip "$WORK/odd.webm" 33 25 10 4
"${rs[@]}" "$WORK/odd.webm" "$WORK/odd-out.webm" "${opts[@]}" --quiet >/dev/null || fail "odd size to .webm failed"
expect_media "$WORK/odd-out.webm" "33x25 10/1" 4 0.4 none
expect_exit 1 "${rs[@]}" "$WORK/odd.webm" "$WORK/odd-out.mp4" "${opts[@]}"
grep -q 'even width and height' "$WORK/last.out" || fail "no reason given for refusing an odd size in H.264"

# Usage errors: exit 2.
expect_exit 2 "${rs[@]}"
expect_exit 2 "${rs[@]}" "$in"
expect_exit 2 "${rs[@]}" "$in" "$WORK/x.mp4" --bogus
expect_exit 2 "${rs[@]}" "$in" "$WORK/x.mp4" --strength 1.5
expect_exit 2 "${rs[@]}" "$in" "$WORK/x.mp4" --scale 0
expect_exit 2 "${rs[@]}" "$in" "$WORK/x.mp4" --smoothing-flow medium
grep -q "smoothing-flow 'medium' must be fast or fine" "$WORK/last.out" || fail "no reason given for a bad --smoothing-flow"
expect_exit 2 "${rs[@]}" "$in" "$WORK/x.mp4" --threads many
expect_exit 2 "${rs[@]}" "$in" "$WORK/x.avi"
expect_exit 0 "${rs[@]}" --help
# Failures: exit 1 and no output.
expect_exit 1 "${rs[@]}" "$WORK/missing.mp4" "$WORK/x.mp4" "${opts[@]}"
expect_exit 1 "${rs[@]}" "$in" "$WORK/x.mp4" --model "$WORK/missing.bundle"
head -c 20000 /dev/urandom >"$WORK/corrupt.mp4"
expect_exit 1 "${rs[@]}" "$WORK/corrupt.mp4" "$WORK/x.mp4" "${opts[@]}"
head -c 3000 /dev/urandom >"$WORK/corrupt.bundle"
expect_exit 1 "${rs[@]}" "$in" "$WORK/x.mp4" --model "$WORK/corrupt.bundle"
[ ! -e "$WORK/x.mp4" ] && [ ! -e "$WORK/x.mp4.part" ] || fail "a failed run left an output behind"

# SIGTERM while writing: exit 143, no output, no .part.
make_clip "$WORK/long.webm" 64 48 10 600
"${rs[@]}" "$WORK/long.webm" "$WORK/killed.mp4" "${opts[@]}" --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ -e "$WORK/killed.mp4.part" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -e "$WORK/killed.mp4.part" ] || fail "restyle-file never started writing killed.mp4.part"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 143 ] || fail "restyle-file stopped by SIGTERM exited $rc, expected 143"
[ ! -e "$WORK/killed.mp4" ] && [ ! -e "$WORK/killed.mp4.part" ] || fail "an interrupted run left an output behind"
note "pass"
