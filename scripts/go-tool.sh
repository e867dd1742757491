#!/usr/bin/env bash
# Builds one Go-built test tool (sops, cosign, versitygw, gitea, …) once per machine with
# `go install module/cmd@version` into ~/.cache/converge/tools/<name>-<version>/, and prints the
# binary's path on stdout's last line. Cached: nothing is built when the binary is there.
# Usage: scripts/go-tool.sh NAME PACKAGE VERSION [extra go flags…]   e.g.
#        scripts/go-tool.sh sops github.com/getsops/sops/v3/cmd/sops 3.13.3
# Env passed through (CGO_ENABLED, GOFLAGS, …) applies to the build.
set -euo pipefail
name=$1 pkg=$2 version=${3#v}
shift 3
cache="${CONVERGE_CACHE_DIR:-$HOME/.cache/converge}"
dir="$cache/tools/$name-v$version"
log() { echo "[go-tool] $*" >&2; }
if [ -x "$dir/$name" ]; then echo "$dir/$name"; exit 0; fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null || { log "Go is needed to build $name (apt-get install golang-go)"; exit 1; }
# One build at a time per tool (parallel test runs on one machine).
mkdir -p "$cache/tools"
exec 9>"$cache/tools/.$name.lock"
flock 9
if [ -x "$dir/$name" ]; then echo "$dir/$name"; exit 0; fi
t0=$(date +%s)
log "building $name v$version ($pkg@v$version): a few minutes on 2 cores the first time, cached afterwards"
rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
n=0
# Outside any module so the tool builds against its own go.mod; go -v names each package it compiles.
(cd "$dir.tmp" && GOBIN="$dir.tmp" go install -trimpath -ldflags "-s -w" -v "$@" "$pkg@v$version" 2>&1) |
  while IFS= read -r line; do
    case "$line" in
      "#"*|*": "*|*".go:"*) echo "$line" >&2 ;;
      *) n=$((n + 1)); if [ $((n % 100)) = 0 ]; then log "  $name: $n packages compiled ($(( $(date +%s) - t0 ))s)"; fi ;;
    esac
  done
[ -x "$dir.tmp/$name" ] || { log "building $name failed"; exit 1; }
rm -rf "$dir" && mv "$dir.tmp" "$dir"
log "built $name in $(( $(date +%s) - t0 ))s"
echo "$dir/$name"
