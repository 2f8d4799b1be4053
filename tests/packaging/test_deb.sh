#!/usr/bin/env bash
# The Debian package (cmake/Packaging.cmake): cpack builds it from the build
# folder; unpacked with dpkg-deb into a scratch folder, its files are where
# Debian and GStreamer look, its control fields are filled in, the plugin
# loads from there and finds the shipped models next to itself, and a small
# program builds against the unpacked libneuralart with pkg-config.
# usage: test_deb.sh BUILD_DIR VERSION [CPACK]   (exit 77 = skipped)
set -euo pipefail
build="$1"
version="$2"
cpack="${3:-cpack}"
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v "$cpack" >/dev/null || skip "cpack not found ($cpack)"
for tool in dpkg-deb gst-inspect-1.0 gst-launch-1.0; do
  command -v "$tool" >/dev/null || skip "$tool not found"
done
[ -f "$build/CPackConfig.cmake" ] || fail "no $build/CPackConfig.cmake"
# GStreamer's own plugin folder, where the package must put the plugin.
gst_dir="${GST_SYSTEM_PLUGIN_DIR:-}"
if command -v pkg-config >/dev/null &&
  dir=$(pkg-config --variable=pluginsdir gstreamer-1.0 2>/dev/null); then
  gst_dir="$dir"
fi
[ -n "$gst_dir" ] || skip "GStreamer's plugin folder unknown (no pkg-config)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# With a Makefile build, cpack first builds `all` (its "preinstall" step);
# a test must not build, and cpack runs that step for Makefile generators
# only: naming Ninja here packages the build as it is.
(cd "$tmp" && "$cpack" -G DEB --config "$build/CPackConfig.cmake" \
  -D CPACK_CMAKE_GENERATOR=Ninja -B "$tmp/out") >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; fail "cpack -G DEB failed"; }
debs=("$tmp"/out/neuralart_*.deb)
if [ "${#debs[@]}" -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  ls -l "$tmp/out"
  fail "expected one neuralart_*.deb"
fi
deb="${debs[0]}"
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
[ "$(basename "$deb")" = "neuralart_${version}_${arch}.deb" ] ||
  fail "file name $(basename "$deb"), expected neuralart_${version}_${arch}.deb"

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = neuralart ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
depends=$(field Depends)
[ -n "$depends" ] || fail "Depends is empty"
for dep in libtorch libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libopencv-core; do
  grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
[ -n "$(field Maintainer)" ] || fail "Maintainer is empty"
[ -n "$(field Description)" ] || fail "Description is empty"

# Everything under /usr, nothing from the build or source tree.
dpkg-deb -c "$deb" >"$tmp/contents"
if awk '{print $6}' "$tmp/contents" | grep -v -e '^\./$' -e '^\./usr/'; then
  fail "files outside /usr (above)"
fi
root="$tmp/root"
dpkg-deb -x "$deb" "$root"
plugin="$root$gst_dir/libgstneuralart.so"
expect=(
  "$plugin"
  "$root/usr/bin/neuralart-train"
  "$root/usr/share/neuralart/models/default-style.bundle"
  "$root/usr/share/neuralart/models/default-gan.bundle"
  "$root/usr/share/man/man1/neuralart-train.1"
  "$root/usr/share/doc/neuralart/README.md"
  "$root/usr/include/neuralart/version.h"
)
for f in "${expect[@]}"; do
  [ -f "$f" ] || fail "missing ${f#"$root"}"
done
[ -x "$root/usr/bin/neuralart-train" ] || fail "neuralart-train not executable"
find_one() {
  local found
  found=$(find "$root/usr/lib" -path "*/$1" | head -n 1)
  [ -n "$found" ] || fail "missing usr/lib/.../$1"
  echo "$found"
}
pc=$(find_one pkgconfig/neuralart.pc)
find_one "libneuralart_core.a" >/dev/null
cmake_config=$(find_one cmake/Neuralart/NeuralartConfig.cmake)
find_one cmake/Neuralart/NeuralartConfigVersion.cmake >/dev/null
find_one cmake/Neuralart/NeuralartTargets.cmake >/dev/null
build_real=$(cd "$build" && pwd -P)
if grep -rl -e "$build_real" "$pc" "$(dirname "$cmake_config")"; then
  fail "the build folder $build_real is named in the files above"
fi

# The man page: written from --help, one section per subcommand.
man1="$root/usr/share/man/man1/neuralart-train.1"
grep -q '^\.TH NEURALART-TRAIN 1' "$man1" || fail "no .TH line in the man page"
for cmd in gan style stylize sample inspect; do
  grep -q "^\.SS neuralart\\\\-train $cmd\$" "$man1" ||
    fail "the man page has no section for '$cmd'"
done
if command -v groff >/dev/null; then
  groff -man -Tascii -z "$man1" 2>"$tmp/man.err"
  [ ! -s "$tmp/man.err" ] || { cat "$tmp/man.err"; fail "troff warnings"; }
fi

# The trainer runs from the unpacked tree.
trainer_version=$("$root/usr/bin/neuralart-train" --version) ||
  fail "unpacked neuralart-train --version"
[[ "$trainer_version" == "neuralart-train $version "* ]] ||
  fail "unpacked neuralart-train --version: $trainer_version"

# The plugin loads from the unpacked tree (only from there: no system
# plugins, a scratch registry).
export GST_REGISTRY="$tmp/registry.bin"
GST_PLUGIN_PATH_1_0="$(dirname "$plugin")"
export GST_PLUGIN_PATH_1_0
GST_PLUGIN_SYSTEM_PATH_1_0="" gst-inspect-1.0 styletransfer \
  >"$tmp/inspect.txt" 2>&1 ||
  { cat "$tmp/inspect.txt"; fail "gst-inspect-1.0 styletransfer"; }
grep -q "Filename *$plugin" "$tmp/inspect.txt" ||
  { cat "$tmp/inspect.txt"; fail "styletransfer not loaded from $plugin"; }

# Without `model`, the element finds the default model under the prefix it
# is installed in (here the unpacked usr/), not the build's configured one.
rm -f "$GST_REGISTRY"
if [ -n "${GST_SYSTEM_PLUGIN_DIR:-}" ]; then
  export GST_PLUGIN_SYSTEM_PATH_1_0="$GST_SYSTEM_PLUGIN_DIR"
fi
unset NEURALART_MODEL_DIR
GST_DEBUG=styletransfer:4 GST_DEBUG_NO_COLOR=1 gst-launch-1.0 -q \
  videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=32,height=32 ! \
  styletransfer ! fakesink >"$tmp/launch.txt" 2>&1 ||
  { cat "$tmp/launch.txt"; fail "gst-launch-1.0"; }
grep -q "$root/usr/share/neuralart/models/default-style.bundle" \
  "$tmp/launch.txt" ||
  { cat "$tmp/launch.txt"; fail "default model not taken from $root/usr/share"; }

# A program builds against the unpacked libneuralart with pkg-config.
if command -v pkg-config >/dev/null && command -v c++ >/dev/null; then
  PKG_CONFIG_PATH="$(dirname "$pc")"
  export PKG_CONFIG_PATH
  pc_version=$(pkg-config --modversion neuralart) ||
    fail "pkg-config cannot read $pc"
  [ "$pc_version" = "$version" ] ||
    fail "pkg-config --modversion neuralart: $pc_version"
  cat >"$tmp/consumer.cpp" <<'EOF'
#include <iostream>

#include "neuralart/version.h"

int main() { std::cout << neuralart::version() << "\n"; }
EOF
  # shellcheck disable=SC2046  # pkg-config prints several words on purpose
  c++ -std=c++17 -o "$tmp/consumer" "$tmp/consumer.cpp" \
    $(pkg-config --cflags --libs neuralart) 2>"$tmp/cxx.err" ||
    { cat "$tmp/cxx.err"; fail "building against neuralart.pc"; }
  [ "$("$tmp/consumer")" = "$version" ] || fail "consumer printed the wrong version"
else
  echo "note: no pkg-config or c++: consumer build not checked"
fi
echo "deb package: ok ($(basename "$deb"), $(du -h "$deb" | cut -f1))"
