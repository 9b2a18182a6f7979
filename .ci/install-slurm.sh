#!/usr/bin/env bash
# Install a single-node Slurm (slurmctld, slurmd, client tools) and munge on Debian/Ubuntu.
# Idempotent: a no-op when every package is already installed; `apt-get update` only when the
# package lists lack the packages or an install from them fails.
# Usage: .ci/install-slurm.sh   (as root, or a user with sudo)
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)

installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "slurm: already installed (${PACKAGES[*]})"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "slurm: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
command -v apt-get >/dev/null || { echo "slurm: apt-get not found; install ${missing[*]} by hand" >&2; exit 1; }

install() {
    $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
known=1
for pkg in "${missing[@]}"; do
    apt-cache show "$pkg" >/dev/null 2>&1 || known=0
done
# Refresh the package lists only when they lack a package or are too stale to download it.
if [ "$known" -eq 0 ] || ! install; then
    $SUDO apt-get update -qq
    install
fi
echo "slurm: installed ${missing[*]}"
