#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager for the test control plane from Go
# modules, once per machine, into a cache outside the clone. Prints the directory on stdout's last line.
# KUBEBUILDER_ASSETS (setup-envtest's convention) wins when set: nothing is built then.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mod="$here/hack/controlplane"
k8s_version=$(sed -n 's#^\s*k8s.io/kubernetes v\(.*\)$#\1#p' "$mod/go.mod")
out="${CONVERGE_CACHE_DIR:-$HOME/.cache/converge}/k8s-v$k8s_version"
bins=(etcd kube-apiserver kube-controller-manager)

log() { echo "[control-plane] $*" >&2; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in etcd kube-apiserver; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b"; exit 1; }
  done
  log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

missing=0
for b in "${bins[@]}"; do [ -x "$out/$b" ] || missing=1; done
if [ "$missing" = 0 ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { log "Go is needed to build the control plane (or set KUBEBUILDER_ASSETS)"; exit 1; }
mkdir -p "$out"
log "building Kubernetes v$k8s_version control plane into $out"
log "first build on this machine: expect 5-20 minutes on 2 cores (6 min seen with a warm module cache) (cached afterwards)"
cd "$mod"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$k8s_version \
 -X k8s.io/component-base/version.gitMajor=${k8s_version%%.*} \
 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2) \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=v$k8s_version"
start=$(date +%s)
log "downloading modules"
go mod download
build() { # name package
  local name=$1 pkg=$2 t0 n=0
  t0=$(date +%s)
  log "compiling $name ($pkg)"
  # go build -v names each package as it compiles it: count them as a progress signal.
  go build -trimpath -ldflags "$ldflags" -v -o "$out/$name.tmp" "$pkg" 2>&1 | while IFS= read -r line; do
    case "$line" in
      "#"*|*": "*|*".go:"*) echo "$line" >&2 ;;
      *) n=$((n + 1)); if [ $((n % 100)) = 0 ]; then log "  $name: $n packages compiled ($(( $(date +%s) - t0 ))s)"; fi ;;
    esac
  done
  [ -x "$out/$name.tmp" ] || { log "building $name failed"; exit 1; }
  mv "$out/$name.tmp" "$out/$name"
  log "built $name in $(( $(date +%s) - t0 ))s"
}
build etcd ./cmd/etcd
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
log "control plane ready in $(( $(date +%s) - start ))s"
echo "$out"
