#!/usr/bin/env bash
# Validates every example's SAM template and builds it, offline and without Docker:
#   cfn-lint template.yaml; sam validate --lint; sam build (BuildMethod: makefile for the layer and the app)
# then checks that the built layer has /opt/bootstrap and PHP, and the function has its handler.
#
#   examples/validate.sh            # every examples/*/template.yaml
#   examples/validate.sh hello      # one example
#
# The layer comes from layer-build/sam/Makefile: it reuses target/layer/lambda-fpm-phpXY-ARCH.zip when that
# is up to date, else runs layer-build/build.sh (about a minute with a warm cache). Set
# LAMBDA_FPM_PHP_VERSION=8.2 to build the 8.2 layer (8.4 by default). Needs: pip install cfn-lint aws-sam-cli.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SAM_CLI_TELEMETRY=0
export SAM_CLI_DISABLE_VERSION_CHECK=1   # no network call to look for a newer sam

examples=("$@")
if [ ${#examples[@]} -eq 0 ]; then
  for t in "$HERE"/*/template.yaml; do examples+=("$(basename "$(dirname "$t")")"); done
fi

failed=0
passed=0
for ex in "${examples[@]}"; do
  dir=$HERE/$ex
  echo "== examples/$ex"
  build=$(mktemp -d)
  if (
    set -e
    cd "$dir"
    cfn-lint template.yaml
    sam validate --lint --template-file template.yaml
    # --build-dir outside the example: nothing is left in the repo
    sam build --template-file template.yaml --build-dir "$build" > "$build.log" 2>&1 \
      || { tail -30 "$build.log"; exit 1; }
    # Whatever sam built must be deployable: the layer's runtime and every function's handler.
    for layer in "$build"/*/; do
      if [ -f "$layer/bootstrap" ]; then
        [ -x "$layer/bootstrap" ] && [ -x "$layer/bin/php-fpm" ] && [ -x "$layer/bin/php" ] \
          || { echo "layer $layer lacks bootstrap/bin/php-fpm/bin/php"; exit 1; }
        echo "layer $(basename "$layer"): $(du -sm "$layer" | cut -f1) MB, bootstrap + PHP present"
      fi
    done
    python3 - "$build/template.yaml" "$build" <<'PY'
import sys, os, yaml
class Loader(yaml.SafeLoader):
    pass
# CloudFormation short tags (!Ref, !Sub, !GetAtt) as plain values
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
tpl = yaml.load(open(sys.argv[1]), Loader=Loader)
for name, res in tpl["Resources"].items():
    if res["Type"] == "AWS::Serverless::Function":
        props = res["Properties"]
        handler = os.path.join(sys.argv[2], props["CodeUri"], props["Handler"])
        if not os.path.isfile(handler):
            sys.exit(f"function {name}: handler {props['Handler']} missing from the build ({handler})")
        print(f"function {name}: {props['Handler']} present")
PY
  ); then
    passed=$((passed + 1)); echo "ok examples/$ex"
  else
    failed=$((failed + 1)); echo "FAIL examples/$ex"
  fi
  rm -rf "$build" "$build.log"
done
echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
