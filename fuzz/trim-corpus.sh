#!/usr/bin/env bash
# Folds a fuzz run's corpus (target/fuzz-corpus/<target>) into the committed seed corpus
# (fuzz/corpus/<target>) at a commit-friendly size: libFuzzer's -merge=1 keeps the inputs that
# add coverage, then the smallest of them (none over MAX_BYTES, default 16 KB) until the committed corpus
# holds MAX (default 150) files.
# Run after fuzz/run.sh, which builds the targets (a target that is not built fails the run).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MAX="${MAX:-150}"
MAX_BYTES="${MAX_BYTES:-16384}"
BIN="$ROOT/target/fuzz/x86_64-unknown-linux-gnu/release"
for t in ${TARGETS:-events cgi fastcgi_records router}; do
  [ -x "$BIN/$t" ] || { echo "fuzz/trim-corpus.sh: $t is not built: run fuzz/run.sh first" >&2; exit 1; }
  seeds="$ROOT/fuzz/corpus/$t"
  work="$ROOT/target/fuzz-corpus/$t"
  merged="$(mktemp -d)"
  taskset -c "${FUZZ_CPU:-$(( $(nproc) - 1 ))}" "$BIN/$t" -merge=1 "$merged" "$seeds" "$work" >/dev/null 2>&1 || true
  # libFuzzer names kept inputs by their SHA-1: already-committed files keep their names
  for f in $(ls -S -r "$merged"); do
    [ "$(ls "$seeds" | wc -l)" -lt "$MAX" ] || break
    [ "$(stat -c %s "$merged/$f")" -le "$MAX_BYTES" ] || continue
    [ -e "$seeds/$f" ] || cp "$merged/$f" "$seeds/$f"
  done
  rm -rf "$merged"
  echo "$t: $(ls "$seeds" | wc -l) files, $(du -sh "$seeds" | cut -f1)"
done
