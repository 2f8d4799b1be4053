# shellcheck shell=bash
# Shared by the pipeline scripts: plugin discovery, encoder choice, errors.
# Sourced, not run.
set -euo pipefail

PIPELINES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NEURALART_ROOT="$(cd "$PIPELINES_DIR/.." && pwd)"

die() {
  echo "$(basename "$0"): error: $*" >&2
  exit 1
}

usage_error() {
  echo "$(basename "$0"): $*" >&2
  echo "Try '$(basename "$0") --help'." >&2
  exit 2
}

# Use the plugin from the build tree unless GStreamer already finds it.
find_plugin() {
  command -v gst-launch-1.0 >/dev/null ||
    die "gst-launch-1.0 not found: install gstreamer1.0-tools (apt-get install gstreamer1.0-tools)"
  local build="${NEURALART_BUILD_DIR:-$NEURALART_ROOT/build}/plugins"
  if [ -f "$build/libgstneuralart.so" ]; then
    export GST_PLUGIN_PATH="$build${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
  fi
  gst-inspect-1.0 neuralart >/dev/null 2>&1 ||
    die "the neuralart GStreamer plugin was not found: build it (bash scripts/demo.sh) or set GST_PLUGIN_PATH to the folder holding libgstneuralart.so"
}

# require_element NAME PACKAGE
require_element() {
  gst-inspect-1.0 "$1" >/dev/null 2>&1 ||
    die "GStreamer element '$1' is missing: install $2"
}

# Video encoder for an output file name: .mp4/.mov/.mkv -> H.264, .webm -> VP8.
video_encoder_for() {
  case "${1,,}" in
    *.mp4 | *.mov)
      require_element x264enc gstreamer1.0-plugins-ugly
      echo "x264enc speed-preset=veryfast tune=zerolatency"
      ;;
    *.mkv)
      require_element x264enc gstreamer1.0-plugins-ugly
      echo "x264enc speed-preset=veryfast"
      ;;
    *.webm)
      require_element vp8enc gstreamer1.0-plugins-good
      echo "vp8enc deadline=1 cpu-used=8"
      ;;
    *) die "unsupported output '$1': use .mp4, .mkv, .mov or .webm" ;;
  esac
}

# Muxer for an output file name.
muxer_for() {
  case "${1,,}" in
    *.mp4) echo mp4mux ;;
    *.mov) echo qtmux ;;
    *.mkv) echo matroskamux ;;
    *.webm) echo webmmux ;;
    *) die "unsupported output '$1': use .mp4, .mkv, .mov or .webm" ;;
  esac
}

# Encoder and muxer as one pipeline fragment.
encoder_for() {
  local enc mux
  enc="$(video_encoder_for "$1")"
  mux="$(muxer_for "$1")"
  echo "$enc ! $mux"
}

# check_encodable OUT W H: H.264 in 4:2:0 needs an even width and height.
check_encodable() {
  case "${1,,}" in
    *.webm) ;;
    *)
      [ $(($2 % 2)) -eq 0 ] && [ $(($3 % 2)) -eq 0 ] ||
        die "H.264 needs an even width and height and the video is $2x$3: write a .webm (VP8) instead"
      ;;
  esac
}

# True when OUT has an extension the scripts can write.
is_supported_output() {
  case "${1,,}" in *.mp4 | *.mov | *.mkv | *.webm) return 0 ;; *) return 1 ;; esac
}

# probe_media FILE: runs gst-discoverer-1.0 and sets MEDIA_DURATION (seconds,
# decimal), MEDIA_WIDTH, MEDIA_HEIGHT, MEDIA_FRAMERATE (N/D), MEDIA_VIDEO_CAPS
# and MEDIA_AUDIO_CAPS (first stream of each kind; empty when absent).
probe_media() {
  command -v gst-discoverer-1.0 >/dev/null ||
    die "gst-discoverer-1.0 not found: install gstreamer1.0-plugins-base-apps"
  local report
  report="$(gst-discoverer-1.0 -v -t "${NEURALART_DISCOVER_TIMEOUT:-60}" "$1" 2>&1)" ||
    die "cannot analyse '$1': $(tail -n 2 <<<"$report" | tr '\n' ' ')"
  if grep -q 'An error was encountered' <<<"$report"; then
    local why
    why="$(sed -n '/An error was encountered/{n;p;}' <<<"$report" | sed 's/^ *//')"
    if grep -qi 'missing plugins\|not-linked\|no suitable plugins' <<<"$report$why"; then
      why="$why (a decoder is missing? for H.264 install gstreamer1.0-libav)"
    fi
    die "cannot read '$1': ${why:-not a media file}"
  fi
  local fields
  fields="$(awk '
    /^ *Duration: / { split($2, t, ":"); dur = t[1] * 3600 + t[2] * 60 + t[3] }
    /^ *video #[0-9]+: / && vcaps == "" { sub(/^ *video #[0-9]+: /, ""); vcaps = $0; invideo = 1; next }
    /^ *(audio|subtitles|container|unknown) #[0-9]+: / { invideo = 0 }
    /^ *audio #[0-9]+: / && acaps == "" { sub(/^ *audio #[0-9]+: /, ""); acaps = $0; next }
    invideo && /^ *Width: / && w == "" { w = $2 }
    invideo && /^ *Height: / && h == "" { h = $2 }
    invideo && /^ *Frame rate: / && fr == "" { fr = $3 }
    END { printf "%s\t%s\t%s\t%s\t%s\t%s\n", dur, w, h, fr, vcaps, acaps }
  ' <<<"$report")"
  IFS=$'\t' read -r MEDIA_DURATION MEDIA_WIDTH MEDIA_HEIGHT MEDIA_FRAMERATE MEDIA_VIDEO_CAPS MEDIA_AUDIO_CAPS <<<"$fields"
  export MEDIA_DURATION MEDIA_WIDTH MEDIA_HEIGHT MEDIA_FRAMERATE MEDIA_VIDEO_CAPS MEDIA_AUDIO_CAPS
}

# Media type of a caps string plus the fields that choose a codec
# ("audio/mpeg,mpegversion=4"); usable as a caps filter.
caps_codec() {
  local caps="$1" type version layer
  type="${caps%%,*}"
  type="${type// /}"
  [[ "$caps" =~ mpegversion=\(int\)([0-9]+) ]] && version="${BASH_REMATCH[1]}"
  [[ "$caps" =~ layer=\(int\)([0-9]+) ]] && layer="${BASH_REMATCH[1]}"
  echo "$type${version:+,mpegversion=$version}${layer:+,layer=$layer}"
}

# audio_can_copy OUT CODEC: true when the container of OUT takes the audio
# codec (from caps_codec) as it is.
audio_can_copy() {
  local codec="$2"
  case "${1,,}" in
    *.mp4 | *.mov)
      case "$codec" in
        audio/mpeg,mpegversion=4 | audio/mpeg,mpegversion=1,layer=[123] | audio/x-ac3 | audio/x-alac | audio/x-opus) return 0 ;;
      esac ;;
    *.webm)
      case "$codec" in audio/x-vorbis | audio/x-opus) return 0 ;; esac ;;
    *.mkv)
      case "$codec" in
        audio/mpeg* | audio/x-ac3 | audio/x-eac3 | audio/x-dts | audio/x-vorbis | audio/x-flac | audio/x-opus | audio/x-speex | audio/x-raw) return 0 ;;
      esac ;;
  esac
  return 1
}

# Audio encoder used when the audio cannot be copied: AAC (or MP3) in MP4,
# Opus in WebM and Matroska.
audio_encoder_for() {
  case "${1,,}" in
    *.mp4 | *.mov)
      if gst-inspect-1.0 avenc_aac >/dev/null 2>&1; then
        echo "avenc_aac"
      elif gst-inspect-1.0 lamemp3enc >/dev/null 2>&1; then
        echo "lamemp3enc"
      else
        require_element opusenc gstreamer1.0-plugins-base
        echo "opusenc"
      fi ;;
    *)
      require_element opusenc gstreamer1.0-plugins-base
      echo "opusenc" ;;
  esac
}

# audio_branch_for IN OUT ENABLED: sets AUDIO_BRANCH (gst-launch words ending
# at mux.audio_%u, empty when there is no audio or ENABLED is 0) and
# AUDIO_NOTE. The audio is copied when OUT's container takes its codec, and
# re-encoded (with a message) only when it cannot be. Needs probe_media IN.
# shellcheck disable=SC2034 # AUDIO_BRANCH, AUDIO_NOTE are for the caller
audio_branch_for() {
  local in="$1" out="$2" enabled="$3" codec aenc
  AUDIO_BRANCH=()
  AUDIO_NOTE="none"
  [ -n "$MEDIA_AUDIO_CAPS" ] || return 0
  if [ "$enabled" -eq 0 ]; then
    AUDIO_NOTE="dropped (--no-audio)"
    return 0
  fi
  codec="$(caps_codec "$MEDIA_AUDIO_CAPS")"
  if audio_can_copy "$out" "$codec"; then
    AUDIO_BRANCH=(filesrc location="$in" ! parsebin ! "$codec" ! queue ! mux.audio_%u)
    AUDIO_NOTE="copied ($codec)"
  else
    aenc="$(audio_encoder_for "$out")"
    echo "$(basename "$0"): the audio ($codec) cannot be copied into .${out##*.}; re-encoding it with $aenc" >&2
    AUDIO_BRANCH=(filesrc location="$in" ! decodebin ! audio/x-raw ! queue ! audioconvert ! audioresample
      ! "$aenc" ! queue ! mux.audio_%u)
    AUDIO_NOTE="re-encoded with $aenc"
  fi
}

# Filter for run_to_file_filtered: progressreport prints "NAME (elapsed):
# cur / total seconds (pct %)" once a second; this shows percent, frames per
# second and ETA on standard error (on a terminal one updating line, else a
# line per 10 %), using MEDIA_DURATION and MEDIA_FRAMERATE from probe_media.
# PROGRESS_QUIET=1 hides it. Other lines pass through.
show_progress() {
  local line pct next=10 tty=0 report start="$EPOCHREALTIME"
  [ -t 2 ] && tty=1
  while IFS= read -r line; do
    if [[ "$line" =~ ^progressreport[0-9]*\ \( ]]; then
      [ "${PROGRESS_QUIET:-0}" -eq 0 ] || continue
      # Without a known duration there is no percent to show.
      [[ "$line" =~ \(\ *([0-9.]+)\ %\)$ ]] || continue
      pct="${BASH_REMATCH[1]}"
      if [ "$tty" -eq 0 ]; then
        awk "BEGIN{exit !($pct >= $next)}" || continue
        next=$(awk "BEGIN{print (int($pct / 10) + 1) * 10}")
      fi
      report="$(awk -v pct="$pct" -v dur="${MEDIA_DURATION:-0}" -v fr="${MEDIA_FRAMERATE:-0/1}" \
        -v t0="$start" -v now="$EPOCHREALTIME" 'BEGIN {
          split(fr, f, "/"); rate = (f[2] > 0) ? f[1] / f[2] : 0
          el = now - t0; done = pct / 100 * dur
          fps = (el > 0 && rate > 0) ? done * rate / el : 0
          eta = (pct > 0) ? el * (100 - pct) / pct : 0
          printf "%5.1f%%  %.1f/%.1f s  %.1f fps  ETA %d:%02d:%02d", pct, done, dur, fps,
            eta / 3600, (eta % 3600) / 60, eta % 60 }')"
      if [ "$tty" -eq 1 ]; then printf '\r%s ' "$report" >&2; else echo "$report" >&2; fi
    else
      echo "$line"
    fi
  done
  if [ "$tty" -eq 1 ] && [ "${PROGRESS_QUIET:-0}" -eq 0 ]; then echo >&2; fi
}

# The style model to use when --model is not given: the shipped default when
# the source tree has one; empty lets the element search its own folders.
default_style_model() {
  local candidate
  for candidate in "${NEURALART_MODEL_DIR:+$NEURALART_MODEL_DIR/default-style.bundle}" \
    "$NEURALART_ROOT/examples/models/default-style.bundle"; do
    if [ -n "$candidate" ] && [ -f "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
}

# Validators for option values; each exits 2 with a message on a bad value.
# check_number NAME VALUE MIN MAX (inclusive)
check_number() {
  [[ "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk "BEGIN{exit !($2 >= $3 && $2 <= $4)}" ||
    usage_error "$1 '$2' must be a number in [$3, $4]"
}

# check_int NAME VALUE MIN MAX (inclusive)
check_int() {
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
    usage_error "$1 '$2' must be an integer in [$3, $4]"
}

# Runs gst-launch-1.0 with the given pipeline words; writes to OUT via
# OUT.part and renames on success, so a failed or interrupted run leaves no
# broken file (and a batch rerun does not mistake it for a finished one).
run_to_file() {
  run_to_file_filtered "$1" cat "${@:2}"
}

# run_to_file_filtered OUT FILTER PIPELINE...: as run_to_file, with
# gst-launch's standard output read by the command or function FILTER.
run_to_file_filtered() {
  local out="$1" filter="$2"
  shift 2
  local part="$out.part" fifo gst_pid filter_pid rc=0
  rm -f "$part"
  fifo="$(mktemp -u "${TMPDIR:-/tmp}/neuralart-fifo.XXXXXX")"
  mkfifo "$fifo"
  "$filter" <"$fifo" &
  filter_pid=$!
  gst-launch-1.0 -q -e "$@" filesink location="$part" >"$fifo" &
  gst_pid=$!
  _NEURALART_STOP=""
  # On Ctrl-C or SIGTERM (a batch, Slurm or Kubernetes stopping us): stop
  # the pipeline, drop the partial file, exit 130/143.
  trap '_NEURALART_STOP=130; kill -TERM "$gst_pid" 2>/dev/null || true' INT
  trap '_NEURALART_STOP=143; kill -TERM "$gst_pid" 2>/dev/null || true' TERM
  wait "$gst_pid" || rc=$?
  if [ -n "$_NEURALART_STOP" ]; then
    wait "$gst_pid" 2>/dev/null || true
  fi
  wait "$filter_pid" 2>/dev/null || true
  trap - INT TERM
  rm -f "$fifo"
  if [ -n "$_NEURALART_STOP" ]; then
    rm -f "$part"
    echo "$(basename "$0"): interrupted; $out was not written" >&2
    exit "$_NEURALART_STOP"
  fi
  if [ "$rc" -ne 0 ]; then
    rm -f "$part"
    die "pipeline failed; $out was not written"
  fi
  [ -s "$part" ] || { rm -f "$part"; die "pipeline produced no data; $out was not written"; }
  mv -f "$part" "$out"
}
