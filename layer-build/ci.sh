#!/usr/bin/env bash
# CI for the layer (docs/layer.md), called by tests/run-all.sh (CI's test script) on a fresh Debian 12
# machine as root:
#   1. installs what the layer build, its sandbox test and the SAM checks need (only what is missing);
#   2. builds the PHP 8.2 x86_64 layer (the quick one; LAYER_CI_PHP=8.4 for the other);
#   3. runs layer-build/test-layer.sh on it (empty root, real invocations, cold start);
#   4. runs examples/validate.sh (cfn-lint, sam validate --lint, sam build) against that same layer.
# The Debian packages are cached in target/layer/cache, so a second run skips the download.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
mkdir -p target
PHP=${LAYER_CI_PHP:-8.2}
ARCH=x86_64
t0=$(date +%s)
stamp() { echo "[layer-ci] $(( $(date +%s) - t0 )) s: $*"; }

# -- tools. Debian packages by command, installed in one apt call when any is missing.
missing=()
for pair in debootstrap:debootstrap bwrap:bubblewrap patchelf:patchelf zip:zip unzip:unzip readelf:binutils \
  setpriv:util-linux make:make; do
  command -v "${pair%%:*}" > /dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing ${missing[*]}: run as root or install them" >&2; exit 1; }
  stamp "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
pips=()
python3 -c 'import ziglang' 2> /dev/null || pips+=(ziglang)
command -v cargo-zigbuild > /dev/null || pips+=(cargo-zigbuild)
command -v cfn-lint > /dev/null || pips+=(cfn-lint)
command -v sam > /dev/null || pips+=(aws-sam-cli)
if [ ${#pips[@]} -gt 0 ]; then
  stamp "pip install ${pips[*]}"
  if ! python3 -m pip install -q "${pips[@]}" 2> "$REPO/target/pip.err"; then
    # Debian's own python3 refuses (PEP 668, "externally managed") or has no pip: use a venv of our own,
    # first in PATH (cargo-zigbuild runs `python3 -m ziglang` from PATH).
    cat "$REPO/target/pip.err" >&2
    VENV=$REPO/target/layer/venv
    python3 -m venv "$VENV" 2> /dev/null || {
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv python3-pip > /dev/null
      python3 -m venv "$VENV"
    }
    "$VENV/bin/pip" install -q "${pips[@]}"
    export PATH=$VENV/bin:$PATH
  fi
  rm -f "$REPO/target/pip.err"
fi
rustup target list --installed | grep -qx x86_64-unknown-linux-gnu || rustup target add x86_64-unknown-linux-gnu
stamp "tools ready"

# -- build, test, validate
ZIP=$REPO/target/layer/lambda-fpm-php${PHP/./}-$ARCH.zip
layer-build/build.sh "$PHP" "$ARCH"
stamp "layer built"
layer-build/test-layer.sh "$ZIP"
stamp "sandbox test passed"
# sam build packs the very zip just tested (no staleness check that could rebuild it)
LAMBDA_FPM_LAYER_ZIP=$ZIP examples/validate.sh
stamp "examples validated"
