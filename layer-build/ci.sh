#!/usr/bin/env bash
# CI for the layer (docs/layer.md), called by tests/run-all.sh (CI's test script) on a fresh Debian 12
# machine as root:
#   1. installs what the layer build, its sandbox test and the SAM checks need (only what is missing), and
#      registers qemu for aarch64 in binfmt_misc;
#   2. builds the PHP 8.2 x86_64 layer and its OCI image (LAYER_CI_PHP=8.4 for the other version);
#   3. runs layer-build/test-layer.sh on the zip and on the image (empty root, real invocations, a
#      precompiled app, cold start), and checks the image with skopeo;
#   4. the app suite's Laravel and Symfony pages cold, with and without precompiling
#      (layer-build/cold-apps.sh, one run each: a check that both work, the timings are for docs/layer.md);
#   5. builds the PHP 8.2 arm64 layer and runs the same sandbox test on it under qemu (LAYER_CI_ARM64=0 skips);
#   6. runs examples/validate.sh (cfn-lint, sam validate --lint, sam build) against the x86_64 layer.
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
  setpriv:util-linux make:make umoci:umoci skopeo:skopeo qemu-aarch64-static:qemu-user-static \
  update-binfmts:binfmt-support; do
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
# arm64 binaries run through qemu registered in binfmt_misc with the fix-binary flag, so that they also run
# inside the test's empty root (php-fpm exec'd by an arm64 bootstrap included).
ARM64=${LAYER_CI_ARM64:-1}
if [ "$ARM64" = 1 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
  . layer-build/sandbox.sh
  binfmt_ready aarch64 || { echo "qemu-aarch64 is not registered in binfmt_misc with the F flag:" \
    "$(cat /proc/sys/fs/binfmt_misc/qemu-aarch64 2>&1)" >&2; exit 1; }
fi
stamp "tools ready"

# -- build, test, validate
ZIP=$REPO/target/layer/lambda-fpm-php${PHP/./}-$ARCH.zip
IMAGE=$REPO/target/layer/lambda-fpm-php${PHP/./}-$ARCH-image
layer-build/build.sh "$PHP" "$ARCH"
stamp "layer built"
layer-build/test-layer.sh "$ZIP"
stamp "sandbox test passed"
skopeo inspect "oci:$IMAGE:latest" > target/layer/image-inspect.json
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["Architecture"]=="amd64" and len(c["Layers"])==2, c' \
  target/layer/image-inspect.json
COLD_RUNS=1 layer-build/test-layer.sh "$IMAGE"
stamp "image checked (skopeo) and its sandbox test passed: $(du -sb "$IMAGE" | cut -f1) bytes"
if [ -f target/apps/INSTALLED ]; then
  RUNS=1 WARM=3 layer-build/cold-apps.sh "$ZIP"
  stamp "Laravel and Symfony served cold, with and without precompiling"
else
  echo "[layer-ci] no app suite in target/apps (tests/apps/install.sh): Laravel and Symfony not run" >&2
fi
if [ "$ARM64" = 1 ]; then
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
  # The bootstrap in the ci-cross profile (Cargo.toml): without the release build's fat LTO the cross-build
  # takes about half the time, and the sandbox test cannot tell the difference.
  cargo zigbuild --locked --profile ci-cross --target aarch64-unknown-linux-gnu.2.17
  LAYER_IMAGE=0 LAMBDA_FPM_BOOTSTRAP=$REPO/target/aarch64-unknown-linux-gnu/ci-cross/bootstrap \
    layer-build/build.sh 8.2 arm64
  stamp "arm64 layer built"
  COLD_RUNS=1 layer-build/test-layer.sh target/layer/lambda-fpm-php82-arm64.zip
  stamp "arm64 sandbox test passed (under qemu)"
fi
# sam build packs the very zip just tested (no staleness check that could rebuild it)
LAMBDA_FPM_LAYER_ZIP=$ZIP examples/validate.sh
stamp "examples validated"
