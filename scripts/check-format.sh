#!/usr/bin/env bash
# Fails when a C++ file differs from what .clang-format produces.
# usage: scripts/check-format.sh [clang-format binary]   (from the repo root)
set -euo pipefail
cf="${1:-clang-format}"
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cc' 2>/dev/null || find core trainer plugins tests bench examples -name '*.cpp' -o -name '*.h')
[ "${#files[@]}" -gt 0 ] || exit 0
"$cf" --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files clean"
