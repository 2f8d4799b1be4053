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

# Muxer and encoder for an output file name: .mp4/.mov/.mkv -> H.264,
# .webm -> VP8.
encoder_for() {
  case "${1,,}" in
    *.mp4 | *.mov)
      require_element x264enc gstreamer1.0-plugins-ugly
      echo "x264enc speed-preset=veryfast tune=zerolatency ! mp4mux"
      ;;
    *.mkv)
      require_element x264enc gstreamer1.0-plugins-ugly
      echo "x264enc speed-preset=veryfast ! matroskamux"
      ;;
    *.webm)
      require_element vp8enc gstreamer1.0-plugins-good
      echo "vp8enc deadline=1 cpu-used=8 ! webmmux"
      ;;
    *) die "unsupported output '$1': use .mp4, .mkv, .mov or .webm" ;;
  esac
}

# Runs gst-launch-1.0 with the given pipeline words; writes to OUT via
# OUT.part and renames on success, so a failed run leaves no broken file.
run_to_file() {
  local out="$1"
  shift
  local part="$out.part"
  rm -f "$part"
  if ! gst-launch-1.0 -q -e "$@" filesink location="$part"; then
    rm -f "$part"
    die "pipeline failed; $out was not written"
  fi
  [ -s "$part" ] || { rm -f "$part"; die "pipeline produced no data; $out was not written"; }
  mv -f "$part" "$out"
}
