#!/usr/bin/env bash
# The test command (README): supply chain, formatting, lints, every test against the real local components
# (redis-server, moto server, awslambdaric), then the parity gate against the recordings.
# Needs scripts/setup.sh to have run; each test starts and stops the services it uses.
set -euo pipefail
cd "$(dirname "$0")/.."
# Advisories (offline, vendored RustSec snapshot), licences, sources: the lock file as committed.
bash scripts/audit.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The function binaries the integration tests and the parity gate run.
cargo build --workspace --quiet
cargo test --workspace
# The binary built above (a `cargo run -p` would resolve features differently and rebuild).
target/debug/manuel-migrate parity
