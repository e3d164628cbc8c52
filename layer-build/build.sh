#!/usr/bin/env bash
# Builds the lambda-fpm Lambda layer: /opt/bootstrap plus a self-contained PHP taken from Debian packages.
#
#   layer-build/build.sh PHP_VERSION ARCH      e.g. layer-build/build.sh 8.4 x86_64
#   -> target/layer/lambda-fpm-php84-x86_64.zip and target/layer/lambda-fpm-php84-x86_64-image (OCI image)
#
# PHP 8.2 comes from Debian 12 (bookworm), PHP 8.4 from Debian 13 (trixie); ARCH is x86_64 or arm64.
# No Docker: `debootstrap --download-only` fetches the packages and their dependencies for the target
# architecture into target/layer/cache/SUITE-ARCH, and they are unpacked with dpkg-deb (no maintainer script
# runs, so the same code builds an arm64 root on an x86_64 host). Reruns reuse that cache; set
# LAYER_REFRESH=1 to fetch the packages again (e.g. for security updates).
#
# Environment:
#   LAMBDA_FPM_BOOTSTRAP  use this bootstrap binary instead of building one with cargo zigbuild
#   DEBIAN_MIRROR         Debian mirror (default http://deb.debian.org/debian)
#   LAYER_REFRESH=1       ignore the package cache
#   SOURCE_DATE_EPOCH     timestamp stored in the zip (default: a fixed date, for reproducible zips)
#   LAYER_SLIM=1          leave out gd and imagick: their image codecs (AVIF/HEIF encoders, ImageMagick) are
#                         about 60 of the layer's unzipped MB. Writes ...-slim.zip instead.
#   LAYER_IMAGE=0         do not write the OCI image (target/layer/NAME-image, see step 6)
#   LAYER_IMAGE_APP, LAYER_IMAGE_HANDLER   the app the image holds at /var/task and its front controller
#                         (default: examples/hello, public/index.php)
#
# Needs (Debian): debootstrap binutils patchelf zip python3 (+ bubblewrap for the smoke check, and
# qemu-user-static to run it for arm64 on an x86_64 host), and for the
# bootstrap: cargo, `pip install ziglang cargo-zigbuild`.
# The Debian packages are checked first and, as root, installed with apt-get when missing;
#   layer-build/build.sh --check-tools       does only that.
set -euo pipefail

# The commands this script runs, as command:Debian package. Checked before anything else so that a fresh
# machine gets them installed (or one message listing them) instead of failing halfway through.
REQUIRED_TOOLS="debootstrap:debootstrap dpkg-deb:dpkg patchelf:patchelf readelf:binutils zip:zip python3:python3"
# Without these the build still works: step 4's smoke check is skipped.
OPTIONAL_TOOLS="bwrap:bubblewrap"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg   # debootstrap checks the mirror's signatures with it

# Prints the package of each command:package pair whose command is not on PATH.
missing_packages() {
  local pair
  for pair in "$@"; do
    command -v "${pair%%:*}" > /dev/null || echo "${pair#*:}"
  done
}

check_tools() {
  local missing optional
  missing=$(missing_packages $REQUIRED_TOOLS)
  [ -e "$KEYRING" ] || missing="$missing debian-archive-keyring"
  missing=$(echo $missing)
  optional=$(echo $(missing_packages $OPTIONAL_TOOLS))
  if [ "$(id -u)" -ne 0 ]; then
    if [ -n "$missing" ]; then
      echo "layer-build: missing Debian packages: $missing" >&2
      echo "  run this script as root to install them, or: sudo apt-get install $missing $optional" >&2
      return 1
    fi
    [ -z "$optional" ] || echo "layer-build: $optional not installed: the smoke check will be skipped" >&2
  elif [ -n "$missing$optional" ]; then
    echo "layer-build: installing $(echo $missing $optional) (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing $optional > /dev/null
    missing=$(echo $(missing_packages $REQUIRED_TOOLS))
    [ -z "$missing" ] || { echo "layer-build: still missing after apt-get install: $missing" >&2; return 1; }
  fi
  # The bootstrap is built with cargo-zigbuild (pip, not Debian) unless one is given.
  if [ -z "${LAMBDA_FPM_BOOTSTRAP:-}" ]; then
    local need=""
    command -v cargo > /dev/null && command -v rustup > /dev/null || need="Rust (cargo, rustup) "
    command -v cargo-zigbuild > /dev/null || need="${need}cargo-zigbuild "
    command -v zig > /dev/null || python3 -c 'import ziglang' 2> /dev/null || need="${need}ziglang "
    if [ -n "$need" ]; then
      echo "layer-build: building the bootstrap needs ${need% }: pip install ziglang cargo-zigbuild" \
        "(and rustup for Rust), or set LAMBDA_FPM_BOOTSTRAP to a bootstrap binary built elsewhere" >&2
      return 1
    fi
  fi
}

usage() { echo "usage: $0 PHP_VERSION(8.2|8.4) ARCH(x86_64|arm64)   or: $0 --check-tools" >&2; exit 2; }
if [ "${1:-}" = --check-tools ]; then check_tools; exit; fi
[ $# -eq 2 ] || usage
PHP_VERSION=$1
case "$PHP_VERSION" in
  8.2) SUITE=bookworm ;;
  8.4) SUITE=trixie ;;
  *) echo "unsupported PHP version $PHP_VERSION (Debian ships 8.2 in bookworm and 8.4 in trixie)" >&2; exit 2 ;;
esac
case "$2" in
  x86_64|amd64) ARCH=x86_64 DEBARCH=amd64 LDSO=ld-linux-x86-64.so.2 ;;
  arm64|aarch64) ARCH=arm64 DEBARCH=arm64 LDSO=ld-linux-aarch64.so.1 ;;
  *) usage ;;
esac
ELFARCH=${ARCH/arm64/aarch64}            # uname -m / Rust spelling
TRIPLET=$ELFARCH-linux-gnu                # Debian multiarch dir
RUST_TARGET=$ELFARCH-unknown-linux-gnu
export LAYER_ARCH=$ELFARCH

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=$REPO/target/layer
NAME=lambda-fpm-php${PHP_VERSION/./}-$ARCH
WITHOUT=""
if [ "${LAYER_SLIM:-0}" = 1 ]; then NAME=$NAME-slim WITHOUT="gd imagick"; fi
ZIP=$OUT/$NAME.zip
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
elftool() { python3 "$HERE/elftool.py" "$@"; }
log() { echo "[build $NAME] $*" >&2; }
check_tools

V=$PHP_VERSION
# Debian package names. php-imagick/php-redis/php-apcu are the version-less names Debian uses for PECL
# extensions; debootstrap resolves them to the php$V-* packages of the suite.
PACKAGES="php$V-cli php$V-fpm php$V-common php$V-opcache php$V-bcmath php$V-curl php$V-mbstring php$V-mysql
php$V-pgsql php$V-sqlite3 php$V-xml php$V-zip php$V-intl php$V-gd php-imagick php-redis php-apcu php-igbinary
ca-certificates tzdata libc-bin"

# Extensions enabled by the layer, in load order (pdo and mysqlnd before the drivers that need them). Chosen
# by what they cost at start (layer-build/ext-cost.sh, docs/layer.md): Bref's default set less curl, intl,
# pdo_pgsql and xsl, which together cost about 9 ms of CPU at every cold start for the libraries they
# load (libcurl with GnuTLS, Kerberos and LDAP; ICU; libpq; libxslt). They ship off, with everything else in
# lib/php/extensions (gd, imagick, redis+igbinary, apcu, pgsql, ffi, calendar, shmop, sysv*), one
# `extension=NAME` line away in the app's /var/task/php/conf.d/*.ini.
ENABLED="opcache pdo mysqlnd bcmath ctype dom exif fileinfo ftp gettext iconv mbstring mysqli pdo_mysql pdo_sqlite
phar posix simplexml sockets sqlite3 tokenizer xml xmlreader xmlwriter zip"
# What `php -m` must list inside the sandbox (some are compiled into Debian's binaries, not .so files).
REQUIRED="bcmath ctype date dom exif fileinfo filter ftp gettext hash iconv json libxml mbstring mysqli mysqlnd
openssl pcntl pcre PDO pdo_mysql pdo_sqlite Phar posix Reflection session SimpleXML sockets sodium SPL sqlite3
tokenizer xml xmlreader xmlwriter zip zlib"

# ---------------------------------------------------------------------------------------------------------
# 1. Debian packages -> cached root (target/layer/cache/SUITE-ARCH/rootfs)
CACHE=$OUT/cache/$SUITE-$DEBARCH
ROOTFS=$CACHE/rootfs
KEY="$SUITE $DEBARCH $MIRROR $(echo $PACKAGES)"
if [ "${LAYER_REFRESH:-0}" = 1 ] || [ "$(cat "$CACHE/rootfs.key" 2>/dev/null)" != "$KEY" ]; then
  log "fetching $SUITE/$DEBARCH packages (debootstrap --download-only)"
  rm -rf "$CACHE"
  mkdir -p "$CACHE"
  # --download-only resolves dependencies for the target architecture without running anything from it.
  debootstrap --download-only --variant=minbase --arch="$DEBARCH" --include="$(echo $PACKAGES | tr ' ' ,)" \
    "$SUITE" "$CACHE/debootstrap" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  mkdir -p "$ROOTFS"
  for deb in "$CACHE"/debootstrap/var/cache/apt/archives/*.deb; do
    dpkg-deb -x "$deb" "$ROOTFS"
    dpkg-deb -f "$deb" Package Version Architecture | sed 's/^[^:]*: //' | paste -sd' ' >> "$CACHE/packages.txt"
  done
  rm -rf "$CACHE/debootstrap"          # the .debs are unpacked; 80-100 MB less in the cache
  echo "$KEY" > "$CACHE/rootfs.key"
fi

# ---------------------------------------------------------------------------------------------------------
# 2. The bootstrap: glibc <= 2.26 so it would run even on the oldest Lambda Linux (checked below).
if [ -n "${LAMBDA_FPM_BOOTSTRAP:-}" ]; then
  BOOTSTRAP=$LAMBDA_FPM_BOOTSTRAP
else
  log "building bootstrap (cargo zigbuild --target $RUST_TARGET.2.17)"
  rustup target list --installed 2>/dev/null | grep -qx "$RUST_TARGET" || rustup target add "$RUST_TARGET"
  (cd "$REPO" && cargo zigbuild --release --locked --target "$RUST_TARGET.2.17" >&2)
  BOOTSTRAP=$REPO/target/$RUST_TARGET/release/bootstrap
fi
[ -x "$BOOTSTRAP" ] || { echo "no bootstrap binary at $BOOTSTRAP" >&2; exit 1; }
GLIBC_MAX=$(readelf -W -V "$BOOTSTRAP" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
if [ -n "$GLIBC_MAX" ] && [ "$(printf '%s\n2.26\n' "$GLIBC_MAX" | sort -V | tail -1)" != 2.26 ]; then
  echo "bootstrap needs GLIBC_$GLIBC_MAX (> 2.26): build it with cargo zigbuild --target $RUST_TARGET.2.17" >&2
  exit 1
fi
log "bootstrap needs glibc ${GLIBC_MAX:-none (static)}"

# ---------------------------------------------------------------------------------------------------------
# 3. Assemble /opt
STAGE=$OUT/build/$NAME
O=$STAGE/opt
rm -rf "$STAGE"
mkdir -p "$O/bin" "$O/lib/php/extensions" "$O/share" "$O/ssl/certs" "$O/lib/locale" "$O/php-ini" "$O/fpm-config"

cp "$ROOTFS/usr/bin/php$V" "$O/bin/php"
cp "$ROOTFS/usr/sbin/php-fpm$V" "$O/bin/php-fpm"
cp "$BOOTSTRAP" "$O/bootstrap"
EXTSRC=$(echo "$ROOTFS"/usr/lib/php/20??????)          # the PHP API dir, e.g. 20220829
cp "$EXTSRC"/*.so "$O/lib/php/extensions/"
for ext in $WITHOUT; do rm "$O/lib/php/extensions/$ext.so"; done

# ImageMagick loads its format coders with dlopen from a path compiled into libMagickCore (moved to /opt by
# the string patch below); it reads policy.xml & co. from its share dir. Only needed once imagick is enabled.
if [ -e "$O/lib/php/extensions/imagick.so" ]; then
  MAGICK_LIB=$(cd "$ROOTFS/usr/lib/$TRIPLET" && echo ImageMagick-*)     # ImageMagick-6.9.11 / -7.1.1
  MAGICK=${MAGICK_LIB%%.*}                                              # ImageMagick-6 / -7
  mkdir -p "$O/lib/$TRIPLET/$MAGICK_LIB" "$O/share/$MAGICK"
  cp -r "$ROOTFS/usr/lib/$TRIPLET/$MAGICK_LIB/modules-Q16" "$ROOTFS/usr/lib/$TRIPLET/$MAGICK_LIB/config-Q16" \
    "$O/lib/$TRIPLET/$MAGICK_LIB/"
  cp "$ROOTFS/etc/$MAGICK"/*.xml "$ROOTFS/usr/share/$MAGICK"/*.xml "$O/share/$MAGICK/"
fi

# glibc's gconv modules (iconv for charsets beyond UTF-8/Latin-1/ASCII) and the C.UTF-8 locale, at the
# paths glibc will look in after the patch below (same directory structure as Debian, /usr -> /opt).
# Only the common charsets (3 of glibc's 8 MB): the rest fail cleanly in iconv_open() like an unknown name.
mkdir -p "$O/lib/$TRIPLET/gconv"
(cd "$ROOTFS/usr/lib/$TRIPLET/gconv" && cp -r gconv-modules gconv-modules.cache gconv-modules.d ISO8859-*.so \
  CP125?.so CP932.so IBM437.so IBM850.so IBM852.so IBM866.so KOI8-R.so KOI8-U.so UTF-16.so UTF-32.so \
  UTF-7.so UNICODE.so EUC-*.so SJIS.so BIG5*.so GBK.so GB18030.so ISO-2022-*.so MACINTOSH.so TIS-620.so \
  lib*.so "$O/lib/$TRIPLET/gconv/")
cp -r "$ROOTFS/usr/lib/locale/C.utf8" "$O/lib/locale/"

# Time zones without the duplicate posix/ and right/ (leap second) trees. -L: Debian links aliases
# (e.g. US/Eastern) across the tree; the zip holds no symlinks.
mkdir -p "$O/share/zoneinfo"
(cd "$ROOTFS/usr/share/zoneinfo" && find . -mindepth 1 -maxdepth 1 ! -name posix ! -name right ! -name localtime \
  -exec cp -rL {} "$O/share/zoneinfo/" \;)

# CA bundle: what update-ca-certificates would generate from the enabled Mozilla roots.
cat "$ROOTFS"/usr/share/ca-certificates/mozilla/*.crt > "$O/ssl/certs/ca-certificates.crt"

# Every library the binaries, extensions, coders and gconv modules load, plus the dynamic loader.
mapfile -t DLOPENED < <(find "$O/lib/$TRIPLET" -name '*.so')
elftool closure "$ROOTFS" "$O/lib" "$O/bin/php" "$O/bin/php-fpm" "$O/bootstrap" "$O"/lib/php/extensions/*.so \
  "${DLOPENED[@]}" > "$STAGE/libs.txt"
cp "$(elftool resolve "$ROOTFS" "usr/lib/$TRIPLET/$LDSO")" "$O/lib/$LDSO" 2>/dev/null \
  || cp "$(elftool resolve "$ROOTFS" "lib/$TRIPLET/$LDSO")" "$O/lib/$LDSO"

# Paths compiled into Debian's binaries, moved from /usr (and /etc) to /opt with same-length strings: no env
# var is needed for PHP or glibc to find them, so the CLI run by hand behaves like php-fpm. LOCPATH, GCONV_PATH,
# SSL_CERT_FILE etc. still override these as usual.
elftool patch "$O/bin/php" "/usr/share/zoneinfo=/opt/share/zoneinfo"
elftool patch "$O/bin/php-fpm" "/usr/share/zoneinfo=/opt/share/zoneinfo"
elftool patch "$O/lib/libc.so.6" "/usr/share/zoneinfo=/opt/share/zoneinfo" "/usr/lib/locale=/opt/lib/locale" \
  "/usr/lib/$TRIPLET/gconv=/opt/lib/$TRIPLET/gconv"
# iconvconfig stored the module directory in glibc's gconv cache as well
elftool patch "$O/lib/$TRIPLET/gconv/gconv-modules.cache" "/usr/lib/$TRIPLET/gconv=/opt/lib/$TRIPLET/gconv"
elftool patch "$O/lib/libcurl.so.4" "/etc/ssl/certs=/opt/ssl/certs"
for magick in "$O"/lib/libMagickCore-*.so.*; do
  [ -e "$magick" ] || continue
  # /opt/$MAGICK does not exist: Debian's policy.xml & co. are read from share/$MAGICK instead of /etc.
  elftool patch "$magick" "/usr/lib/$TRIPLET/ImageMagick-=/opt/lib/$TRIPLET/ImageMagick-" \
    "/usr/share/$MAGICK/=/opt/share/$MAGICK/" "/etc/$MAGICK/=/opt/$MAGICK/"
done

# Loader and library search path. DT_RPATH (--force-rpath), unlike DT_RUNPATH, is searched before
# LD_LIBRARY_PATH: Lambda sets LD_LIBRARY_PATH=/lib64:/usr/lib64:...:/opt/lib, and Amazon Linux's libraries
# must never be mixed with the layer's glibc. The bootstrap runs on the layer's loader too, so the layer does
# not depend on the OS at all (it runs in an empty root; its own glibc <= 2.26 need keeps it portable anyway).
for exe in "$O/bin/php" "$O/bin/php-fpm" "$O/bootstrap"; do
  patchelf --set-interpreter "/opt/lib/$LDSO" --force-rpath --set-rpath /opt/lib "$exe"
done
for so in "$O"/lib/php/extensions/*.so "$O"/lib/*.so*; do
  case "$so" in */$LDSO|*/libc.so.6) continue ;; esac
  # dlopen()ed extensions always; libraries only when Debian gave them a RUNPATH of their own, which would
  # otherwise switch off the executable's RPATH for their dependencies.
  if [[ $so == */extensions/* ]] || elftool has-search-path "$so"; then
    patchelf --force-rpath --set-rpath /opt/lib "$so"
  fi
done

# ini files and php-fpm.conf from the repo (owned by the bootstrap), then the layer's own conf.d.
cp -r "$REPO"/php-ini/. "$O/php-ini/"
cp -r "$REPO"/fpm-config/. "$O/fpm-config/"
mkdir -p "$O/php-ini/conf.d"
{
  echo "; Written by layer-build/build.sh: where this layer keeps its extensions and CA bundle."
  echo "extension_dir=/opt/lib/php/extensions"
  echo "openssl.cafile=/opt/ssl/certs/ca-certificates.crt"
  echo "curl.cainfo=/opt/ssl/certs/ca-certificates.crt"
  echo
  echo "; Enabled extensions. Also shipped but off (enable in /var/task/php/conf.d/*.ini):"
  echo ";   $(cd "$O/lib/php/extensions" && ls *.so | sed 's/\.so$//' | grep -vxF -f <(echo $ENABLED | tr ' ' '\n') | paste -sd' ')"
  echo ";   (redis needs igbinary first: extension=igbinary then extension=redis)"
  for ext in $ENABLED; do
    if [ "$ext" = opcache ]; then echo "zend_extension=opcache"; else echo "extension=$ext"; fi
  done
} > "$O/php-ini/conf.d/00-layer.ini"

# The PHP glue for events that are not HTTP requests (docs/events.md): /opt/lambda-fpm/php.
mkdir -p "$O/lambda-fpm"
cp -r "$REPO/layer-build/php" "$O/lambda-fpm/php"

mkdir -p "$O/share/lambda-fpm"
# What the layer was built from ("package version architecture"), for audits and security advisories.
sed 's/Package: //; s/ Version: / /; s/ Architecture: / /' "$CACHE/packages.txt" > "$O/share/lambda-fpm/debian-packages.txt"

chmod -R u+rwX,go+rX,go-w "$O"

# ---------------------------------------------------------------------------------------------------------
# 4. Smoke check: PHP starts from the layer alone and has every required extension (skipped for a foreign
#    architecture without qemu, and without bwrap; layer-build/test-layer.sh does the real checks).
if command -v bwrap > /dev/null; then
  EMU=()                                   # how to run a target binary on this host
  if [ "$ELFARCH" != "$(uname -m)" ]; then
    QEMU=$(command -v "qemu-$ELFARCH-static" || true)
    # no binfmt_misc needed: qemu-user is called explicitly and finds /opt/lib/$LDSO in the sandbox
    [ -n "$QEMU" ] && EMU=(--ro-bind "$QEMU" /qemu /qemu)
  fi
  if [ "$ELFARCH" = "$(uname -m)" ] || [ ${#EMU[@]} -gt 0 ]; then
    ARGS=(--ro-bind "$O" /opt --tmpfs /tmp --proc /proc --dev /dev --unshare-all --clearenv)
    if [ ${#EMU[@]} -gt 0 ]; then ARGS+=("${EMU[@]}"); else ARGS+=(--); fi
    MODULES=$(bwrap "${ARGS[@]}" /opt/bin/php -n -c /opt/php-ini/conf.d/00-layer.ini -m)
    missing=""
    for m in $REQUIRED; do grep -qx "$m" <<< "$MODULES" || missing="$missing $m"; done
    [ -z "$missing" ] || { echo "php -m in the layer lacks:$missing" >&2; echo "$MODULES" >&2; exit 1; }
    log "php -m: all $(echo $REQUIRED | wc -w) required extensions present"
  fi
fi

# ---------------------------------------------------------------------------------------------------------
# 5. Zip, reproducibly (sorted entries, fixed timestamps, no extra attributes). Default compression: -9
#    takes three times as long for 0.5 % less.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
find "$O" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -f "$ZIP"
(cd "$O" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort | zip -q -X "$ZIP" -@)

UNZIPPED=$(du -sb "$O" | cut -f1)
ZIPPED=$(stat -c %s "$ZIP")
[ "$UNZIPPED" -lt $((250 * 1024 * 1024)) ] || { echo "layer is $UNZIPPED bytes unzipped: over Lambda's 250 MB" >&2; exit 1; }
log "$ZIP: $((ZIPPED / 1024 / 1024)) MB zipped ($ZIPPED bytes), $((UNZIPPED / 1024 / 1024)) MB unzipped ($UNZIPPED bytes)"

# ---------------------------------------------------------------------------------------------------------
# 6. The same runtime as an OCI image (a directory in the OCI image layout, no Docker): /opt as above plus an
#    app under /var/task, /opt/bootstrap as the entrypoint. The app is what examples/hello deploys (its
#    public/ and php/), or LAYER_IMAGE_APP with LAYER_IMAGE_HANDLER; LAYER_IMAGE=0 skips the image.
if [ "${LAYER_IMAGE:-1}" != 0 ]; then
  IMAGE=$OUT/$NAME-image
  APP=${LAYER_IMAGE_APP:-}
  if [ -z "$APP" ]; then
    APP=$STAGE/image-app
    mkdir -p "$APP"
    for d in public php; do [ ! -d "$REPO/examples/hello/$d" ] || cp -r "$REPO/examples/hello/$d" "$APP/"; done
  fi
  python3 "$HERE/oci_image.py" --runtime "$O" --app "$APP" --handler "${LAYER_IMAGE_HANDLER:-public/index.php}" \
    --out "$IMAGE" >&2
  log "$IMAGE: OCI image, $(du -sb "$IMAGE" | cut -f1) bytes"
fi
echo "$ZIP"
