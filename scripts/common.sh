# Shared by scripts/demo.sh and scripts/test.sh: install what is missing
# (Debian 12), then configure and build. Sourced, not run.
set -euo pipefail

NEURALART_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${NEURALART_BUILD_DIR:-$NEURALART_ROOT/build}"
JOBS="${NEURALART_JOBS:-$(nproc)}"

DEBIAN_PACKAGES=(
  build-essential cmake pkg-config git clang-format
  libtorch-dev libgloo-dev libopenblas0-openmp nlohmann-json3-dev zlib1g-dev
  libopencv-dev libboost-program-options-dev googletest libgtest-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-plugins-base-apps
  # jq reads bundle metadata in the demo; opencv-doc (~95 MB) holds the
  # demo's footage, /usr/share/doc/opencv-doc/examples/data/vtest.avi.
  jq opencv-doc
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_dependencies() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Configures and builds; NEURALART_BUILD_TARGETS="a b" builds only those
# targets (the demo needs two of them), otherwise everything.
build_project() {
  local targets=()
  [ -n "${NEURALART_BUILD_TARGETS:-}" ] && read -r -a targets <<<"$NEURALART_BUILD_TARGETS"
  log "configuring and building ${targets[*]:-everything} in $BUILD_DIR ($JOBS jobs)"
  cmake -S "$NEURALART_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS" ${targets[@]:+--target "${targets[@]}"}
}
