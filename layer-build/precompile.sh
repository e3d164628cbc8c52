#!/usr/bin/env bash
# Precompiles an app for the lambda-fpm layer: runs the app's own build-time cache commands and warms
# opcache into a file cache that ships inside the app (APP/.opcache), both in the layer's empty root with the
# app at /var/task, exactly where Lambda puts it. At run time the bootstrap links that cache into
# $TMPDIR/opcache, so php-fpm loads the compiled scripts instead of compiling them (docs/layer.md).
#
#   layer-build/precompile.sh LAYER.zip|OPT_DIR APP_DIR [options]
#     --php 'ARGS'       run `php ARGS` in the app first, with the app writable (the framework's cache step,
#                        e.g. --php 'artisan config:cache' or --php 'bin/console cache:warmup'); repeatable
#     --env NAME=VALUE   environment for those commands and the warm-up requests (APP_ENV, APP_KEY...)
#     --symfony          Symfony's build step: var/cache/prod emptied, then bin/console cache:warmup (the
#                        kernel's getBuildDir() must return var/cache/prod when it exists: docs/layer.md)
#     --laravel          Laravel's: artisan config:cache, route:cache, view:cache (into the app's
#                        storage/framework/views, VIEW_COMPILED_PATH) and event:cache, in bootstrap/cache
#     --warm PATH        request PATH through /opt/bootstrap with the app read-only, as on Lambda; repeatable,
#                        default /. Every script these requests run is compiled into the cache.
#     --all              also compile every other .php file of the app (a larger cache, no compile at all
#                        for pages the warm-up did not visit)
#     --handler FILE     the front controller (_HANDLER), default public/index.php
#
# Why inside the layer's root: opcache's file cache is keyed by the scripts' absolute paths and by a system id
# of the PHP build and its hooks, so it must come from the very PHP binary that will read it (the layer's),
# with the app at /var/task. Framework caches embed absolute paths as well.
# Needs bubblewrap, unzip, python3; runs as the owner of APP_DIR (as root it may write a root-owned app).
set -euo pipefail

usage() { sed -n '7,20p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
LAYER=$(realpath "$1")
APP=$(realpath "$2")
shift 2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PHP_RUNS=() ENVS=() WARM=() ALL=0 HANDLER=public/index.php FRAMEWORK=
while [ $# -gt 0 ]; do
  case "$1" in
    --php) PHP_RUNS+=("$2"); shift 2 ;;
    --symfony | --laravel) FRAMEWORK=${1#--}; shift ;;
    --env) [[ $2 == *=* ]] || usage; ENVS+=(--setenv "${2%%=*}" "${2#*=}"); shift 2 ;;
    --warm) WARM+=("$2"); shift 2 ;;
    --all) ALL=1; shift ;;
    --handler) HANDLER=$2; shift 2 ;;
    *) usage ;;
  esac
done
[ ${#WARM[@]} -gt 0 ] || WARM=(/)
[ -f "$APP/$HANDLER" ] || { echo "precompile: $APP has no $HANDLER (--handler)" >&2; exit 1; }
for tool in bwrap python3; do
  command -v "$tool" > /dev/null || { echo "precompile: $tool is missing (apt-get install bubblewrap python3)" >&2; exit 1; }
done

. "$HERE/sandbox.sh"
sandbox_workdir
sandbox_unpack "$LAYER"
sandbox_init "$OPT"
SANDBOX_USER=self          # the app's owner writes the caches into it
SANDBOX_HANDLER=$HANDLER
log() { echo "[precompile] $*" >&2; }

# What the bootstrap gives php-fpm, for the CLI: php.ini with its ${LAMBDA_FPM_*} values, the layer's and the
# app's conf.d (so the same extensions load: they are part of opcache's system id), TMPDIR.
CLI_ENV=(--setenv PHP_INI_SCAN_DIR /opt/php-ini/conf.d:/var/task/php/conf.d --setenv LAMBDA_FPM_TMP /tmp
  --setenv LAMBDA_FPM_OPCACHE_REVALIDATE 0 --setenv TMPDIR /tmp)

rm -rf "$APP/.opcache"
# The framework's build step, before the app's own --php commands. Everything it writes is read from the
# read-only task root at run time, never written again there (docs/layer.md, "Precompiled apps").
case "$FRAMEWORK" in
  symfony)
    # A container left from an earlier build would be taken as fresh (prod never checks): start empty.
    rm -rf "$APP/var/cache/prod"
    mkdir -p "$APP/var/cache/prod"
    PHP_RUNS=("bin/console cache:warmup" "${PHP_RUNS[@]}")
    ;;
  laravel)
    mkdir -p "$APP/bootstrap/cache" "$APP/storage/framework/views"
    # config:cache freezes the compiled views' path into bootstrap/cache/config.php.
    ENVS=(--setenv VIEW_COMPILED_PATH /var/task/storage/framework/views "${ENVS[@]}")
    PHP_RUNS=("artisan config:cache" "artisan route:cache" "artisan view:cache" "artisan event:cache" "${PHP_RUNS[@]}")
    ;;
esac
# opcache leaves out files modified in the last 2 seconds (opcache.file_update_protection), which would
# skip what the commands write (Symfony's container) or a freshly copied app; and Laravel takes a compiled
# view for stale unless it is newer than its source, which a zip stores to 2 s: everything built here is
# made more than 2 s after the newest file of the app.
quiet() {
  local newest
  newest=$(find "$APP" -type f -printf '%T@\n' | sort -n | tail -1)
  python3 -c 'import sys, time; time.sleep(max(0.0, float(sys.argv[1]) + 2.5 - time.time()))' "${newest:-0}"
}
[ ${#PHP_RUNS[@]} = 0 ] || quiet
for args in "${PHP_RUNS[@]}"; do
  log "php $args"
  SANDBOX_TASK_BIND=--bind sandbox_argv "$APP" "$(fresh_tmp)" "${CLI_ENV[@]}" "${ENVS[@]}"
  # word splitting of ARGS is intended: it is a command line
  # shellcheck disable=SC2086
  "${SB[@]}" /opt/bin/php -c /opt/php-ini/php.ini $args >&2 || { log "php $args failed"; exit 1; }
done

quiet

# The warm-up: the bootstrap and php-fpm as on Lambda (app read-only), writing opcache's file cache to /tmp.
TMP=$(fresh_tmp)
python3 - "$WORK/warm.json" "${WARM[@]}" <<'EOF'
import json, sys
def v2(target):
    path, _, query = target.partition("?")
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"host": "localhost", "accept": "text/html"},
            "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                               "domainName": "localhost", "requestId": "precompile"}, "isBase64Encoded": False}
json.dump([v2(t) for t in sys.argv[2:]], open(sys.argv[1], "w"))
EOF
sandbox_argv "$APP" "$TMP" "${ENVS[@]}" --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@
python3 "$HERE/runtime_api.py" --events "$WORK/warm.json" --out "$WORK/warm-run.json" --timeout 120 -- \
  "${SB[@]}" /opt/bootstrap > "$WORK/warm.log" 2>&1 || { tail -20 "$WORK/warm.log" >&2; log "the warm-up failed"; exit 1; }
python3 - "$WORK/warm-run.json" "${WARM[@]}" <<'EOF' >&2
import json, sys
run = json.load(open(sys.argv[1]))
for target, r in zip(sys.argv[2:], run["results"]):
    status = json.loads(r["body"]).get("statusCode") if r["status"] == "response" else "error"
    print(f"[precompile] warm-up {target}: {status}, {r['ms']:.0f} ms")
    if status == "error" or status >= 500:
        sys.exit(f"[precompile] {target} failed: {r['body'][:500]}")
EOF

# What the app still builds at run time: files its warm-up wrote to /tmp besides opcache's cache and sessions.
written=$(cd "$TMP" && find . -type f ! -path './opcache/*' ! -path './lambda-fpm-*' ! -name 'sess_*' | sed 's|^\./|/tmp/|' | sort)
if [ -n "$written" ]; then
  log "the warm-up wrote $(wc -l <<< "$written") files to /tmp (built at run time on Lambda too):"
  head -20 <<< "$written" | sed 's/^/[precompile]   /' >&2
fi

CACHE=$TMP/opcache
ids=$(cd "$CACHE" && ls)
[ "$(wc -w <<< "$ids")" = 1 ] || { log "expected one opcache system id in $CACHE, found: $ids"; exit 1; }

if [ "$ALL" = 1 ]; then
  # The rest of the app, compiled by the CLI straight into the same file cache (same PHP build, same
  # extensions, so the same system id: checked below). Files that do not compile on this PHP are skipped.
  sandbox_argv "$APP" "$TMP" "${CLI_ENV[@]}" "${ENVS[@]}"
  "${SB[@]}" /opt/bin/php -c /opt/php-ini/php.ini -d opcache.enable_cli=1 -d opcache.file_cache_only=1 \
    -d opcache.file_update_protection=0 -d error_reporting=0 -r '
    $cache = "/tmp/opcache/" . $argv[1];
    $done = $failed = 0;
    $files = new RecursiveIteratorIterator(new RecursiveDirectoryIterator("/var/task", FilesystemIterator::SKIP_DOTS));
    foreach ($files as $f) {
        $path = $f->getPathname();
        if (substr($path, -4) !== ".php" || str_starts_with($path, "/var/task/.") || is_file("$cache$path.bin")) continue;
        try { opcache_compile_file($path) ? $done++ : $failed++; } catch (Throwable $e) { $failed++; }
    }
    fwrite(STDERR, "[precompile] --all: $done more files compiled, $failed skipped (they do not compile on PHP " . PHP_VERSION . ")\n");' \
    "$ids"
  [ "$(cd "$CACHE" && ls)" = "$ids" ] || { log "the CLI wrote another system id than php-fpm: $(cd "$CACHE" && ls)"; exit 1; }
fi

[ -d "$CACHE/$ids/var/task" ] || { log "php-fpm cached nothing under /var/task (is opcache on?)"; exit 1; }
mkdir -p "$APP/.opcache/$ids/var"
mv "$CACHE/$ids/var/task" "$APP/.opcache/$ids/var/task"
chmod -R a+rX,go-w "$APP/.opcache"
log "$APP/.opcache: $(find "$APP/.opcache" -type f | wc -l) scripts, $(du -sh "$APP/.opcache" | cut -f1) (system id $ids)"
