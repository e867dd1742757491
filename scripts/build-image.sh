#!/usr/bin/env bash
# Builds the operator image from the repository's Dockerfile, with Docker where there is one and with
# buildah (`bud --isolation chroot`, no daemon) where there is not. Prints progress, then the build
# time and image size, and the image name on stdout's last line.
#
# Usage: scripts/build-image.sh [--tag NAME:TAG] [--archive FILE] [--base-only]
#   --tag      image name (default converge:<package.json version>; buildah names it localhost/NAME)
#   --archive  also write the image to FILE (OCI archive with buildah, docker-archive with Docker),
#              for `ctr images import` on a node without a registry
#   --base-only  with buildah: make (or find) the local base and stop (scripts/setup.sh does this)
# Env: NODE_IMAGE  the Dockerfile's base (default node:24-slim with Docker). With buildah and no
#                  NODE_IMAGE, a local base is made once per machine and cached: a Debian bookworm
#                  rootfs from mmdebstrap plus Node 24 from the npm package node@24 (and the host's
#                  npm), so no image registry is needed.
#      CONVERGE_IMAGE_BUILDER=docker|buildah  force one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache="${CONVERGE_CACHE_DIR:-$HOME/.cache/converge}"
version=$(node -p "require('$root/package.json').version")
tag="converge:$version"
archive=""
base_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --archive) archive=$2; shift 2 ;;
    --base-only) base_only=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--tag NAME:TAG] [--archive FILE] [--base-only]" >&2; exit 2 ;;
  esac
done
log() { echo "[image] $*" >&2; }

builder=${CONVERGE_IMAGE_BUILDER:-}
if [ -z "$builder" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then builder=docker
  elif command -v buildah >/dev/null; then builder=buildah
  else log "neither a running Docker nor buildah found (apt-get install buildah)"; exit 1
  fi
fi

# The local base for buildah: bookworm (minbase, as debian:bookworm-slim) + Node 24 + npm.
local_base() {
  local node_bin node_ver base rootfs npm_dir ctr t0
  node_bin=$(readlink -f "$cache/node24/bin/node" 2>/dev/null || true)
  [ -x "$node_bin" ] || { log "no Node 24 in $cache/node24 (source scripts/setup.sh first)"; exit 1; }
  node_ver=$("$node_bin" --version)
  base="localhost/converge-node-base:${node_ver#v}-bookworm"
  if buildah inspect --type image "$base" >/dev/null 2>&1; then echo "$base"; return; fi
  t0=$(date +%s)
  mkdir -p "$cache/image"
  rootfs="$cache/image/bookworm-minbase.tar"
  if [ ! -s "$rootfs" ]; then
    command -v mmdebstrap >/dev/null || { log "mmdebstrap is needed for the local base (apt-get install mmdebstrap)"; exit 1; }
    log "making a Debian bookworm rootfs with mmdebstrap (once per machine, 1-3 minutes)"
    mmdebstrap --quiet --variant=minbase --include=ca-certificates \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      bookworm "$rootfs.tmp" \
      'deb http://deb.debian.org/debian bookworm main' \
      'deb http://deb.debian.org/debian bookworm-updates main' \
      'deb http://deb.debian.org/debian-security bookworm-security main' >&2
    mv "$rootfs.tmp" "$rootfs"
  fi
  npm_dir=$(npm root -g)/npm
  [ -f "$npm_dir/bin/npm-cli.js" ] || { log "no npm at $npm_dir"; exit 1; }
  log "making base image $base (rootfs + node $node_ver + npm $(node -p "require('$npm_dir/package.json').version"))"
  ctr=$(buildah from --quiet scratch)
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' RETURN
  buildah add --quiet "$ctr" "$rootfs" / >/dev/null
  buildah copy --quiet "$ctr" "$node_bin" /usr/local/bin/node >/dev/null
  buildah copy --quiet "$ctr" "$npm_dir" /usr/local/lib/node_modules/npm >/dev/null
  buildah run --isolation chroot "$ctr" -- sh -c \
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version' >&2
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node "$ctr"
  buildah commit --quiet "$ctr" "$base" >/dev/null
  log "base image ready in $(( $(date +%s) - t0 ))s"
  echo "$base"
}

if [ -n "$base_only" ]; then
  if [ "$builder" = buildah ] && [ -z "${NODE_IMAGE:-}" ]; then local_base; fi
  exit 0
fi

t0=$(date +%s)
cd "$root"
if [ "$builder" = docker ]; then
  log "building $tag with Docker from $root/Dockerfile"
  docker build ${NODE_IMAGE:+--build-arg "NODE_IMAGE=$NODE_IMAGE"} -t "$tag" . >&2
  size=$(docker image inspect --format '{{.Size}}' "$tag")
  name=$tag
  if [ -n "$archive" ]; then docker save -o "$archive" "$tag"; fi
else
  node_image=${NODE_IMAGE:-$(local_base)}
  case "$tag" in */*) name=$tag ;; *) name=localhost/$tag ;; esac
  log "building $name with buildah (chroot isolation) from $root/Dockerfile, NODE_IMAGE=$node_image"
  ca=()
  # A TLS-intercepting proxy's CA (the host trusts it through NODE_EXTRA_CA_CERTS): mounted over the
  # base's bundle for the RUN steps only, so npm ci reaches the registry; the image does not keep it.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    log "npm in the build trusts $NODE_EXTRA_CA_CERTS (NODE_EXTRA_CA_CERTS)"
    ca=(--volume "$NODE_EXTRA_CA_CERTS:/etc/ssl/certs/ca-certificates.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
  fi
  # --layers: an unchanged step (npm ci when package-lock.json did not change) is reused.
  buildah bud --isolation chroot --layers --force-rm "${ca[@]}" --build-arg "NODE_IMAGE=$node_image" -t "$name" . >&2
  size=$(buildah inspect --type image --format '{{.ImageSize}}' "$name" 2>/dev/null || echo 0)
  if [ "$size" = 0 ] || [ -z "$size" ]; then size=$(buildah images --noheading --format '{{.Size}}' "$name" | head -1); fi
  if [ -n "$archive" ]; then
    rm -f "$archive"
    # Uncompressed: the archive is read once, on this machine (gzip of ~700 MB costs a minute).
    buildah push --quiet --disable-compression "$name" "oci-archive:$archive:$name" >&2
  fi
fi
case "$size" in *[!0-9]*) human=$size ;; *) human="$((size / 1024 / 1024)) MiB" ;; esac
log "built $name in $(( $(date +%s) - t0 ))s ($human)${archive:+; archive $archive}"
echo "$name"
