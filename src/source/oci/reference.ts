// oci:// URLs and references, parsed and checked without the network (pure).
import { ConvergeError } from '../../api/index.ts';

export interface OciLocation {
  /** Registry host[:port] as written in the URL (docker.io is registry-1.docker.io on the wire). */
  registry: string;
  /** Repository path inside the registry: lowercase path components. */
  repository: string;
}

// The distribution spec's grammar: path components of [a-z0-9] joined by ., _, __ or runs of -.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** `oci://registry[:port]/repo/path` → its parts; a tag or digest in the URL is refused (that is `ref`). */
export function parseOciUrl(url: string, field = 'spec.url'): OciLocation {
  if (!url.startsWith('oci://'))
    throw new ConvergeError('InvalidSpec', `${field}: ${url} is not an oci:// URL`);
  const rest = url.slice('oci://'.length).replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  if (slash <= 0) {
    throw new ConvergeError(
      'InvalidSpec',
      `${field}: ${url} names no repository (oci://registry/repository)`,
    );
  }
  const registry = rest.slice(0, slash);
  const repository = rest.slice(slash + 1);
  if (!HOST.test(registry))
    throw new ConvergeError('InvalidSpec', `${field}: ${registry} is not a registry host`);
  if (/[@]|:[^/]*$/.test(repository)) {
    throw new ConvergeError(
      'InvalidSpec',
      `${field}: ${url} carries a tag or digest; give it in spec.ref (tag, semver or digest)`,
    );
  }
  const parts = repository.split('/');
  if (repository.length > 255 || !parts.every((p) => COMPONENT.test(p))) {
    throw new ConvergeError(
      'InvalidSpec',
      `${field}: ${repository} is not a repository name (lowercase letters, digits and . _ - separators)`,
    );
  }
  return { registry: registry.toLowerCase(), repository };
}

/** Docker Hub's API host; `docker.io/x` means `docker.io/library/x` there, as the docker CLI does. */
export function apiHost(location: OciLocation): { host: string; repository: string } {
  if (location.registry === 'docker.io' || location.registry === 'index.docker.io') {
    const repository = location.repository.includes('/')
      ? location.repository
      : `library/${location.repository}`;
    return { host: 'registry-1.docker.io', repository };
  }
  return { host: location.registry, repository: location.repository };
}

/** The cosign signature tag of a manifest digest: sha256:abc… → sha256-abc….sig */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** Short form of a digest for messages: sha256:0123456789ab */
export function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}
