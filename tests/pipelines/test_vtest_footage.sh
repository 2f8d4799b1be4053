#!/usr/bin/env bash
# Real footage through the AVI / MPEG-4 (DivX 3, avdec_msmpeg4) decode path:
# the first frames of OpenCV's vtest.avi (Debian package opencv-doc, which
# scripts/demo.sh restyles; skipped when it is not installed) restyled by
# styletransfer at their own size, then cut, re-timed and put side by side as
# scripts/demo.sh does it. Every frame comes out, at the expected size.
source "$(dirname "$(readlink -f "$0")")/common.sh"
video="${NEURALART_TEST_VTEST:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}"
[ -f "$video" ] || skip "$video is missing (apt-get install opencv-doc)"
has_element avidemux || skip "avidemux is missing (gstreamer1.0-plugins-good)"
has_element avdec_msmpeg4 || skip "avdec_msmpeg4 (DivX 3) is missing (gstreamer1.0-libav)"
model="$(style_model)"
info="$(media_info "$video")"
[[ "$info" == "768x576 10/1 "* ]] || fail "$video: expected 768x576 at 10 fps, got '$info'"
note "input $video: $info"

# 1. avidemux ! avdec_msmpeg4 ! styletransfer: 5 frames (identity passes
#    eos-after - 1 of the coded frames), restyled at 768x576.
gst-launch-1.0 -q filesrc location="$video" ! avidemux ! identity eos-after=6 ! avdec_msmpeg4 \
  ! videoconvert ! styletransfer model="$model" threads=1 ! tee name=t \
  t. ! queue ! videoconvert ! x264enc speed-preset=ultrafast ! matroskamux ! filesink location="$WORK/restyled.mkv" \
  t. ! queue ! videoconvert ! pngenc ! multifilesink location="$WORK/restyled_%02d.png" >"$WORK/log" 2>&1 ||
  { cat "$WORK/log" >&2; fail "restyling vtest.avi failed"; }
expect_media "$WORK/restyled.mkv" "768x576 10/1" 5 0.5 none
[ "$(find "$WORK" -name 'restyled_*.png' | wc -l)" -eq 5 ] || fail "expected 5 restyled PNG frames"
gst-launch-1.0 -q filesrc location="$video" ! avidemux ! identity eos-after=2 ! avdec_msmpeg4 \
  ! videoconvert ! pngenc ! filesink location="$WORK/original_00.png" >/dev/null ||
  fail "decoding the first frame of vtest.avi failed"
! cmp -s "$WORK/original_00.png" "$WORK/restyled_00.png" || fail "styletransfer left the frame unchanged"

# 2. As scripts/demo.sh: decodebin, scaled, the first 10 frames as pictures
#    (one more is cut: the frame that meets eos-after after decodebin can be
#    a later one), re-timed into H.264, then original | style | style.
gst-launch-1.0 -q filesrc location="$video" ! decodebin ! videoconvert ! videoscale \
  ! video/x-raw,format=RGB,width=160,height=120,pixel-aspect-ratio=1/1 \
  ! identity eos-after=11 ! pngenc compression-level=1 ! multifilesink location="$WORK/frame_%03d.png" ||
  fail "cutting vtest.avi into pictures failed"
[ -f "$WORK/frame_009.png" ] || fail "fewer than 10 frames cut from vtest.avi"
gst-launch-1.0 -q multifilesrc location="$WORK/frame_%03d.png" stop-index=9 caps=image/png,framerate=10/1 \
  ! pngdec ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=ultrafast ! mp4mux \
  ! filesink location="$WORK/excerpt.mp4" || fail "re-timing the excerpt failed"
expect_media "$WORK/excerpt.mp4" "160x120 10/1" 10 1.0 none
"$PIPES/side-by-side" "$WORK/excerpt.mp4" "$WORK/side-by-side.mp4" --style 0,0 --model "$model" --threads 1 \
  --quiet >"$WORK/log" 2>&1 || { cat "$WORK/log" >&2; fail "side-by-side on the excerpt failed"; }
expect_media "$WORK/side-by-side.mp4" "480x120 10/1" 10 1.0 none
note "pass"
