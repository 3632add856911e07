#!/usr/bin/env bash
# Installs the system packages secintake needs to build and to run its tests
# (private Dovecot and Postfix instances), on Debian 12, as root. Idempotent:
# does nothing (and no apt-get update) when everything is already there.
set -euo pipefail

# SECINTAKE_DEPS overrides the list (the demo needs only the build packages).
# mmdebstrap and zstd: the Debian 12 root tests/systemd.rs boots under systemd.
read -r -a PKGS <<< "${SECINTAKE_DEPS:-libssl-dev pkg-config clang dovecot-imapd dovecot-lmtpd postfix mmdebstrap zstd}"

SUDO=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
    SUDO=(sudo)
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" \
        | "${SUDO[@]}" debconf-set-selections
    log=$(mktemp)
    if ! { "${SUDO[@]}" apt-get update -qq \
        && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "install-deps: apt-get install ${missing[*]} failed" >&2
        exit 1
    fi
    rm -f "$log"
    echo "install-deps: installed ${missing[*]}"
else
    echo "install-deps: all present (${PKGS[*]})"
fi

# Tests run private instances on ephemeral ports; the system-wide services that
# installing the packages just started are not needed, so stop those (and only
# those: a machine's own mail service is left alone). Never fails.
for svc in dovecot postfix; do
    case " ${missing[*]:-} " in
        *" $svc"*) "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 || true ;;
    esac
done

# Contract tests (tests/github_contract.rs) run Stoplight Prism against GitHub's
# OpenAPI description. Both are npm packages pinned in testkit/prism/package.json
# and installed into testkit/prism/node_modules (gitignored), only when missing.
# Skipped for partial installs (SECINTAKE_DEPS set, e.g. the demo) unless
# SECINTAKE_PRISM=1; SECINTAKE_PRISM=0 always skips.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRISM_DIR="$ROOT/testkit/prism"
want_prism=${SECINTAKE_PRISM:-}
if [ -z "$want_prism" ]; then
    if [ -n "${SECINTAKE_DEPS:-}" ]; then want_prism=0; else want_prism=1; fi
fi
if [ "$want_prism" = 1 ]; then
    if [ -x "$PRISM_DIR/node_modules/.bin/prism" ] \
        && [ -f "$PRISM_DIR/node_modules/@octokit/openapi/generated/api.github.com.json" ]; then
        echo "install-deps: prism present ($PRISM_DIR/node_modules)"
    elif ! command -v npm >/dev/null 2>&1; then
        echo "install-deps: npm not found; contract tests need node 20 + npm" >&2
        [ "${CI:-}" = true ] && exit 1
    else
        log=$(mktemp)
        if ! (cd "$PRISM_DIR" && npm install --no-audit --no-fund --no-save \
            --omit=dev --loglevel=error) >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "install-deps: npm install in $PRISM_DIR failed" >&2
            exit 1
        fi
        rm -f "$log"
        echo "install-deps: installed prism into $PRISM_DIR/node_modules"
    fi
fi

# SMTP outage tests (tests/smtp_outage.rs) script failures with aiosmtpd
# (PyPI, pinned) in a project-local venv at testkit/aiosmtpd/.venv
# (gitignored), created only when missing. SECINTAKE_AIOSMTPD=0 skips it;
# partial installs (SECINTAKE_DEPS set) skip it unless SECINTAKE_AIOSMTPD=1.
AIOSMTPD_VENV="$ROOT/testkit/aiosmtpd/.venv"
want_aiosmtpd=${SECINTAKE_AIOSMTPD:-}
if [ -z "$want_aiosmtpd" ]; then
    if [ -n "${SECINTAKE_DEPS:-}" ]; then want_aiosmtpd=0; else want_aiosmtpd=1; fi
fi
if [ "$want_aiosmtpd" = 1 ]; then
    if [ -x "$AIOSMTPD_VENV/bin/python" ] \
        && "$AIOSMTPD_VENV/bin/python" -c 'import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != "1.4.6")' 2>/dev/null; then
        echo "install-deps: aiosmtpd present ($AIOSMTPD_VENV)"
    elif ! command -v python3 >/dev/null 2>&1; then
        echo "install-deps: python3 not found; SMTP outage tests need python3 (venv) + aiosmtpd" >&2
        [ "${CI:-}" = true ] && exit 1
    else
        log=$(mktemp)
        if ! { python3 -m venv "$AIOSMTPD_VENV" \
            && "$AIOSMTPD_VENV/bin/pip" install --quiet --disable-pip-version-check \
                "aiosmtpd==1.4.6"; } >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "install-deps: installing aiosmtpd into $AIOSMTPD_VENV failed" >&2
            exit 1
        fi
        rm -f "$log"
        echo "install-deps: installed aiosmtpd 1.4.6 into $AIOSMTPD_VENV"
    fi
fi

# The package test (tests/systemd.rs) builds the Debian package with
# cargo-deb (crates.io, pinned), installed into ~/.cargo/bin only when
# missing (≈2 min). SECINTAKE_CARGO_DEB=0 skips it; partial installs
# (SECINTAKE_DEPS set) skip it unless SECINTAKE_CARGO_DEB=1.
CARGO_DEB_VERSION=3.8.0
want_cargo_deb=${SECINTAKE_CARGO_DEB:-}
if [ -z "$want_cargo_deb" ]; then
    if [ -n "${SECINTAKE_DEPS:-}" ]; then want_cargo_deb=0; else want_cargo_deb=1; fi
fi
if [ "$want_cargo_deb" = 1 ]; then
    if cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
        echo "install-deps: cargo-deb $CARGO_DEB_VERSION present"
    elif ! command -v cargo >/dev/null 2>&1; then
        echo "install-deps: cargo not found; the package test needs cargo-deb" >&2
        [ "${CI:-}" = true ] && exit 1
    else
        log=$(mktemp)
        if ! cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "install-deps: cargo install cargo-deb failed" >&2
            exit 1
        fi
        rm -f "$log"
        echo "install-deps: installed cargo-deb $CARGO_DEB_VERSION"
    fi
fi
