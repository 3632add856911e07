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
# The conversation loop: a coordinator answers from the issue, the mail
# lands in the outbox, the reporter's answer comes back as a comment.
issue=$(grep -l "Path traversal" demo-out/issues/*.md)
echo "== A coordinator comments on $issue: /reply and /accept =="
printf '\n\n---\n\n/reply\nThank you, Bo. Which version of the file server did you run?\n\n---\n\n/accept\n' >>"$issue"
./target/release/secintake --config config/demo.toml run --once >/dev/null
reply=$(ls demo-out/outbox/*-reply-*.eml)
echo "---- the reply mailed to the reporter: $reply"
cat "$reply"
echo
echo "---- the issue file now: the status block at the top, our answer at the end"
cat "$issue"
echo
echo "== The reporter answers the reply: a follow-up, filed as a comment =="
mid=$(grep -m1 -i '^Message-ID:' "$reply" | sed 's/^[^:]*: *//' | tr -d '\r')
printf 'From: Bo Plain <bo@reporter.example>\r\nTo: security@demo.invalid\r\nSubject: Re: your report\r\nMessage-ID: <bo-answer-1@reporter.example>\r\nIn-Reply-To: %s\r\nReferences: %s\r\nDate: Wed, 02 Dec 2026 12:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVersion 1.4.2 of the demo file server, default settings.\r\n' "$mid" "$mid" >demo-out/inbox/new/1764000010.bo-answer.example
./target/release/secintake --config config/demo.toml run --once >/dev/null
tail -n 8 "$issue"
echo
echo "Look at demo-out/issues (one Markdown file per issue), demo-out/outbox (one .eml per"
echo "mail), 'secintake --config config/demo.toml status' and"
echo "'secintake --config config/demo.toml report'."
