#!/usr/bin/env bash
# Records test/histories/<scenario>.<series>.json (HISTORY_SERIES in test/support/histories.ts) from real runs of every workflow scenario on the real stack.
# Run it when a scenario is added, or when a workflow change is released behind patched() (see
# CONTRIBUTING.md). Refuses to write a history that holds private-key material.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh
npx tsc -p .
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --no-warnings=ExperimentalWarning"
PGBTLS_RECORD_HISTORIES=1 node_modules/.bin/jest --runInBand --ci test/integration/reconfigure-tls.test.ts test/integration/served-tls.test.ts --selectProjects integration
ls -l test/histories/
