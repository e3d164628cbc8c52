#!/usr/bin/env bash
# Installs the real apps of the app suite (tests/apps/main.rs) into task roots, the way a user
# would deploy them to Lambda: everything the app needs inside its task root, code read-only (root-owned,
# world-readable), writable state under $TMPDIR only.
#
#   sudo tests/apps/install.sh [DEST]        # DEST defaults to target/apps
#
# Apps: laravel, symfony, slim (skeletons from tests/apps/skeletons/<app>/ on Debian's libraries, copied into
# vendor/php; Laravel's and Symfony's with queued jobs, a console and an event handler using the layer's PHP
# glue, copied from layer-build/php into layer-php), wordpress (Debian's package + a MariaDB data directory
# prepared here: the suite starts its own mariadbd on a copy of it), dokuwiki (Debian's package, conf/ and
# seed data/ in the task root).
# Needs root for apt-get (skipped when every package is already installed). Safe to re-run: DEST is
# rebuilt from scratch. Works on a fresh Debian 12.
set -euo pipefail

t_start=$(date +%s%N)
elapsed() { echo $(( ($(date +%s%N) - t_start) / 1000000 )); }
log() { printf '[install.sh %6sms] %s\n' "$(elapsed)" "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
skeletons="$here/skeletons"
dest=$(realpath -m "${1:-$repo/target/apps}")
is_root=0; [[ $(id -u) == 0 ]] && is_root=1

# Must match tests/apps/main.rs.
WP_DB_NAME=wordpress
WP_DB_USER=wordpress
WP_DB_PASSWORD=lambda-fpm-wp
ADMIN_PASSWORD=lambda-fpm-admin

# ---------------------------------------------------------------------------------------------- packages
packages=(
    php8.2-fpm php8.2-cli php8.2-opcache php8.2-mysql php8.2-gd php8.2-xml php8.2-mbstring php8.2-intl
    php8.2-curl php8.2-sqlite3
    php-laravel-framework php-symfony php-slim
    wordpress wordpress-theme-twentytwentythree dokuwiki mariadb-server
    chromium fonts-dejavu-core
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    ((is_root)) || die "run as root to install: ${missing[*]}"
    log "apt-get install ${missing[*]}"
    # wordpress pulls apache2 and mariadb-server its service: keep apt from starting any service
    # (the suite starts its own mariadbd on a private port; nothing listens on :80).
    policy_created=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_created=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ((policy_created)) && rm -f /usr/sbin/policy-rc.d
    log "packages installed"
else
    log "packages already installed"
fi

rm -rf "$dest"
mkdir -p "$dest"

# --------------------------------------------------- Debian's PHP libraries, shared by the framework apps
# /usr/share/php holds symlinks into other packages: copy the targets. Each app gets hard links to this
# copy in vendor/php (its autoloader puts only that directory on the include path).
cp -rL /usr/share/php "$dest/.php-libs"
log "copied /usr/share/php"

for app in laravel symfony slim; do
    root="$dest/$app"
    mkdir -p "$root/vendor"
    (cd "$skeletons/$app" && tar --exclude=vendor-autoload.php -cf - .) | (cd "$root" && tar -xf -)
    cp "$skeletons/$app/vendor-autoload.php" "$root/vendor/autoload.php"
    cp -al "$dest/.php-libs" "$root/vendor/php"
    log "$app: task root ready"
done

# ------------------------------------------------------------------------------------------- wordpress
wp="$dest/wordpress"
cp -rL /usr/share/wordpress "$wp"
rm -f "$wp/.htaccess"
cp "$skeletons/wordpress/wp-config.php" "$wp/wp-config.php"
mkdir -p "$wp/wp-content/mu-plugins"
cp "$skeletons/wordpress/lambda-fpm.php" "$wp/wp-content/mu-plugins/lambda-fpm.php"
log "wordpress: task root ready"

# The database: a data directory of its own, initialised here with a private mariadbd (never the system
# service), then shut down. The suite starts mariadbd on a copy of it.
db="$dest/wordpress-db"
run=$(mktemp -d)
mysqld_pid=""
cleanup() {
    if [[ -n $mysqld_pid ]] && kill -0 "$mysqld_pid" 2>/dev/null; then
        kill "$mysqld_pid" 2>/dev/null || true
        wait "$mysqld_pid" 2>/dev/null || true
    fi
    rm -rf "$run"
}
trap cleanup EXIT
db_user_args=()
if ((is_root)); then
    db_user_args=(--user=mysql)
    chown mysql:mysql "$run"
fi
mkdir -p "$db"
((is_root)) && chown mysql:mysql "$db"
mariadb-install-db --no-defaults --datadir="$db" "${db_user_args[@]}" --auth-root-authentication-method=normal \
    --skip-test-db >"$run/install-db.log" 2>&1 || { cat "$run/install-db.log" >&2; die "mariadb-install-db failed"; }
port=$(php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); echo explode(":", stream_socket_get_name($s, false))[1];')
mariadbd --no-defaults --datadir="$db" "${db_user_args[@]}" --socket="$run/mysqld.sock" --port="$port" \
    --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin --innodb-buffer-pool-size=32M \
    --pid-file="$run/mysqld.pid" --log-error="$run/mysqld.err" &
mysqld_pid=$!
for _ in $(seq 1 300); do
    [[ -S $run/mysqld.sock ]] && break
    kill -0 "$mysqld_pid" 2>/dev/null || { cat "$run/mysqld.err" >&2; die "mariadbd exited"; }
    sleep 0.1
done
[[ -S $run/mysqld.sock ]] || die "mariadbd did not start in 30 s"
mariadb --no-defaults -S "$run/mysqld.sock" -u root <<SQL
CREATE DATABASE $WP_DB_NAME CHARACTER SET utf8mb4;
CREATE USER '$WP_DB_USER'@'127.0.0.1' IDENTIFIED BY '$WP_DB_PASSWORD';
CREATE USER '$WP_DB_USER'@'localhost' IDENTIFIED BY '$WP_DB_PASSWORD';
GRANT ALL ON $WP_DB_NAME.* TO '$WP_DB_USER'@'127.0.0.1';
GRANT ALL ON $WP_DB_NAME.* TO '$WP_DB_USER'@'localhost';
SQL
WORDPRESS_DB_HOST="127.0.0.1:$port" WORDPRESS_DB_NAME=$WP_DB_NAME WORDPRESS_DB_USER=$WP_DB_USER \
    WORDPRESS_DB_PASSWORD=$WP_DB_PASSWORD WORDPRESS_SALT=install TMPDIR="$run" \
    php -d error_reporting=E_ALL\&~E_DEPRECATED "$skeletons/wordpress/install-wp.php" "$wp" "$ADMIN_PASSWORD"
mariadb-admin --no-defaults -S "$run/mysqld.sock" -u root shutdown
wait "$mysqld_pid" || true
mysqld_pid=""
log "wordpress: database ready (admin / $ADMIN_PASSWORD)"

# -------------------------------------------------------------------------------------------- dokuwiki
dw="$dest/dokuwiki"
cp -rL /usr/share/dokuwiki "$dw"        # lib/tpl and lib/plugins are symlinks into /var/lib/dokuwiki
rm -f "$dw/.htaccess" "$dw/.htaccess.dist" "$dw/.htaccess.dist.md5sum"
cp "$skeletons/dokuwiki/preload.php" "$dw/inc/preload.php"
mkdir -p "$dw/conf"
for f in /etc/dokuwiki/*; do
    case $(basename "$f") in
        apache.conf | lighttpd.conf | htaccess | acl.auth.php | users.auth.php) ;;
        *) cp -L "$f" "$dw/conf/" ;;
    esac
done
cp "$skeletons"/dokuwiki/conf/* "$dw/conf/"
# Debian moves conf/ to /etc and leaves its .htaccess there: put back the one upstream ships, as a
# user deploying DokuWiki's release would have it. lambda-fpm honours it (and those of data/, inc/,
# bin/ and vendor/, which the copies above keep) without any LAMBDA_FPM_DENY.
cp /etc/dokuwiki/.htaccess "$dw/conf/.htaccess"
hash=$(php -r 'echo password_hash($argv[1], PASSWORD_BCRYPT);' "$ADMIN_PASSWORD")
printf '# users.auth.php\n# <?php exit()?>\n# Don'"'"'t modify the lines above\nadmin:%s:Wiki Admin:admin@example.com:admin,user\n' \
    "$hash" >"$dw/conf/users.auth.php"
# The seed data: copied to $TMPDIR/dokuwiki/data by inc/preload.php on the first request.
cp -rL /var/lib/dokuwiki/data "$dw/data"
cp "$skeletons/dokuwiki/start.txt" "$dw/data/pages/start.txt"
log "dokuwiki: task root ready"

# ------------------------------------------------------------------- the layer's PHP glue (/opt/lambda-fpm/php)
# The apps' event handlers (worker.php) load it from LAMBDA_FPM_PHP_DIR when not on Lambda.
cp -r "$repo/layer-build/php" "$dest/layer-php"
log "layer-php: the layer's PHP event glue"

# --------------------------------------------------------------------------------- read-only task roots
# Bref's convention, which lambda-fpm follows: extra ini files in the task root's php/conf.d/.
for app in laravel symfony slim wordpress dokuwiki; do
    mkdir -p "$dest/$app/php/conf.d"
    cp "$here/php-app.ini" "$dest/$app/php/conf.d/app.ini"
done
# Root-owned, readable by everyone, writable by no one else: the suite runs the bootstrap (and so php-fpm)
# as an unprivileged user, which can then write only under its own $TMPDIR.
for app in laravel symfony slim wordpress dokuwiki layer-php; do
    ((is_root)) && chown -R root:root "$dest/$app"
    chmod -R u+rwX,go+rX,go-w "$dest/$app"
done
chmod 755 "$dest"
echo "lambda-fpm app suite task roots; made by tests/apps/install.sh" >"$dest/INSTALLED"
log "done: task roots in $dest (total $(( $(elapsed) / 1000 )) s)"
