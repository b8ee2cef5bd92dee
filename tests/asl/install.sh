#!/usr/bin/env bash
# Installs asl-validator (exact versions from package-lock.json) into tests/asl/node_modules,
# for tests/test_step_functions_artifacts.py.
#
# Idempotent: skips `npm ci` when node_modules was installed from the same package-lock.json
# with the same Node major version (a stamp file records both).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tests/asl/install.sh: '$tool' not found; install Node.js 20 or newer" >&2
    exit 1
  fi
done

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "tests/asl/install.sh: Node $(node --version) is too old; need 20 or newer" >&2
  exit 1
fi

stamp_file="node_modules/.golden-path-install-stamp"
wanted="$(sha256sum package-lock.json | cut -d' ' -f1) node${node_major}"

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$wanted" ]; then
  echo "tests/asl: node_modules up to date"
  exit 0
fi

npm ci --no-audit --no-fund
echo "$wanted" >"$stamp_file"
echo "tests/asl: installed asl-validator $(node -p 'require("./node_modules/asl-validator/package.json").version')"
