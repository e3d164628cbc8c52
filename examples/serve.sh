#!/usr/bin/env bash
# Runs an example app locally with `bootstrap serve` (no Docker, no AWS): installs php-fpm if it is
# missing (Debian), builds the bootstrap, and serves the app on http://127.0.0.1:8080 until Ctrl-C.
#   examples/serve.sh                 # examples/hello
#   examples/serve.sh path/to/app     # any app with public/index.php
#   PORT=9000 examples/serve.sh
#   HANDLER=web/app.php examples/serve.sh path/to/app    # default: public/index.php, else index.php
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
app="$(cd "${1:-$repo/examples/hello}" && pwd)"
port="${PORT:-8080}"

if ! ls /usr/sbin/php-fpm* >/dev/null 2>&1 && ! command -v php-fpm >/dev/null 2>&1; then
  echo "php-fpm not found: installing php8.2-fpm (Debian)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    php8.2-fpm php8.2-cli php8.2-mbstring php8.2-xml php8.2-curl php8.2-sqlite3 php8.2-intl
fi

cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin bootstrap
exec "$repo/target/release/bootstrap" serve --root "$app" ${HANDLER:+--handler "$HANDLER"} --listen "127.0.0.1:$port"
