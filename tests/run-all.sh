#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs (Debian packages, pip tools), then runs
# lint, unit tests, the integration suite against real php-fpm, the real-app suite, the layer build with
# its sandbox test and template validation, and the benchmarks' and the soak's smoke runs.
# Every step always runs: a missing piece (an uninstallable package, a missing script) fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - started ))s)"; }

step "dependencies"
tests/install-deps.sh

step "format and lint"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
# The fuzz targets are their own workspace, so nothing above compiles them: check that they still build
# against today's API (they are run by fuzz/run.sh, not here).
cargo fmt --manifest-path fuzz/Cargo.toml --check
cargo clippy --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-check --bins -- -D warnings

step "unit tests"
cargo test --lib

step "integration tests (real php-fpm, local Runtime API, cargo-lambda)"
cargo test --test integration

step "real apps (Laravel, Symfony, Slim, WordPress, DokuWiki)"
tests/apps/install.sh
cargo test --test apps

step "layer build, sandbox test, SAM templates"
layer-build/ci.sh

step "benchmark smoke run"
cargo bench --bench runtime -- --quick
cargo bench --bench compression -- --quick

step "events benchmark smoke run (time per SQS record against a web hello)"
cargo bench --bench events -- --quick

step "soak smoke run (2,000 invocations, every fault kind)"
cargo bench --bench soak -- --quick

step "all passed in $(( $(date +%s) - started ))s"
