#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake nodes, so pods
# run) for the test control plane from Go modules, once per machine, into a cache outside the clone.
# Prints the directory on stdout's last line. Only missing binaries are built.
# KUBEBUILDER_ASSETS (setup-envtest's convention) wins when set: nothing is built then.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mod="$here/hack/controlplane"
k8s_version=$(sed -n 's#^\s*k8s.io/kubernetes v\(.*\)$#\1#p' "$mod/go.mod")
cache="${CONVERGE_CACHE_DIR:-$HOME/.cache/converge}"
out="$cache/k8s-v$k8s_version"
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
# kwok is its own module with its own go.mod (built with `go install pkg@version`), cached per version
# and linked into $out so the control plane is one directory.
kwok_version=0.8.0
kwok_dir="$cache/kwok-v$kwok_version"

log() { echo "[control-plane] $*" >&2; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in etcd kube-apiserver; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b"; exit 1; }
  done
  log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  for b in kube-scheduler kwok; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { log "KUBEBUILDER_ASSETS has no kube-scheduler/kwok: no fake nodes, so pods never run (rollout tests skip; the demo uses wait: false)"; break; }
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

link_kwok() { [ -x "$kwok_dir/kwok" ] && ln -sfn "../kwok-v$kwok_version/kwok" "$out/kwok"; return 0; }
mkdir -p "$out"
link_kwok
missing=()
for b in "${bins[@]}"; do [ -x "$out/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} = 0 ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { log "Go is needed to build the control plane (or set KUBEBUILDER_ASSETS)"; exit 1; }
log "building ${missing[*]} (Kubernetes v$k8s_version, kwok v$kwok_version) into $out"
log "first build on this machine: expect 5-20 minutes on 2 cores (6 min seen with a warm module cache; kube-scheduler adds ~1 min, kwok 3-12 min) (cached afterwards)"
cd "$mod"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$k8s_version \
 -X k8s.io/component-base/version.gitMajor=${k8s_version%%.*} \
 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2) \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=v$k8s_version"
start=$(date +%s)
log "downloading modules"
go mod download
progress() { # name t0: go -v names each package as it compiles it; count them as a progress signal.
  local name=$1 t0=$2 n=0 line
  while IFS= read -r line; do
    case "$line" in
      "#"*|*": "*|*".go:"*) echo "$line" >&2 ;;
      *) n=$((n + 1)); if [ $((n % 100)) = 0 ]; then log "  $name: $n packages compiled ($(( $(date +%s) - t0 ))s)"; fi ;;
    esac
  done
}
wanted() { [[ " ${missing[*]} " == *" $1 "* ]]; }
build() { # name package
  local name=$1 pkg=$2 t0
  wanted "$name" || return 0
  t0=$(date +%s)
  log "compiling $name ($pkg)"
  go build -trimpath -ldflags "$ldflags" -v -o "$out/$name.tmp" "$pkg" 2>&1 | progress "$name" "$t0"
  [ -x "$out/$name.tmp" ] || { log "building $name failed"; exit 1; }
  mv "$out/$name.tmp" "$out/$name"
  log "built $name in $(( $(date +%s) - t0 ))s"
}
build etcd ./cmd/etcd
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
# Shares nearly every package with the two above: a minute or two once they are built.
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
if wanted kwok; then
  t0=$(date +%s)
  log "compiling kwok (go install sigs.k8s.io/kwok/cmd/kwok@v$kwok_version; about 3 minutes when the machine is idle, 12 seen under heavy load)"
  rm -rf "$kwok_dir.tmp" && mkdir -p "$kwok_dir.tmp"
  # Outside any module so kwok builds against its own go.mod.
  (cd "$kwok_dir.tmp" && GOBIN="$kwok_dir.tmp" go install -trimpath -ldflags "-s -w" -v "sigs.k8s.io/kwok/cmd/kwok@v$kwok_version" 2>&1) \
    | progress kwok "$t0"
  [ -x "$kwok_dir.tmp/kwok" ] || { log "building kwok failed"; exit 1; }
  rm -rf "$kwok_dir" && mv "$kwok_dir.tmp" "$kwok_dir"
  link_kwok
  log "built kwok in $(( $(date +%s) - t0 ))s"
fi
log "control plane ready in $(( $(date +%s) - start ))s"
echo "$out"
