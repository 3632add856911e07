#!/usr/bin/env bash
# Counts libcrypto's RSA private-key operations (RSA_private_decrypt) and
# key imports (EVP_PKEY_fromdata) in one `secintake run --once` over the
# given messages, with uprobes (perf probe; needs root and uprobe support).
#
#   scripts/private-ops-uprobe.sh BINARY KEY.sec.asc MESSAGE.eml...
#
# e.g. after `SECINTAKE_BENCH_ONLY=compare cargo bench --bench pipeline`:
#   scripts/private-ops-uprobe.sh target/release/secintake \
#     target/bench-data/v1/keys/rsa.sec.asc target/bench-data/v1/compare-rsa/*.eml
#
# The probes sit on the functions' addresses, not their names: by name perf
# also probes libcrypto's PLT entry, and every call from inside libcrypto
# (sequoia goes through EVP, which calls RSA_private_decrypt) counts twice.
set -euo pipefail
bin=$1 key=$2
shift 2
lib=$(ldd "$bin" | awk '/libcrypto/ {print $3}')
for f in RSA_private_decrypt EVP_PKEY_fromdata; do
  event=$(tr '[:upper:]' '[:lower:]' <<<"$f")
  if ! perf probe -l 2>/dev/null | grep -q "probe_libcrypto:$event "; then
    addr=$(nm -D --defined-only "$lib" | awk -v f="$f" '$3 ~ "^"f"@" {print $1}')
    perf probe -q -x "$lib" -a "$event=0x$addr"
  fi
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/inbox/{new,cur,tmp} "$dir"/issues "$dir"/outbox
i=0
for m in "$@"; do
  cp "$m" "$dir/inbox/new/1764000000.$i.uprobe"
  i=$((i + 1))
done
root=$(cd "$(dirname "$0")/.." && pwd)
cat >"$dir/secintake.toml" <<EOF
[instance]
tracking_prefix = "UPR"
addresses = ["security@example.test"]
state_dir = "$dir/state"

[source]
kind = "maildir"

[source.maildir]
path = "$dir/inbox"

[openpgp]
secret_keys = ["$(realpath "$key")"]

[tracker]
kind = "directory"

[tracker.directory]
path = "$dir/issues"

[mailer]
kind = "outbox"

[mailer.outbox]
path = "$dir/outbox"

[acknowledgement]
from = "Security <security@example.test>"
templates = "$root/config/templates"
global_max = 1000000
EOF
perf stat -e probe_libcrypto:rsa_private_decrypt -e probe_libcrypto:evp_pkey_fromdata \
  -- "$bin" --config "$dir/secintake.toml" run --once >/dev/null 2>"$dir/stderr" || {
  cat "$dir/stderr"
  exit 1
}
echo "$i message(s); issues filed: $(find "$dir/issues" -name '*.md' | wc -l)"
grep -E "probe_libcrypto|seconds" "$dir/stderr"
