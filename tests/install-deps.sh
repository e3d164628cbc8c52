#!/usr/bin/env bash
# Installs what the core suites (tests/integration, the benchmark and the soak) need on a fresh Debian 12
# machine: php-fpm with the extensions the fixtures use, the system tools the tests call, rustfmt and
# clippy, and cargo-lambda (a third-party Runtime API emulator for the end-to-end test). The app suite's
# own packages are installed by tests/apps/install.sh.
# Idempotent: installs only what is missing, then checks that everything is there (a missing tool fails
# here, loudly, not as a puzzling test failure later). Needs root (or sudo) for apt-get.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_updated=0
apt_install() {
  echo "installing: $*"
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -q; apt_updated=1; fi
  # Debian's postinst tries to start the php-fpm service; there is no init system here and we don't want it.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
}

packages=(php8.2-fpm php8.2-cli php8.2-sqlite3 php8.2-mbstring php8.2-xml php8.2-curl php8.2-intl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Commands the tests run, by the Debian package that has them: kill (signals by pid), setpriv (the
# bootstrap as nobody), taskset (the benchmark pins itself), mount/umount (tmpfs for the full-/tmp faults),
# sha1sum and timeout, python3 (pip, the benchmark's chart), c++ (libFuzzer, built when the fuzz targets
# are linted).
for pair in kill:procps setpriv:util-linux taskset:util-linux mount:mount umount:mount \
  sha1sum:coreutils timeout:coreutils python3:python3 c++:g++; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
# libfaketime: the SnapStart test moves the bootstrap's wall clock at the restore (tests/support/clock.rs).
faketime_lib="/usr/lib/$(uname -m)-linux-gnu/faketime/libfaketimeMT.so.1"
[ -e "$faketime_lib" ] || missing+=(libfaketime)
if [ "${#missing[@]}" -gt 0 ]; then
  # shellcheck disable=SC2207 # package names have no spaces
  apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
fi

for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

if ! command -v cargo-lambda >/dev/null 2>&1; then
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  echo "installing cargo-lambda (pip)"
  # Debian's own Python refuses system-wide pip installs (PEP 668) unless told otherwise.
  python3 -m pip install -q cargo-lambda 2>/dev/null ||
    python3 -m pip install -q --break-system-packages cargo-lambda
fi

for tool in php-fpm8.2 php kill setpriv taskset mount sha1sum timeout cargo-lambda cargo-fmt cargo-clippy; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
    { echo "tests/install-deps.sh: $tool is still missing after the install" >&2; exit 1; }
done
[ -e "$faketime_lib" ] || { echo "tests/install-deps.sh: $faketime_lib is still missing after the install" >&2; exit 1; }
