#!/usr/bin/env bash
# The first full page of the app suite's Laravel and Symfony apps on a cold layer, with and without
# layer-build/precompile.sh: spawn of /opt/bootstrap -> its response to GET / in the empty root of
# test-layer.sh (read-only /var/task, a fresh /tmp each run), then the same page warm.
#
#   layer-build/cold-apps.sh LAYER.zip [APPS_DIR]      APPS_DIR: tests/apps/install.sh's (target/apps)
#   RUNS=7 (cold starts per variant), WARM=20 (warm requests after each cold one)
#   INI='NAME:SETTING ...' adds, per app, a variant NAME: the precompiled app with SETTING in its
#     php/conf.d (e.g. INI='fileonly:opcache.file_cache_only=1'); ONLY='laravel-precompiled ...'
#     runs only those variants
#
# Prints a Markdown table; exits non-zero when a page is not a 200 with the app's title, or when a variant
# with the framework's caches prebuilt wrote anything else than its data to /tmp. The apps are
# copied, never changed; the precompiled copies run the framework's build step first (precompile.sh
# --symfony: the container, Twig's templates and the router with cache:warmup; --laravel: config, routes,
# views and events cached), then the opcache warm-up of GET /.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 LAYER.zip [APPS_DIR]" >&2; exit 2; }
LAYER=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
APPS=$(realpath "${2:-$REPO/target/apps}")
RUNS=${RUNS:-7}
WARM=${WARM:-20}
for app in laravel symfony; do
  [ -f "$APPS/$app/public/index.php" ] || { echo "cold-apps: no $app in $APPS: run tests/apps/install.sh" >&2; exit 1; }
done

. "$HERE/sandbox.sh"
sandbox_workdir
sandbox_unpack "$LAYER"
sandbox_init "$OPT"

# The apps' environment, as tests/apps/catalog.rs gives it.
LARAVEL_ENV=(--env APP_KEY=base64:bGFtYmRhLWZwbSBhcHAgc3VpdGUga2V5IDMyYnl0ZXM=)
SYMFONY_ENV=(--env APP_ENV=prod --env APP_SECRET=lambda-fpm-app-suite)
env_args() {   # --env K=V ... -> --setenv K V ...
  local out=() a
  while [ $# -gt 0 ]; do a=$2; out+=(--setenv "${a%%=*}" "${a#*=}"); shift 2; done
  echo "${out[@]}"
}

python3 - "$WORK/events.json" "$WARM" <<'EOF'
import json, sys
def v2(path):
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": {"host": "x.example.com", "accept": "text/html"},
            "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4"},
                               "domainName": "x.example.com", "requestId": "r"}, "isBase64Encoded": False}
json.dump([v2("/")] * (1 + int(sys.argv[2])), open(sys.argv[1], "w"))
EOF

for app in laravel symfony; do
  cp -a "$APPS/$app" "$WORK/$app-plain"
done
# What the layer leaves off and an app needs is one line in its php/conf.d, as for any user: Debian's
# Symfony has no polyfill for intl's Normalizer (its String component, used by the console, needs it).
echo "extension=intl" > "$WORK/symfony-plain/php/conf.d/extensions.ini"
for app in laravel symfony; do
  cp -a "$WORK/$app-plain" "$WORK/$app-precompiled"
done
[ ! -d "$WORK/symfony-precompiled/var" ] || { echo "cold-apps: $APPS/symfony already has var/" >&2; exit 1; }
[ ! -d "$WORK/laravel-precompiled/storage" ] || { echo "cold-apps: $APPS/laravel already has storage/" >&2; exit 1; }
"$HERE/precompile.sh" "$OPT" "$WORK/symfony-precompiled" "${SYMFONY_ENV[@]}" --symfony
"$HERE/precompile.sh" "$OPT" "$WORK/laravel-precompiled" "${LARAVEL_ENV[@]}" --laravel
# The framework's caches alone (opcache compiles everything at the first request, as without precompiling).
for app in laravel symfony; do
  cp -a "$WORK/$app-precompiled" "$WORK/$app-framework"
  rm -rf "$WORK/$app-framework/.opcache"
done
VARIANTS="laravel-plain laravel-framework laravel-precompiled laravel-copied symfony-plain symfony-framework
symfony-precompiled symfony-copied"
# Variants of the precompiled apps with one more php.ini setting.
for spec in ${INI:-}; do
  name=${spec%%:*}
  for app in laravel symfony; do
    cp -a "$WORK/$app-precompiled" "$WORK/$app-$name"
    echo "${spec#*:}" > "$WORK/$app-$name/php/conf.d/zz-$name.ini"
    VARIANTS="$VARIANTS $app-$name"
  done
done
VARIANTS=${ONLY:-$VARIANTS}
chmod -R a+rX "$WORK"/*-*

mkdir -p "$WORK/runs"
for i in $(seq "$RUNS"); do
  for variant in $VARIANTS; do
    if [[ $variant == laravel* ]]; then envs=$(env_args "${LARAVEL_ENV[@]}"); else envs=$(env_args "${SYMFONY_ENV[@]}"); fi
    tmp=$(fresh_tmp)
    dir=$WORK/$variant
    if [[ $variant == *-copied ]]; then
      # What copying the cache into /tmp at init would cost instead of the link: the copy is made here,
      # timed, and added to the spawn -> first page of a run that then reads the copy (the bootstrap leaves
      # an existing $TMPDIR/opcache/<id>/var/task alone).
      dir=${dir%-copied}-precompiled
      t0=$(date +%s%N)
      cp -r "$dir/.opcache" "$tmp/opcache"
      echo $(( ($(date +%s%N) - t0) / 1000 )) > "$WORK/runs/$variant.$i.copy_us"
      chown -R 65534:65534 "$tmp/opcache"
    fi
    # shellcheck disable=SC2086
    sandbox_argv "$dir" "$tmp" $envs --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@
    python3 "$HERE/runtime_api.py" --cpu --events "$WORK/events.json" --out "$WORK/runs/$variant.$i.json" --timeout 60 -- \
      "${SB[@]}" /opt/bootstrap > "$WORK/runs/$variant.$i.log" 2>&1 || { tail "$WORK/runs/$variant.$i.log" >&2; exit 1; }
    # With the framework's caches prebuilt, the pages write nothing to /tmp but opcache's file cache, the
    # runtime's own files and the apps' data (sessions, Laravel's SQLite file): a compiled template, view or
    # router dump there means precompile.sh missed it.
    if [[ $variant != *-plain ]]; then
      (cd "$tmp" && find . -type f ! -path './opcache/*' ! -path './lambda-fpm-*' ! -path './sessions/*' \
        ! -path './laravel/storage/framework/sessions/*' ! -path './laravel/database.sqlite') \
        | sed "s|^\\./|$variant run $i wrote /tmp/|" >> "$WORK/runs/written"
    fi
  done
done

touch "$WORK/runs/written"
python3 - "$WORK/runs" "$RUNS" "$(basename "$LAYER")" "$VARIANTS" "${INI:-}" <<'EOF'
import json, statistics, sys
runs_dir, n, layer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
titles = {"laravel": "Laravel on lambda-fpm", "symfony": "Symfony on lambda-fpm"}
med = statistics.median
bad = []
print(f"| app ({layer}) | spawn -> first /next (php-fpm ready) | spawn -> first page | first page's own time | warm page | goal: ready + 3 x warm | met | CPU: ready | CPU: first page's own | CPU: warm page | met (CPU) |")
print("|---|--:|--:|--:|--:|--:|---|--:|--:|--:|---|")
names = {"plain": "nothing prebuilt", "framework": "framework caches only",
         "precompiled": "framework caches + opcache file cache, linked", "copied": "same, cache copied into /tmp"}
ini = dict(spec.split(":", 1) for spec in sys.argv[5].split())
for variant in sys.argv[4].split():
    nxt, first, own, warm, cpu_ready, cpu_own, cpu_warm = [], [], [], [], [], [], []
    for i in range(1, n + 1):
        run = json.load(open(f"{runs_dir}/{variant}.{i}.json"))
        try:
            copy_ms = int(open(f"{runs_dir}/{variant}.{i}.copy_us").read()) / 1000
        except OSError:
            copy_ms = 0
        run["cold_start"]["spawn_to_first_response_ms"] += copy_ms
        run["cold_start"]["spawn_to_first_next_ms"] += copy_ms
        for r in run["results"]:
            page = json.loads(r["body"]) if r["status"] == "response" else {}
            if page.get("statusCode") != 200 or titles[variant.split("-")[0]] not in page.get("body", ""):
                bad.append(f"{variant} run {i} event {r['event']}: {r['body'][:200]}")
        nxt.append(run["cold_start"]["spawn_to_first_next_ms"])
        first.append(run["cold_start"]["spawn_to_first_response_ms"])
        own.append(run["results"][0]["ms"])
        warm.append(med([r["ms"] for r in run["results"][1:]]))
        # CPU time of the whole process tree (runtime_api.py --cpu): at ready, after each page.
        cpu = [run["cpu_at_first_next_ms"]] + [r["cpu_ms"] for r in run["results"]]
        cpu_ready.append(cpu[0])
        cpu_own.append(cpu[1] - cpu[0])
        cpu_warm.append(med([b - a for a, b in zip(cpu[1:], cpu[2:])]))
    goal = med(nxt) + 3 * med(warm)
    app, how = variant.split("-")
    what = names.get(how) or f"precompiled + {ini[how]}"
    print(f"| {app}, {what} | {med(nxt):.0f} ms | **{med(first):.0f} ms** ({min(first):.0f}-{max(first):.0f}) |"
          f" {med(own):.0f} ms | {med(warm):.1f} ms | {goal:.0f} ms | {'yes' if med(first) <= goal else 'no'} |"
          f" {med(cpu_ready):.0f} ms | {med(cpu_own):.0f} ms | {med(cpu_warm):.1f} ms |"
          f" {'yes' if med(cpu_own) <= 3 * med(cpu_warm) else 'no'} |")
print(f"\n(median of {n} cold starts each; warm page: median of the requests after the first in each run; CPU: on-CPU"
      " time of the sandbox's whole process tree, the first page's own = after it minus at ready, met (CPU) ="
      " first page's own CPU within 3 warm pages' CPU)")
bad += open(f"{runs_dir}/written").read().splitlines()
if bad:
    print("\n".join(bad[:5]), file=sys.stderr)
    sys.exit(1)
EOF
