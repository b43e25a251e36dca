#!/usr/bin/env bash
# Supply chain, offline (scripts/test.sh runs it first, on the lock file as committed):
#   - RustSec advisories from the vendored snapshot supply-chain/advisory-db.tar.xz (CI cannot
#     fetch the database; scripts/refresh-advisory-db.sh replaces the snapshot);
#   - the licences the binaries may contain, and where crates may come from (deny.toml).
# cargo-deny is installed by scripts/setup.sh into .tools/ at a pinned version. Exit 1 when a
# check fails (an unignored advisory, a licence not allowed), 2 when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
deny=.tools/bin/cargo-deny
[ -x "$deny" ] || { echo "error: $deny not installed (run scripts/setup.sh)" >&2; exit 2; }
[ -x .venv/bin/python ] || { echo "error: .venv missing (run scripts/setup.sh)" >&2; exit 2; }
archive=supply-chain/advisory-db.tar.xz
[ -f "$archive" ] || { echo "error: $archive missing" >&2; exit 2; }

# cargo-deny opens, for each of deny.toml's db-urls, the git checkout
# <db-path>/<last path segment>-<xxh64 of the lower-cased URL, seed 0xca80de71> (its
# url_to_db_path); the snapshot is unpacked there as a one-commit repository dated as the
# snapshot, so that deny.toml's maximum-db-staleness measures the snapshot's real age.
url=https://github.com/rustsec/advisory-db
grep -q "\"$url\"" deny.toml || { echo "error: deny.toml: db-urls must be [\"$url\"] (scripts/audit.sh unpacks the snapshot for it)" >&2; exit 2; }
name=$(.venv/bin/python -c 'import sys, xxhash
print("advisory-db-%016x" % xxhash.xxh64(sys.argv[1].lower().encode(), seed=0xca80de71).intdigest())' "$url")
db=.tools/advisory-dbs/$name
stamp=$(sha256sum "$archive" | cut -c1-16)
if [ "$(cat "$db/.git/manuel-stamp" 2>/dev/null || true)" != "$stamp" ]; then
  rm -rf "$db.tmp" && mkdir -p "$db.tmp"
  tar -C "$db.tmp" --strip-components=1 -xJf "$archive"
  date=$(grep -o 'of [0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}' "$db.tmp/SNAPSHOT" | head -1 | cut -c4-)
  [ -n "$date" ] || { echo "error: $archive: its SNAPSHOT names no date" >&2; exit 2; }
  git -C "$db.tmp" init -q -b main
  git -C "$db.tmp" add -A
  GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z" \
    git -C "$db.tmp" -c user.name=snapshot -c user.email=snapshot@localhost -c commit.gpgsign=false \
    commit -q -m "RustSec advisory database snapshot of $date"
  echo "$stamp" >"$db.tmp/.git/manuel-stamp"
  rm -rf "$db" && mv "$db.tmp" "$db"
fi
echo "advisory database: $(head -2 "$db/SNAPSHOT" | tail -1)"
# cargo-deny reads `cargo metadata`, which needs the sources of every crate in the lock (all
# platforms'); this downloads only what the local cargo cache lacks, and checks the lock as
# committed (--locked: a stale lock fails here rather than being re-resolved).
cargo fetch --locked --quiet
# --offline: no fetching, of the database or anything else. Errors only by default (the
# duplicate-version warnings are listed in the README); AUDIT_LOG=warn shows them.
"$deny" --offline --locked -L "${AUDIT_LOG:-error}" check --show-stats advisories licenses bans sources

# Every ignored advisory names a date to look at it again: say so once the date has passed.
today=$(date -u +%F)
grep -o 'id = "RUSTSEC-[0-9-]*".*revisit [0-9-]*' deny.toml | while read -r line; do
  id=$(echo "$line" | grep -o 'RUSTSEC-[0-9]*-[0-9]*')
  when=$(echo "$line" | grep -o 'revisit [0-9-]*' | cut -c9-)
  if [[ "$when" < "$today" ]]; then
    echo "warning: deny.toml: $id is ignored until $when: look at it again (and move the date)" >&2
  fi
done
