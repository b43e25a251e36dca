#!/usr/bin/env bash
# Replace supply-chain/advisory-db.tar.xz, the RustSec advisory database snapshot the offline
# audit reads (scripts/audit.sh), with the folder given: a snapshot like ../shared/advisory-db
# (its crates/ and rust/ folders and a SNAPSHOT note) or a clone of
# https://github.com/rustsec/advisory-db. The archive is reproducible: sorted entries, fixed
# owner and times, so the same database gives the same bytes.
#
#   scripts/refresh-advisory-db.sh ../shared/advisory-db
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: scripts/refresh-advisory-db.sh ADVISORY-DB-FOLDER}
[ -d "$src/crates" ] || { echo "error: $src/crates not found (not an advisory database)" >&2; exit 2; }
note=$src/SNAPSHOT
if [ ! -f "$note" ]; then
  # A clone: its HEAD commit says which snapshot this is.
  commit=$(git -C "$src" log -1 --format='%H of %cs') || { echo "error: $src has no SNAPSHOT note and is not a git clone" >&2; exit 2; }
  note=$(mktemp)
  printf 'Snapshot of the RustSec advisory database (github.com/rustsec/advisory-db, CC0-1.0),\ncommit %s: its crates/ and rust/ folders.\n' "$commit" >"$note"
fi
date=$(grep -o 'of [0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}' "$note" | head -1 | cut -c4-)
[ -n "$date" ] || { echo "error: $note names no date (… of YYYY-MM-DD)" >&2; exit 2; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/advisory-db"
cp -R "$src/crates" "$stage/advisory-db/"
[ -d "$src/rust" ] && cp -R "$src/rust" "$stage/advisory-db/"
cp "$note" "$stage/advisory-db/SNAPSHOT"
for f in LICENSE.txt support.toml; do [ -f "$src/$f" ] && cp "$src/$f" "$stage/advisory-db/"; done
out=supply-chain/advisory-db.tar.xz
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="$date 00:00:00Z" \
  -cf - advisory-db | xz -9 >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out: snapshot of $date, $(find "$stage/advisory-db/crates" -name '*.md' | wc -l) advisories, $(wc -c <"$out") bytes"
