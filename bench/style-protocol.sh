#!/usr/bin/env bash
# style-protocol.sh: issue #17's fixed protocol. Four paintings x eight
# photos that no model trained on, each photo restyled by the per-image
# optimum (Gatys) and by every given model that holds a style of that
# painting's name, all scored by one evaluator (bench/style-quality.sh,
# neuralart-bench-style-eval); one table per painting, one over all of
# them, and a labelled contact sheet (painting | photo | Gatys | models).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/style-protocol.sh OUT_DIR [--model LABEL=BUNDLE]...
           [--universal LABEL=BUNDLE]... [--size 320]
           [--photos N] [--paintings NAME=FILE,...] [--gatys-steps 80]
           [--threads 2] [--sheet-photos 2]

  OUT_DIR          OUT_DIR/NAME/ per painting (style-quality.sh's output),
                   table.md and sheet.png over all of them
  --model L=B[@S]  a style bundle, labelled L; it is scored on each painting
                   whose name is one of its styles (neuralart-train inspect)
                   and skipped on the others; @S: on painting S only (e.g. a
                   --base model, whose other styles are its base's).
                   Repeatable.
  --universal L=B  a universal style model (neuralart-train universal),
                   scored on every painting, each given as its style-image
                   (paintings it never trained on show how it generalises).
                   Repeatable.
  --size N         shorter side of photos and results (default 320)
  --photos N       the first N photos of ../shared/data/photos-eval/
                   bsds500_val, sorted by name (default 8)
  --paintings L    NAME=FILE pairs (default: starry-night, great-wave,
                   udnie, la-muse; see below)
  --gatys-steps N  L-BFGS steps of the per-image optimum (default 80)
  --threads N      CPU threads per run (default 2)
  --sheet-photos N photos per painting in sheet.png (default 2)
  --table-only     run nothing: table.md and sheet.png from the scores
                   already in OUT_DIR/NAME/ (e.g. after runs of the
                   paintings one at a time, or with other --photos)

Gatys results are kept in OUT_DIR/NAME/ and reused by later runs with the
same OUT_DIR (so change OUT_DIR when --size, --photos or --gatys-steps
change). Default paintings: The Starry Night (Debian's opencv-doc), and
from ../shared/data/style: The Great Wave, Udnie, and Picasso's La Muse
(style/more/la_muse.jpg), which no shipped model holds: it is the
"user's new painting" of docs/training-style.md.
USAGE
}

die() {
  echo "style-protocol.sh: $*" >&2
  exit 2
}

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${NEURALART_BUILD_DIR:-$root/build}"
shared="$root/../shared/data"
out="" size=320 nphotos=8 gatys_steps=80 threads=2 sheet_photos=2 table_only=0
paintings="starry-night=/usr/share/doc/opencv-doc/examples/data/starry_night.jpg"
paintings+=",great-wave=$shared/style/great-wave.jpg"
paintings+=",udnie=$shared/style/udnie.jpg"
paintings+=",la-muse=$shared/style/more/la_muse.jpg"
models=() universals=()
declare -A universal
while [ $# -gt 0 ]; do
  case "$1" in
    --model) models+=("${2:?}"); shift 2 ;;
    --universal) universals+=("${2:?}"); models+=("${2:?}"); shift 2 ;;
    --size) size="${2:?}"; shift 2 ;;
    --photos) nphotos="${2:?}"; shift 2 ;;
    --paintings) paintings="${2:?}"; shift 2 ;;
    --gatys-steps) gatys_steps="${2:?}"; shift 2 ;;
    --threads) threads="${2:?}"; shift 2 ;;
    --sheet-photos) sheet_photos="${2:?}"; shift 2 ;;
    --table-only) table_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) out="$1"; shift ;;
  esac
done
[ -n "$out" ] || { usage >&2; exit 2; }
train="$build/trainer/neuralart-train"
[ -x "$train" ] || die "$train is missing; build the tree first"
photo_dir="$shared/photos-eval/bsds500_val"
[ -d "$photo_dir" ] || die "needs $photo_dir (../shared/data/photos-eval)"
mapfile -t photo_list < <(find "$photo_dir" -maxdepth 1 -name '*.jpg' | sort | head -n "$nphotos")
[ "${#photo_list[@]}" -eq "$nphotos" ] || die "found ${#photo_list[@]} photos in $photo_dir, wanted $nphotos"
photos="$(IFS=,; echo "${photo_list[*]}")"

# The styles each model holds.
declare -A styles_of
declare -A bundle_of only_on
for spec in "${models[@]}"; do
  label="${spec%%=*}" rest="${spec#*=}"
  bundle="${rest%%@*}"
  [ "$rest" != "$bundle" ] && only_on[$label]="${rest#*@}"
  [ -f "$bundle" ] || die "--model $label: '$bundle' is not a file"
  bundle_of[$label]="$bundle"
  styles_of[$label]="$("$train" inspect "$bundle" | sed -n 's/^styles: //p')"
done
for spec in "${universals[@]}"; do universal[${spec%%=*}]=1; done

mkdir -p "$out"
IFS=, read -r -a painting_list <<<"$paintings"
sheet=() labels=()
for entry in "${painting_list[@]}"; do
  name="${entry%%=*}" file="${entry#*=}"
  [ -f "$file" ] || die "painting $name: '$file' is not a file"
  args=()
  mine=()
  for spec in "${models[@]}"; do
    label="${spec%%=*}"
    [ -n "${only_on[$label]:-}" ] && [ "${only_on[$label]}" != "$name" ] && continue
    if [ -n "${universal[$label]:-}" ]; then
      args+=(--model "$label=${bundle_of[$label]}@image")
      mine+=("$label")
    elif [[ "${styles_of[$label]}" == *"\"$name\""* ]]; then
      args+=(--model "$label=${bundle_of[$label]}@$name")
      mine+=("$label")
    fi
  done
  if [ "$table_only" = 0 ]; then
    echo "== $name: Gatys${mine[*]:+ and ${mine[*]}} on ${#photo_list[@]} photos at $size px"
    bash "$root/bench/style-quality.sh" "$out/$name" --painting "$file" \
      --photos "$photos" --size "$size" --gatys-steps "$gatys_steps" \
      --threads "$threads" --reuse-gatys "${args[@]}" >/dev/null
  fi
  [ -f "$out/$name/scores.jsonl" ] || die "no scores for $name in $out/$name"
  # Sheet rows: painting | photo | Gatys | every model (blank where a
  # model does not hold this painting).
  for photo in "${photo_list[@]:0:$sheet_photos}"; do
    p="$(basename "${photo%.*}")"
    sheet+=("$file" "$out/$name/photo-$p.png" "$out/$name/gatys-$p.png")
    labels+=("$name" "photo $p" "Gatys")
    for spec in "${models[@]}"; do
      label="${spec%%=*}"
      if [ -f "$out/$name/$label-$p.png" ] && [[ " ${mine[*]} " == *" $label "* ]]; then
        sheet+=("$out/$name/$label-$p.png")
        labels+=("$label")
      else
        sheet+=("$out/$name/photo-$p.png")
        labels+=("($label: not trained on it)")
      fi
    done
  done
done
"$train" contact-sheet "${sheet[@]}" --cols $((3 + ${#models[@]})) \
  --height 256 --labels "$(IFS=,; echo "${labels[*]}")" \
  --title "style protocol: ${#photo_list[@]} photos x ${#painting_list[@]} paintings at $size px" \
  --out "$out/sheet.png" >/dev/null

# One table per painting and one over all of them: means over photos of
# each score and of its multiple of Gatys' on the same photo.
python3 - "$out" "${painting_list[@]}" >"$out/table.md" <<'EOF'
import json
import sys

out, entries = sys.argv[1], sys.argv[2:]
rows = []
for e in entries:
    name = e.split("=", 1)[0]
    for line in open(f"{out}/{name}/scores.jsonl"):
        r = json.loads(line)
        r["painting"] = name
        rows.append(r)
gatys = {(r["painting"], r["photo"]): r for r in rows if r["label"] == "gatys"}

def table(title, sel):
    labels = list(dict.fromkeys(r["label"] for r in sel))
    print(f"### {title}\n")
    print("| result | pairs | style ratio | content distance | style ratio / Gatys' "
          "| content distance / Gatys' | worst pair (style / content) "
          "| spectral peak (dB) | seconds per image |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label in labels:
        mine = [r for r in sel if r["label"] == label]
        n = len(mine)
        mean = lambda k: sum(r[k] for r in mine) / n
        if label == "gatys":
            rs = rc = worst = ""
        else:
            rel = [(r["style_ratio"] / gatys[(r["painting"], r["photo"])]["style_ratio"],
                    r["content_loss"] / max(gatys[(r["painting"], r["photo"])]["content_loss"], 1e-12))
                   for r in mine]
            rs = "%.2fx" % (sum(a for a, _ in rel) / n)
            rc = "%.2fx" % (sum(b for _, b in rel) / n)
            worst = "%.2fx / %.2fx" % (max(a for a, _ in rel), max(b for _, b in rel))
        print(f"| {label} | {n} | {mean('style_ratio'):.3f} | {mean('content_loss'):.3f} "
              f"| {rs} | {rc} | {worst} | {mean('spectral_peak_db'):.1f} "
              f"| {mean('seconds'):.1f} |")
    print()

table("All paintings", rows)
for e in entries:
    name = e.split("=", 1)[0]
    table(name, [r for r in rows if r["painting"] == name])
EOF
cat "$out/table.md"
echo "wrote $out/table.md and $out/sheet.png"
