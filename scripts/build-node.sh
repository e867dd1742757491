#!/usr/bin/env bash
# Builds what a real test node needs beside Debian's containerd, runc and CNI plugins: kubelet and
# kube-proxy from the same Kubernetes module as the control plane (hack/controlplane), and the pause
# binary from that module's build/pause/linux/pause.c (no registry is needed for the sandbox
# image). Once per machine, into the control plane's cache directory; only missing parts are built.
# Prints the directory on stdout's last line.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mod="$here/hack/controlplane"
k8s_version=$(sed -n 's#^\s*k8s.io/kubernetes v\(.*\)$#\1#p' "$mod/go.mod")
cache="${CONVERGE_CACHE_DIR:-$HOME/.cache/converge}"
out="$cache/k8s-v$k8s_version"

log() { echo "[node] $*" >&2; }

mkdir -p "$out"
missing=()
for b in kubelet kube-proxy pause; do [ -x "$out/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} = 0 ]; then
  echo "$out"
  exit 0
fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null || { log "Go is needed to build kubelet and kube-proxy"; exit 1; }
# One build at a time (parallel test runs on one machine).
exec 9>"$out/.node.lock"
flock 9
missing=()
for b in kubelet kube-proxy pause; do [ -x "$out/$b" ] || missing+=("$b"); done
[ ${#missing[@]} = 0 ] && { echo "$out"; exit 0; }

log "building ${missing[*]} (Kubernetes v$k8s_version) into $out"
log "first build on this machine: kubelet ~2-4 minutes and kube-proxy ~1 minute on 2 cores once the control plane is built (cached afterwards)"
cd "$mod"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$k8s_version \
 -X k8s.io/component-base/version.gitMajor=${k8s_version%%.*} \
 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2) \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=v$k8s_version"
start=$(date +%s)
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
build kubelet k8s.io/kubernetes/cmd/kubelet
build kube-proxy k8s.io/kubernetes/cmd/kube-proxy
if wanted pause; then
  command -v gcc >/dev/null || { log "gcc is needed to build the pause binary (apt-get install gcc libc6-dev)"; exit 1; }
  src=$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
  log "compiling pause ($src)"
  gcc -Os -Wall -Werror -static -DVERSION="v$k8s_version" -o "$out/pause.tmp" "$src"
  strip "$out/pause.tmp"
  mv "$out/pause.tmp" "$out/pause"
fi
log "node binaries ready in $(( $(date +%s) - start ))s"
echo "$out"
