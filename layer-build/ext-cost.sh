#!/usr/bin/env bash
# Measures what each PHP extension of a layer costs at start: spawn -> first response of /opt/bootstrap in
# the empty root of test-layer.sh (bubblewrap, uid 65534, fresh /tmp, a local Runtime API), with nothing
# but PHP's built-ins, then with each extension (and what it depends on) added, then with whole sets.
#
#   layer-build/ext-cost.sh LAYER.zip [RUNS]         RUNS (default 15) cold starts per set
#   EXT_SETS="name:ext1,ext2 name2:..." layer-build/ext-cost.sh ...   also measure these sets
#   CPU_RUNS (default 30): CLI starts per configuration for the per-extension CPU cost
#
# The configurations take turns (one run of each, N times over), so a burst of load from elsewhere on the
# machine spreads over all of them instead of skewing one. Prints two Markdown tables: each extension's
# CPU cost at start (the median CPU time of a PHP start with it, minus that without it), and for whole sets
# (nothing, the layer's default, EXT_SETS) the median spawn -> first response of the bootstrap. Results also
# go to target/layer/ext-cost-NAME.json.
# Needs what test-layer.sh needs (bubblewrap, setpriv, unzip, python3, binutils).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 LAYER.zip [RUNS]" >&2; exit 2; }
ZIP=$(realpath "$1")
RUNS=${2:-15}
CPU_RUNS=${CPU_RUNS:-30}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
for tool in bwrap setpriv unzip python3 readelf; do
  command -v "$tool" > /dev/null || { echo "ext-cost: $tool is missing (see layer-build/ci.sh for the packages)" >&2; exit 1; }
done

. "$HERE/sandbox.sh"
sandbox_workdir
sandbox_unpack "$ZIP"
# The test app's page, without its php/conf.d (which enables optional extensions for test-layer.sh).
mkdir -p "$WORK/task"
cp -r "$HERE/test-app/public" "$WORK/task/"
chmod -R a+rX "$WORK/task"
sandbox_init "$OPT"
[ "$SANDBOX_EMULATION" = none ] || { echo "ext-cost: measure a layer of this host's architecture" >&2; exit 1; }

INI=$OPT/php-ini/conf.d/00-layer.ini
cp "$INI" "$WORK/layer.ini"
# What every configuration keeps: extension_dir and the CA bundle settings, no extension.
grep -vE '^(zend_)?extension=' "$WORK/layer.ini" > "$WORK/base.ini"
LAYER_DEFAULT=$(grep -oP '^(zend_)?extension=\K\S+' "$WORK/layer.ini" | paste -sd,)

# The configurations, one per line: NAME BASE EXTS (BASE: the configuration whose time is subtracted).
python3 - "$OPT/lib/php/extensions" "$LAYER_DEFAULT" "${EXT_SETS:-}" > "$WORK/configs.txt" <<'EOF'
import os, sys
shipped = sorted(f[:-3] for f in os.listdir(sys.argv[1]) if f.endswith(".so"))
# What an extension needs loaded before it (PHP refuses to start it otherwise).
deps = {"pdo_mysql": ["pdo", "mysqlnd"], "pdo_pgsql": ["pdo"], "pdo_sqlite": ["pdo"], "mysqli": ["mysqlnd"],
        "xsl": ["dom"], "redis": ["igbinary"], "xmlreader": ["dom"]}
lines = {"none": ("-", [])}
for ext in shipped:
    d = [x for x in deps.get(ext, []) if x in shipped]
    base = "+".join(d) if d else "none"
    if d and base not in lines:
        lines[base] = ("none", d)
    lines[ext] = (base, d + [ext])
lines["layer-default"] = ("none", sys.argv[2].split(","))
for spec in sys.argv[3].split():
    name, exts = spec.split(":", 1)
    lines[name] = ("none", exts.split(","))
for name, (base, exts) in lines.items():
    print(name, base, ",".join(exts) or "-")
EOF

# One HTTP API v2 event for the test app's HTML page.
python3 - "$WORK/one.json" <<'EOF'
import json, sys
json.dump([{"version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
            "headers": {"host": "x.example.com"},
            "requestContext": {"http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4"},
                               "domainName": "x.example.com", "requestId": "r"},
            "isBase64Encoded": False}], open(sys.argv[1], "w"))
EOF

write_ini() {   # write_ini EXT,EXT,... : the layer's ini with exactly these extensions
  cp "$WORK/base.ini" "$INI"
  local ext
  for ext in ${1//,/ }; do
    [ "$ext" = - ] && continue
    if [ "$ext" = opcache ]; then echo "zend_extension=opcache"; else echo "extension=$ext"; fi
  done >> "$INI"
}

# Each configuration must start cleanly: every extension listed by the CLI, no warning.
while read -r name base exts; do
  write_ini "$exts"
  sandbox_argv "$WORK/task" "$(fresh_tmp)" --setenv PHP_INI_SCAN_DIR /opt/php-ini/conf.d
  out=$("${SB[@]}" /opt/bin/php -c /opt/php-ini/php.ini -m 2>&1 || true)
  if grep -qiE 'warning|error' <<< "$out"; then
    echo "ext-cost: configuration $name ($exts) does not start cleanly:" >&2
    grep -iE 'warning|error' <<< "$out" | head -3 >&2
    exit 1
  fi
done < "$WORK/configs.txt"
echo "ext-cost: $(wc -l < "$WORK/configs.txt") configurations x $RUNS runs" >&2

# 1. What each extension costs: the CPU time (user + system) the PHP CLI has used when its script starts,
#    with exactly that configuration: loading the extensions and their libraries, their start-up and request
#    hooks, as in php-fpm's master and worker. CPU time, unlike the wall clock, hardly moves when other
#    processes compete for the CPUs, which on a shared machine decides whether a 1 ms difference can be
#    seen at all.
sandbox_argv "$WORK/task" "$(fresh_tmp)" --setenv PHP_INI_SCAN_DIR /opt/php-ini/conf.d --setenv LAMBDA_FPM_TMP /tmp \
  --setenv LAMBDA_FPM_OPCACHE_REVALIDATE 0
python3 - "$WORK/configs.txt" "$INI" "$WORK/base.ini" "$CPU_RUNS" "$WORK/cpu.json" "${SB[@]}" <<'EOF'
import json, subprocess, sys
# PHP's own CPU time when the script starts: loading the extensions, their start-up and request hooks.
CPU_SO_FAR = ('$r = getrusage(); echo $r["ru_utime.tv_sec"] * 1e6 + $r["ru_utime.tv_usec"]'
              ' + $r["ru_stime.tv_sec"] * 1e6 + $r["ru_stime.tv_usec"];')
configs, ini, base, runs, out, sb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6:]
configs = [l.split() for l in open(configs)]
base = open(base).read()
cpu = {name: [] for name, _, _ in configs}
for r in range(runs):
    for name, _, exts in configs:
        with open(ini, "w") as f:
            f.write(base + "".join(("zend_extension=opcache\n" if e == "opcache" else f"extension={e}\n")
                                   for e in exts.split(",") if e != "-"))
        used = subprocess.run(sb + ["/opt/bin/php", "-c", "/opt/php-ini/php.ini", "-r", CPU_SO_FAR],
                              check=True, capture_output=True, text=True).stdout
        cpu[name].append(float(used) / 1000)
json.dump(cpu, open(out, "w"))
EOF
echo "ext-cost: CPU time measured ($CPU_RUNS runs of each configuration)" >&2

# 2. The wall clock for whole sets: spawn -> first response of /opt/bootstrap, RUNS cold starts each.
mkdir -p "$WORK/runs"
grep -E '^(none|layer-default) ' "$WORK/configs.txt" > "$WORK/sets.txt"
for spec in ${EXT_SETS:-}; do grep "^${spec%%:*} " "$WORK/configs.txt" >> "$WORK/sets.txt"; done
for round in $(seq "$RUNS"); do
  while read -r name base exts; do
    write_ini "$exts"
    sandbox_argv "$WORK/task" "$(fresh_tmp)" --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@
    python3 "$HERE/runtime_api.py" --events "$WORK/one.json" --out "$WORK/runs/$name.$round.json" --timeout 30 -- \
      "${SB[@]}" /opt/bootstrap > /dev/null 2>&1 || echo "ext-cost: $name run $round failed" >&2
  done < "$WORK/sets.txt"
done
echo "ext-cost: $RUNS cold starts of each set measured" >&2

mkdir -p "$REPO/target/layer"
python3 - "$WORK" "$RUNS" "$REPO/target/layer/ext-cost-$(basename "$ZIP" .zip).json" <<'EOF'
import json, os, statistics, subprocess, sys
work, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
configs = [l.split() for l in open(f"{work}/configs.txt")]
sets = [l.split()[0] for l in open(f"{work}/sets.txt")]
cpu = json.load(open(f"{work}/cpu.json"))
opt = f"{work}/opt"
med = statistics.median

def needed(path):
    text = subprocess.run(["readelf", "-dW", path], capture_output=True, text=True).stdout
    return [l.split("[", 1)[1].rstrip("]") for l in text.splitlines() if "(NEEDED)" in l]

def closure(paths):
    seen, todo = set(), list(paths)
    while todo:
        for name in needed(todo.pop()):
            if name not in seen and os.path.exists(f"{opt}/lib/{name}"):
                seen.add(name)
                todo.append(f"{opt}/lib/{name}")
    return seen

php_libs = closure([f"{opt}/bin/php-fpm"])
result = {}
for name, base, exts in configs:
    sos = [f"{opt}/lib/php/extensions/{e}.so" for e in exts.split(",") if e != "-"]
    wall = []
    for r in range(1, runs + 1):
        try:
            t = json.load(open(f"{work}/runs/{name}.{r}.json"))["cold_start"]["spawn_to_first_response_ms"]
            if t is not None:
                wall.append(t)
        except (OSError, ValueError, KeyError):
            pass
    result[name] = {"base": base, "extensions": [] if exts == "-" else exts.split(","),
                    "cpu_ms": cpu[name], "cpu_median_ms": med(cpu[name]),
                    "wall_ms": wall, "wall_median_ms": med(wall) if wall else None,
                    "libraries": sorted(closure(sos) - php_libs) if sos else []}
json.dump(result, open(out, "w"), indent=1)

print("| configuration | extensions loaded | libraries beyond php-fpm's | CPU ms, median | cost over its base, CPU ms |")
print("|---|---|--:|--:|--:|")
rows = [(n, b, e) for n, b, e in configs if n not in sets or n == "none"]
rows.sort(key=lambda c: -(result[c[0]]["cpu_median_ms"] - (result[c[1]]["cpu_median_ms"] if c[1] != "-" else 0)))
for name, base, exts in rows:
    r = result[name]
    cost = "" if base == "-" else f"{r['cpu_median_ms'] - result[base]['cpu_median_ms']:+.1f} (over {base})"
    print(f"| {name} | {exts} | {len(r['libraries'])} | {r['cpu_median_ms']:.1f} | {cost} |")
print()
print("| set | extensions | CPU ms (CLI start), median | spawn -> first response, median (min-max) |")
print("|---|--:|--:|--:|")
for name in sets:
    r = result[name]
    w = r["wall_ms"]
    wall = f"{med(w):.1f} ms ({min(w):.0f}-{max(w):.0f}, {len(w)} runs)" if w else "failed"
    print(f"| {name} | {len(r['extensions'])} | {r['cpu_median_ms']:.1f} | {wall} |")
print(f"\n(results: {out})")
EOF
