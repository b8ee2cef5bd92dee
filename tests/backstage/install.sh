#!/usr/bin/env bash
# Installs the Backstage entity validator's npm dependencies (exact versions from
# package-lock.json) into tests/backstage/node_modules.
#
# Idempotent: skips `npm ci` when node_modules was installed from the same package-lock.json
# with the same Node major version (a stamp file records both). Safe to call from .ci/run on
# every run; a changed lock file or Node upgrade triggers a clean reinstall.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tests/backstage/install.sh: '$tool' not found; install Node.js 20 or newer" >&2
    exit 1
  fi
done

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "tests/backstage/install.sh: Node $(node --version) is too old; need 20 or newer" >&2
  exit 1
fi

stamp_file="node_modules/.golden-path-install-stamp"
wanted="$(sha256sum package-lock.json | cut -d' ' -f1) node${node_major}"

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$wanted" ]; then
  echo "tests/backstage: node_modules up to date"
  exit 0
fi

npm ci --no-audit --no-fund
echo "$wanted" >"$stamp_file"
echo "tests/backstage: installed $(node -p 'Object.keys(require("./package.json").dependencies).length') pinned packages"
