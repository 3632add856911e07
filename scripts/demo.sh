#!/usr/bin/env bash
# Quick start 1: run secintake's main job on the embedded defaults (Maildir
# source, directory tracker, outbox mailer) over the sample reports in
# examples/inbox, and show what it filed and sent.
set -euo pipefail
cd "$(dirname "$0")/.."
# Build dependencies only (the test servers are not needed for the demo).
SECINTAKE_DEPS="libssl-dev pkg-config clang" bash scripts/install-deps.sh
rm -rf demo-out
mkdir -p demo-out/inbox/new demo-out/inbox/cur demo-out/inbox/tmp
cp examples/inbox/new/* demo-out/inbox/new/
cargo build --release --quiet
echo "== secintake run --once (config/demo.toml) =="
./target/release/secintake --config config/demo.toml run --once
echo
echo "== Issues filed (demo-out/issues) =="
for f in demo-out/issues/*.md; do
  echo "---- $f"
  cat "$f"
  echo
done
echo "== Acknowledgements sent (demo-out/outbox) =="
for f in demo-out/outbox/*.eml; do
  echo "---- $f"
  cat "$f"
  echo
done
echo "== Inbox after the run: processed mail moved to demo-out/inbox/.Processed/cur =="
ls demo-out/inbox/.Processed/cur
echo
echo "Look at demo-out/issues (one Markdown file per issue), demo-out/outbox (one .eml per"
echo "acknowledgement) and 'secintake --config config/demo.toml status'."
