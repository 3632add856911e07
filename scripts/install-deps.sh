#!/usr/bin/env bash
# Installs the system packages secintake needs to build and to run its tests
# (private Dovecot and Postfix instances), on Debian 12, as root. Idempotent:
# does nothing (and no apt-get update) when everything is already there.
set -euo pipefail

# SECINTAKE_DEPS overrides the list (the demo needs only the build packages).
read -r -a PKGS <<< "${SECINTAKE_DEPS:-libssl-dev pkg-config clang dovecot-imapd dovecot-lmtpd postfix}"

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
