#!/usr/bin/env bash
# Quick start 2: run the whole test suite against real servers (private
# Dovecot, Postfix and a GitHub fake on loopback ephemeral ports). Installs
# the Debian packages it needs first. With CI=true a missing server fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo fmt --all --check
# No import cycle between modules (each file of src/ is one).
python3 scripts/module-cycles.py
cargo clippy --workspace --all-targets --locked --features secintake/failpoints -- -D warnings
# The failpoints feature builds the crash-injection points into the daemon
# the tests run (tests/chaos.rs, tests/poison.rs, …).
cargo test --workspace --locked --features secintake/failpoints
