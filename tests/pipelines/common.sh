# shellcheck shell=bash
# Shared by the pipeline end-to-end tests (run by ctest, or by hand:
# bash tests/pipelines/test_restyle_file.sh). Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail

TEST_NAME="$(basename "$0" .sh)"
SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PIPES="$SOURCE_DIR/pipelines"
BUILD_DIR="${NEURALART_BUILD_DIR:-$SOURCE_DIR/build}"
TRAIN="${NEURALART_TRAIN:-$BUILD_DIR/trainer/neuralart-train}"
export NEURALART_BUILD_DIR="$BUILD_DIR"

fail() {
  echo "$TEST_NAME: FAIL: $*" >&2
  exit 1
}
skip() {
  echo "$TEST_NAME: SKIP: $*" >&2
  exit 77
}
note() { echo "$TEST_NAME: $*"; }

[ -f "$BUILD_DIR/plugins/libgstneuralart.so" ] ||
  fail "$BUILD_DIR/plugins/libgstneuralart.so is missing: build the gstneuralart target"
command -v gst-launch-1.0 >/dev/null || skip "gst-launch-1.0 is not installed"
command -v gst-discoverer-1.0 >/dev/null || skip "gst-discoverer-1.0 is not installed (gstreamer1.0-plugins-base-apps)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/neuralart-$TEST_NAME.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
# Hermetic: our own registry, the plugin from this build.
export GST_REGISTRY="$WORK/registry.bin"
export GST_PLUGIN_PATH="$BUILD_DIR/plugins"

has_element() { gst-inspect-1.0 "$1" >/dev/null 2>&1; }

# make_clip OUT W H FPS FRAMES [audio]: a test clip from videotestsrc (and a
# tone of exactly the same length); the codecs follow OUT's extension.
make_clip() {
  local out="$1" w="$2" h="$3" fps="$4" frames="$5" audio="${6:-}" venc mux aenc rate
  case "$out" in
    *.mp4) venc="x264enc speed-preset=ultrafast" mux=mp4mux aenc=avenc_aac rate=44100 ;;
    *.mkv) venc="x264enc speed-preset=ultrafast" mux=matroskamux aenc=vorbisenc rate=44100 ;;
    *.webm) venc="vp8enc deadline=1" mux=webmmux aenc=opusenc rate=48000 ;;
    *) fail "make_clip: unknown extension of $out" ;;
  esac
  local pipe=(videotestsrc num-buffers="$frames" pattern=smpte ! "video/x-raw,format=I420,width=$w,height=$h,framerate=$fps/1")
  # shellcheck disable=SC2206
  pipe+=(! $venc ! queue ! mux.video_%u $mux name=mux ! filesink location="$out")
  if [ -n "$audio" ]; then
    pipe+=(audiotestsrc num-buffers="$frames" samplesperbuffer=$((rate / fps)) ! "audio/x-raw,rate=$rate,channels=2"
      ! audioconvert ! "$aenc" ! queue ! mux.audio_%u)
  fi
  gst-launch-1.0 -q -e "${pipe[@]}" >/dev/null || fail "could not make the test clip $out"
}

# media_info FILE: "WxH FPS DURATION_S AUDIO" (AUDIO: the first audio codec
# or none), read from gst-discoverer-1.0 independently of the scripts.
media_info() {
  gst-discoverer-1.0 "$1" 2>&1 | awk '
    /An error was encountered/ { bad = 1 }
    /^ *Duration: / { split($2, t, ":"); dur = t[1] * 3600 + t[2] * 60 + t[3] }
    /^ *video #/ { v = 1; a = 0; next }
    /^ *audio #/ { if (ac == "") { sub(/^ *audio #[0-9]+: /, ""); ac = $0; gsub(/ /, "_", ac) } a = 1; v = 0; next }
    v && /^ *Width: / && w == "" { w = $2 }
    v && /^ *Height: / && h == "" { h = $2 }
    v && /^ *Frame rate: / && fr == "" { fr = $3 }
    END { if (bad || w == "") { print "unreadable"; exit } printf "%sx%s %s %.2f %s\n", w, h, fr, dur, (ac == "" ? "none" : ac) }'
}

# count_frames FILE: decoded video frames. The audio, if any, is decoded into
# a fakesink of its own: left unlinked, it now and then stalls decodebin
# (about 1 run in 20 on an MP4 with Opus) and the test times out.
count_frames() {
  local audio_sink=()
  if gst-discoverer-1.0 "$1" 2>/dev/null | grep -q '^ *audio #'; then
    audio_sink=(d. ! audio/x-raw ! fakesink sync=false)
  fi
  gst-launch-1.0 -v filesrc location="$1" ! decodebin name=d ! video/x-raw ! fakesink silent=false \
    "${audio_sink[@]}" 2>&1 |
    grep -c 'last-message = chain' || true
}

# audio_payload FILE CAPS OUT: the parsed (not decoded) audio frames of FILE
# written one after another to OUT, to check that audio was copied.
audio_payload() {
  gst-launch-1.0 -q filesrc location="$1" ! parsebin ! "$2" ! filesink location="$3" >/dev/null ||
    fail "could not read the $2 audio of $1"
}

# expect_media FILE "WxH FPS" FRAMES DURATION AUDIO: the output decodes with
# that size, frame rate, number of frames, duration (within 0.15 s) and
# audio codec (a substring; "none" for no audio).
expect_media() {
  local file="$1" sizefps="$2" frames="$3" duration="$4" audio="$5" info got_frames
  [ -s "$file" ] || fail "$file was not written"
  [ ! -e "$file.part" ] || fail "$file.part was left behind"
  info="$(media_info "$file")"
  [[ "$info" == "$sizefps "* ]] || fail "$file: expected $sizefps, got '$info'"
  awk -v got="$(cut -d' ' -f3 <<<"$info")" -v want="$duration" 'BEGIN{d = got - want; exit !(d < 0.15 && d > -0.15)}' ||
    fail "$file: expected a duration of $duration s, got '$info'"
  [[ "$(cut -d' ' -f4 <<<"$info")" == *"$audio"* ]] || fail "$file: expected audio '$audio', got '$info'"
  got_frames="$(count_frames "$file")"
  [ "$got_frames" -eq "$frames" ] || fail "$file: expected $frames frames, decoded $got_frames"
  note "ok: $file: $info, $got_frames frames"
}

# expect_exit CODE CMD...: runs CMD, which must exit with CODE.
expect_exit() {
  local want="$1" rc=0
  shift
  "$@" >"$WORK/last.out" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$WORK/last.out" >&2; fail "expected exit $want, got $rc: $*"; }
}

# style_model: prints a style model for the tests: NEURALART_TEST_STYLE_MODEL,
# else a tiny one trained here in a second (neuralart-train style), else the
# shipped default; skips the test when there is none.
style_model() {
  if [ -n "${NEURALART_TEST_STYLE_MODEL:-}" ]; then
    echo "$NEURALART_TEST_STYLE_MODEL"
    return
  fi
  local commands=""
  # (Not "| grep -q": with pipefail, grep quitting early fails the pipe.)
  [ ! -x "$TRAIN" ] || commands="$("$TRAIN" --help 2>&1 || true)"
  if grep -qE '^ +style +' <<<"$commands"; then
    local dir="$WORK/style-train"
    mkdir -p "$dir/content"
    gst-launch-1.0 -q videotestsrc num-buffers=4 pattern=smpte ! video/x-raw,width=48,height=48 \
      ! pngenc ! multifilesink location="$dir/content/c%02d.png" >/dev/null &&
      gst-launch-1.0 -q videotestsrc num-buffers=1 pattern=checkers-8 ! video/x-raw,width=48,height=48 \
        ! pngenc ! filesink location="$dir/style.png" >/dev/null ||
      fail "could not make images for the style model"
    "$TRAIN" style --style "$dir/style.png" --content "$dir/content" --out "$dir/style.bundle" \
      --size 32 --steps 2 --batch 2 --width 4 --res-blocks 0 --pyramid-levels 1 --threads 1 \
      --preview-every 0 >"$dir/train.log" 2>&1 || { cat "$dir/train.log" >&2; fail "neuralart-train style failed"; }
    echo "$dir/style.bundle"
    return
  fi
  if [ -f "$SOURCE_DIR/examples/models/default-style.bundle" ]; then
    echo "$SOURCE_DIR/examples/models/default-style.bundle"
    return
  fi
  skip "no style model: neuralart-train has no 'style' command and examples/models/default-style.bundle is missing"
}
