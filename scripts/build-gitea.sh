#!/usr/bin/env bash
# Builds Gitea (the real Git host of the pull-request preview tests) once per machine from the Go
# module code.gitea.io/gitea, pure Go (CGO_ENABLED=0: SQLite through modernc), into
# ~/.cache/converge/tools/gitea-v<version>/ with its templates and options beside the binary (no
# bindata: the API needs no built front end). Prints the binary's path on stdout's last line.
# `go install …@version` cannot build it (its go.mod has replace directives), so a copy of the
# module is built in place. First build: 10-20 minutes on 2 cores; cached afterwards.
set -euo pipefail
version=${1:-1.27.3}
cache="${CONVERGE_CACHE_DIR:-$HOME/.cache/converge}"
dir="$cache/tools/gitea-v$version"
log() { echo "[gitea] $*" >&2; }
if [ -x "$dir/gitea" ]; then echo "$dir/gitea"; exit 0; fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null || { log "Go is needed to build Gitea (apt-get install golang-go)"; exit 1; }
mkdir -p "$cache/tools"
exec 9>"$cache/tools/.gitea.lock"
flock 9
if [ -x "$dir/gitea" ]; then echo "$dir/gitea"; exit 0; fi
t0=$(date +%s)
log "downloading code.gitea.io/gitea@v$version"
src=$(cd /tmp && go mod download -json "code.gitea.io/gitea@v$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { log "module download failed"; exit 1; }
rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
cp -r "$src/." "$dir.tmp/" && chmod -R u+w "$dir.tmp"
log "building gitea v$version (pure Go; first build 10-20 minutes on 2 cores, cached afterwards)"
n=0
(cd "$dir.tmp" && CGO_ENABLED=0 go build -trimpath -v -ldflags "-s -w -X main.Version=$version" -o gitea . 2>&1) |
  while IFS= read -r line; do
    case "$line" in
      "#"*|*": "*|*".go:"*) echo "$line" >&2 ;;
      *) n=$((n + 1)); if [ $((n % 200)) = 0 ]; then log "  $n packages compiled ($(( $(date +%s) - t0 ))s)"; fi ;;
    esac
  done
[ -x "$dir.tmp/gitea" ] || { log "building gitea failed"; exit 1; }
# Keep what Gitea reads at run time (templates, options); drop the rest of the source.
(cd "$dir.tmp" && find . -mindepth 1 -maxdepth 1 ! -name gitea ! -name templates ! -name options ! -name public -exec rm -rf {} +)
rm -rf "$dir" && mv "$dir.tmp" "$dir"
log "built gitea in $(( $(date +%s) - t0 ))s"
echo "$dir/gitea"
