#!/usr/bin/env bash
# batch-restyle: every video of a folder, two at a time; one corrupt input
# fails alone and is listed; a rerun skips finished files; --shard splits the
# sorted list; bad options exit 2.
source "$(dirname "$(readlink -f "$0")")/common.sh"
model="$(style_model)"
batch=("$PIPES/batch-restyle")
in="$WORK/in" out="$WORK/out"
mkdir -p "$in"
make_clip "$in/a.webm" 64 48 10 8 audio
make_clip "$in/b.webm" 48 32 5 5
make_clip "$in/c.mkv" 32 32 10 7
head -c 20000 /dev/urandom >"$in/broken.mp4"
echo "not a video" >"$in/notes.txt"
mkdir -p "$out"
echo stale >"$out/a.mp4.part" # a partial file from an earlier, killed run

rc=0
"${batch[@]}" "$in" "$out" --jobs 2 --model "$model" --threads 1 >"$WORK/run1" 2>&1 || rc=$?
cat "$WORK/run1"
[ "$rc" -eq 1 ] || fail "a batch with a corrupt input exited $rc, expected 1"
grep -q 'FAILED  broken.mp4' "$WORK/run1" || fail "the corrupt input is not reported"
grep -q 'broken.mp4' <<<"$(sed -n '/^failures:/,$p' "$WORK/run1")" || fail "no failure summary naming broken.mp4"
expect_media "$out/a.mp4" "64x48 10/1" 8 0.8 Opus
expect_media "$out/b.mp4" "48x32 5/1" 5 1.0 none
expect_media "$out/c.mp4" "32x32 10/1" 7 0.7 none
[ ! -e "$out/broken.mp4" ] && [ ! -e "$out/notes.mp4" ] || fail "outputs for inputs that are not videos"
[ -z "$(find "$out" -name '*.part')" ] || fail ".part files left: $(find "$out" -name '*.part')"
[ -s "$out/.logs/broken.mp4.log" ] || fail "no log for the failed file"

# Rerun: finished files are skipped (not rewritten), the broken one fails again.
stamp() { stat -c '%i %Y %s' "$out/a.mp4" "$out/b.mp4" "$out/c.mp4"; }
before="$(stamp)"
rc=0
"${batch[@]}" "$in" "$out" --jobs 2 --model "$model" --threads 1 >"$WORK/run2" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/run2"; fail "rerun exited $rc, expected 1"; }
[ "$(grep -c '] skip ' "$WORK/run2")" -eq 3 ] || { cat "$WORK/run2"; fail "rerun did not skip the 3 finished files"; }
[ "$(stamp)" = "$before" ] || fail "rerun rewrote finished files"
rm "$in/broken.mp4"
"${batch[@]}" "$in" "$out" --model "$model" >"$WORK/run3" 2>&1 || { cat "$WORK/run3"; fail "a batch with nothing to do failed"; }

# Shards: disjoint, together the whole sorted list, every N-th file from i.
cp "$in/b.webm" "$in/d.webm"
cp "$in/c.mkv" "$in/e.mkv"
"${batch[@]}" "$in" "$out" --list >"$WORK/all"
[ "$(tr '\n' ' ' <"$WORK/all")" = "a.webm b.webm c.mkv d.webm e.mkv " ] || fail "list: $(cat "$WORK/all")"
"${batch[@]}" "$in" "$out" --shard 0/2 --list >"$WORK/s0"
"${batch[@]}" "$in" "$out" --shard 1/2 --list >"$WORK/s1"
[ "$(tr '\n' ' ' <"$WORK/s0")" = "a.webm c.mkv e.mkv " ] || fail "shard 0/2: $(cat "$WORK/s0")"
[ "$(tr '\n' ' ' <"$WORK/s1")" = "b.webm d.webm " ] || fail "shard 1/2: $(cat "$WORK/s1")"
"${batch[@]}" "$in" "$WORK/shard1" --shard 1/2 --model "$model" --threads 1 >"$WORK/run4" 2>&1 ||
  { cat "$WORK/run4"; fail "shard 1/2 failed"; }
[ "$(cd "$WORK/shard1" && ls | tr '\n' ' ')" = "b.mp4 d.mp4 " ] || fail "shard 1/2 wrote: $(ls "$WORK/shard1")"
expect_media "$WORK/shard1/d.mp4" "48x32 5/1" 5 1.0 none

# Usage errors exit 2; a missing folder exits 1.
expect_exit 2 "${batch[@]}" "$in"
expect_exit 2 "${batch[@]}" "$in" "$out" --jobs 0
expect_exit 2 "${batch[@]}" "$in" "$out" --shard 2/2
expect_exit 2 "${batch[@]}" "$in" "$out" --shard one
expect_exit 2 "${batch[@]}" "$in" "$out" --format avi
expect_exit 2 "${batch[@]}" "$in" "$out" --strength 7
expect_exit 2 "${batch[@]}" "$in" "$out" --smoothing-flow medium
expect_exit 2 "${batch[@]}" "$in" "$out" --bogus
expect_exit 1 "${batch[@]}" "$WORK/nowhere" "$out"
expect_exit 1 "${batch[@]}" "$in" "$out" --model "$WORK/missing.bundle"
note "pass"
