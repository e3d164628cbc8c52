#!/usr/bin/env bash
# Runs every cargo-fuzz target of lambda-fpm for SECONDS each (default 600), one after the other, pinned to
# the last CPU. The committed seed corpora (fuzz/corpus/<target>/) are read; new inputs go to
# target/fuzz-corpus/<target>/ (so the repo's corpus stays small; `MERGE=1` adds the inputs that bring new
# coverage back into the committed corpus with libFuzzer's -merge=1). Stable Rust is enough: RUSTC_BOOTSTRAP=1 unlocks the
# sanitizer flags cargo-fuzz needs. Installs cargo-fuzz when it is missing.
#
#   fuzz/run.sh            # 4 targets x 10 minutes
#   fuzz/run.sh 60         # a quick pass
#   TARGETS="router cgi" fuzz/run.sh 120
#
# Each run's libFuzzer output goes to target/fuzz-logs/<target>.log; the summary line (executions, cov,
# ft = features, crashes) is printed at the end. A crash leaves its input in fuzz/artifacts/.
set -euo pipefail
SECONDS_EACH="${1:-600}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TARGETS="${TARGETS:-events cgi fastcgi_records router}"
CPU="${FUZZ_CPU:-$(( $(nproc) - 1 ))}"
LOGS="$ROOT/target/fuzz-logs"
mkdir -p "$LOGS"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install)"
  cargo install --locked cargo-fuzz
fi
command -v taskset >/dev/null || { echo "fuzz/run.sh: taskset (util-linux) is missing" >&2; exit 1; }
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$ROOT/target/fuzz"
status=0
for t in $TARGETS; do
  mkdir -p "fuzz/corpus/$t" "$ROOT/target/fuzz-corpus/$t"
  case "$t" in
    fastcgi_records) max_len=131072 ;;
    events) max_len=65536 ;;
    *) max_len=8192 ;;
  esac
  echo "== $t: ${SECONDS_EACH}s on CPU $CPU"
  if ! taskset -c "$CPU" cargo fuzz run --fuzz-dir fuzz "$t" "$ROOT/target/fuzz-corpus/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$SECONDS_EACH" -max_len="$max_len" -rss_limit_mb=1024 -malloc_limit_mb=512 \
      -timeout=10 -print_final_stats=1 >"$LOGS/$t.log" 2>&1; then
    echo "!! $t failed: see $LOGS/$t.log"; status=1
  fi
  grep -E "^#[0-9]+.*(DONE|pulse|NEW|REDUCE)" "$LOGS/$t.log" | tail -1 || true
  if [ "${MERGE:-0}" = 1 ]; then
    taskset -c "$CPU" cargo fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" \
      "$ROOT/target/fuzz-corpus/$t" -- -merge=1 -max_len="$max_len" >"$LOGS/$t.merge.log" 2>&1 || true
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|panicked" "$LOGS/$t.log" || true
done
exit $status
