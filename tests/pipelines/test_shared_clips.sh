#!/usr/bin/env bash
# restyle-file on real camera footage (the shared clips; skipped when they
# are not there): H.264 in Matroska when an H.264 decoder is installed, else
# VP8 in WebM. Every frame comes out, at the clip's size and frame rate.
source "$(dirname "$(readlink -f "$0")")/common.sh"
clips="${NEURALART_TEST_VIDEO_DIR:-$SOURCE_DIR/../shared/data/video}"
h264="$clips/h264/asl_sign_book_640x480_h264.mkv"
vp8="$clips/asl_sign_book_640x480.webm"
if [ -f "$h264" ] && { has_element avdec_h264 || has_element openh264dec; }; then
  in="$h264"
elif [ -f "$vp8" ]; then
  in="$vp8"
  [ ! -f "$h264" ] || note "no H.264 decoder (gstreamer1.0-libav): using the VP8 clip"
else
  skip "no shared clips in $clips (set NEURALART_TEST_VIDEO_DIR)"
fi
model="$(style_model)"
info="$(media_info "$in")"
[ "$info" != unreadable ] || fail "cannot read $in"
frames="$(count_frames "$in")"
[ "$frames" -gt 0 ] || fail "no frames decoded from $in"
read -r size fps duration _ <<<"$info"
note "input $in: $info, $frames frames"
"$PIPES/restyle-file" "$in" "$WORK/restyled.mp4" --model "$model" --scale 0.1 >"$WORK/log" 2>&1 ||
  { cat "$WORK/log" >&2; fail "restyle-file failed on $in"; }
expect_media "$WORK/restyled.mp4" "$size $fps" "$frames" "$duration" none
note "pass"
