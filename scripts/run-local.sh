#!/usr/bin/env bash
# The main job on the local stack: start redis, moto and the Bedrock replay, run health and query through the
# Runtime API (Rust, and the real Python handler when a Manuel checkout is given), check parity,
# stop the stack. With a Manuel checkout, first check manuel-migrate.toml against its templates.
#
#   scripts/run-local.sh                                   Rust side vs the recorded Python answers
#   scripts/run-local.sh /path/to/manuel/backend/src/functions   ... and vs the live Python handlers
set -euo pipefail
cd "$(dirname "$0")/.."
py_src=${1:-}
mm=target/debug/manuel-migrate
[ -x "$mm" ] || { echo "error: $mm not built (run scripts/setup.sh)" >&2; exit 2; }
if [ -n "$py_src" ] && [ ! -f "$py_src/health/app.py" ]; then
  echo "error: $py_src/health/app.py not found (pass a Manuel checkout's backend/src/functions)" >&2
  exit 2
fi
if [ -n "$py_src" ]; then
  # manuel-migrate.toml restates what the checkout's templates deploy: a change upstream is one
  # failing line naming the function and field (template-minimal.yaml deploys bootstrap).
  backend=$(cd "$py_src/../.." && pwd)
  templates=(--template "$backend/template.yaml")
  [ -f "$backend/template-minimal.yaml" ] && templates+=(--template "$backend/template-minimal.yaml")
  "$mm" functions sync --check "${templates[@]}"
fi
"$mm" stack up
trap '"$mm" stack down' EXIT
"$mm" stack status
"$mm" invoke --function health --event parity-fixtures/health/get-health.json
"$mm" invoke --function query --event parity-fixtures/query/simple-question.json
if [ -n "$py_src" ]; then
  "$mm" invoke --function health --event parity-fixtures/health/get-health.json --python-src "$py_src"
  "$mm" parity --python-src "$py_src"
fi
"$mm" parity
