#!/usr/bin/env bash
# Makes the content folder of the shipped painting style models: real
# photographs, all from Debian packages, and checks that the three paintings
# are on this machine (The Starry Night from opencv-doc; the Great Wave and
# Udnie only exist in the project's shared data). The training commands read
# the paintings where they are. See examples/models/README.md.
# usage: make-painting-inputs.sh OUT_DIR [SHARED_STYLE_DIR]
#   SHARED_STYLE_DIR defaults to ../shared/data/style (great-wave.jpg, udnie.jpg)
set -euo pipefail
out="${1:?usage: make-painting-inputs.sh OUT_DIR [SHARED_STYLE_DIR]}"
shared="${2:-$(dirname "$0")/../../../shared/data/style}"
cv=/usr/share/doc/opencv-doc/examples/data
mate=/usr/share/backgrounds/mate/nature
kde=/usr/share/wallpapers
need() {  # need FILE PACKAGE
  if [ ! -r "$1" ]; then
    echo "make-painting-inputs.sh: $1 is missing; install it with:" >&2
    echo "  sudo apt-get install $2" >&2
    exit 1
  fi
}
need "$cv/starry_night.jpg" opencv-doc
need "$mate/Dune.jpg" mate-backgrounds
need "$kde/Path/contents/images/2560x1600.jpg" plasma-workspace-wallpapers
for p in great-wave.jpg udnie.jpg; do
  if [ ! -r "$shared/$p" ]; then
    echo "make-painting-inputs.sh: $shared/$p is missing: it is in the project's shared" >&2
    echo "  data (../shared/data/style); pass that folder as the second argument" >&2
    exit 1
  fi
done
mkdir -p "$out/content"
# The paintings, all public domain: Van Gogh's The Starry Night (1889,
# opencv-doc), Hokusai's The Great Wave off Kanagawa (c. 1831) and Picabia's
# Udnie (1913); the training commands read them where they are.
# Photographs: OpenCV's sample photos (opencv-doc), MATE's nature wallpapers
# (mate-backgrounds, GPL-2+) and KDE's photographic wallpapers
# (plasma-workspace-wallpapers, GPL-2+). Never vtest.avi: the demo restyles it.
for f in aero1.jpg aero3.jpg aloeL.jpg apple.jpg baboon.jpg basketball1.png box_in_scene.png \
  building.jpg butterfly.jpg chicky_512.png ela_original.jpg fruits.jpg HappyFish.jpg home.jpg \
  leuvenA.jpg licenseplate_motion.jpg messi5.jpg orange.jpg rubberwhale1.png smarties.png \
  squirrel_cls.jpg stuff.jpg; do
  cp "$cv/$f" "$out/content/opencv-$f"
done
for f in "$mate"/*.jpg; do
  cp "$f" "$out/content/mate-$(basename "$f")"
done
for w in Autumn BytheWater ColdRipple ColorfulCups EveningGlow FallenLeaf Kite OneStandsOut Path; do
  cp "$kde/$w/contents/images/2560x1600.jpg" "$out/content/kde-$w.jpg"
done
echo "made $(find "$out/content" -type f | wc -l) photos in $out/content; the paintings:"
echo "  $cv/starry_night.jpg,$shared/great-wave.jpg,$shared/udnie.jpg"
