#!/usr/bin/env bash
# Usage: .ci/apt-install.sh LABEL PACKAGE...  Install the Debian/Ubuntu packages not yet installed.
# Idempotent: a no-op when every package is installed; `apt-get update` only when the package
# lists lack a package or an install from them fails. As root, or a user with sudo.
set -euo pipefail
label=$1
shift

installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in "$@"; do
    installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "$label: already installed ($*)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "$label: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
command -v apt-get >/dev/null || { echo "$label: apt-get not found; install ${missing[*]} by hand" >&2; exit 1; }

install() {
    $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
known=1
for pkg in "${missing[@]}"; do
    apt-cache show "$pkg" >/dev/null 2>&1 || known=0
done
if [ "$known" -eq 0 ] || ! install; then
    $SUDO apt-get update -qq
    install
fi
echo "$label: installed ${missing[*]}"
