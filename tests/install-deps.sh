#!/usr/bin/env bash
# Installs what the core test suite needs on a fresh Debian 12 machine: php-fpm with the extensions the
# fixtures use, and cargo-lambda (a third-party Runtime API emulator for the end-to-end test).
# Idempotent: skips what is already there. Needs root (or sudo) for apt-get.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(php8.2-fpm php8.2-cli php8.2-sqlite3 php8.2-mbstring php8.2-xml php8.2-curl php8.2-intl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -q
  # Debian's postinst tries to start the php-fpm service; there is no init system here and we don't want it.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo-lambda >/dev/null 2>&1; then
  echo "installing cargo-lambda (pip)"
  python3 -m pip install -q cargo-lambda
fi
