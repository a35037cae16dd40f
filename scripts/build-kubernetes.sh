#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kubectl and helm from the Go module proxy
# into the per-machine cache, unless the cache already holds this exact version.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_etcd() {
  if [ -x "$ETCD_BIN_DIR/etcd" ]; then return; fi
  phase_start "build etcd $ETCD_VERSION"
  mkdir -p "$ETCD_BIN_DIR.tmp"
  (cd "$REPO_ROOT/stack/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$ETCD_BIN_DIR.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$ETCD_BIN_DIR" && mv "$ETCD_BIN_DIR.tmp" "$ETCD_BIN_DIR"
  phase_end
}

build_kubernetes() {
  if [ -x "$KUBERNETES_BIN_DIR/kube-apiserver" ] && [ -x "$KUBERNETES_BIN_DIR/kube-controller-manager" ] \
     && [ -x "$KUBERNETES_BIN_DIR/kubectl" ]; then return; fi
  phase_start "build kube-apiserver, kube-controller-manager, kubectl $KUBERNETES_VERSION"
  local minor; minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  # Without these the binaries report v0.0.0-master and kubectl warns about version skew.
  local x="-X k8s.io/component-base/version" y="-X k8s.io/client-go/pkg/version"
  local ldflags="-s -w $x.gitVersion=$KUBERNETES_VERSION $x.gitMajor=1 $x.gitMinor=$minor $x.gitTreeState=clean
    $y.gitVersion=$KUBERNETES_VERSION $y.gitMajor=1 $y.gitMinor=$minor $y.gitTreeState=clean"
  mkdir -p "$KUBERNETES_BIN_DIR.tmp"
  (cd "$REPO_ROOT/stack/tools/kubernetes" && CGO_ENABLED=0 go build -trimpath -tags selinux,notest \
    -ldflags "$ldflags" -o "$KUBERNETES_BIN_DIR.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$KUBERNETES_BIN_DIR" && mv "$KUBERNETES_BIN_DIR.tmp" "$KUBERNETES_BIN_DIR"
  phase_end
}

build_helm() {
  if [ -x "$HELM_BIN_DIR/helm" ]; then return; fi
  phase_start "build helm $HELM_VERSION"
  mkdir -p "$HELM_BIN_DIR.tmp"
  # As helm's Makefile does: without the Kubernetes version, `helm template` assumes v1.20.
  local minor; minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in chartutil lint/rules; do
    ldflags="$ldflags -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$minor"
  done
  (cd "$REPO_ROOT/stack/tools/helm" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" \
    -o "$HELM_BIN_DIR.tmp/helm" helm.sh/helm/v3/cmd/helm)
  rm -rf "$HELM_BIN_DIR" && mv "$HELM_BIN_DIR.tmp" "$HELM_BIN_DIR"
  phase_end
}

build_etcd
build_kubernetes
build_helm
echo "tools: kube-apiserver $("$KUBERNETES_BIN_DIR/kube-apiserver" --version | cut -d' ' -f2)," \
  "etcd $("$ETCD_BIN_DIR/etcd" --version | head -1 | cut -d' ' -f3)," \
  "helm $("$HELM_BIN_DIR/helm" version --template '{{.Version}}')"
