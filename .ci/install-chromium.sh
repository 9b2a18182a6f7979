#!/usr/bin/env bash
# Install headless Chromium (Debian's `chromium` package) for the report's browser test.
# Idempotent: a no-op when chromium is already installed; `apt-get update` only when the package
# lists are missing or do not know the package.
set -euo pipefail

PACKAGE=chromium

if dpkg-query -W -f='${Status}\n' "$PACKAGE" 2>/dev/null | grep -q '^install ok installed$'; then
    echo "chromium: already installed ($(command -v chromium || echo /usr/bin/chromium))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "chromium: need root or sudo to install $PACKAGE" >&2; exit 1; }
    SUDO="sudo"
fi
command -v apt-get >/dev/null || { echo "chromium: apt-get not found; install $PACKAGE by hand" >&2; exit 1; }

if ! apt-cache show "$PACKAGE" >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$PACKAGE"
echo "chromium: installed ($(command -v chromium))"
