#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, then runs the unit suite (no
# servers) and the integration suite (one real stack for the run), printing each phase's time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
T0=$EPOCHREALTIME

bash scripts/setup.sh
phase_start "typescript build"; npx tsc -p .; phase_end

export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --no-warnings=ExperimentalWarning"
JEST="node_modules/.bin/jest --runInBand --ci"
phase_start "unit, replay and runbook tests"; $JEST --selectProjects unit replay runbook "$@"; phase_end
phase_start "integration tests"; $JEST --selectProjects integration "$@"; phase_end

# Teardown must leave no server behind: anything still running from the test stack is a bug.
# PostgreSQL and the stand-in's pgbouncers run from /tmp/pgbtls-<hash of the state dir> (runtimeDirFor),
# one per test stack (test-output/stack, and the ones single test files start beside it).
# The image test's worker runs under unshare, whose command line names test-output/image.
pattern="$REPO_ROOT/test-output/stack|$REPO_ROOT/test-output/image"
for dir in "$REPO_ROOT"/test-output/stack*/; do
  pattern="$pattern|/tmp/pgbtls-$(printf %s "${dir%/}" | sha256sum | cut -c1-10)"
done
if leftovers=$(pgrep -af "$pattern" | grep -v pgrep); then
  echo "test: processes of the test stack survived teardown:"; echo "$leftovers"; exit 1
fi

awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "test: all phases done in %.1fs\n", b - a }'
