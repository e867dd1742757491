// Registry credentials (pure): a Secret's keys or its .dockerconfigjson for one host, and the
// WWW-Authenticate challenge a registry answers an anonymous request with.
import { ConvergeError } from '../../api/index.ts';

export type RegistryCredentials =
  | { kind: 'basic'; username: string; password: string }
  /** A registry token used as is (dockerconfigjson `registrytoken`, or Secret key bearerToken). */
  | { kind: 'bearer'; token: string }
  /** An identity token: traded for access tokens with grant_type=refresh_token (Azure, GCR). */
  | { kind: 'identity'; username: string; token: string };

export interface Challenge {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
  scope?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (RFC 7235 auth-params; commas inside quotes kept). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(Basic|Bearer)\b\s*(.*)$/i.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase() as Challenge['scheme'];
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return {
    scheme,
    ...(params.realm !== undefined ? { realm: params.realm } : {}),
    ...(params.service !== undefined ? { service: params.service } : {}),
    ...(params.scope !== undefined ? { scope: params.scope } : {}),
  };
}

/**
 * Credentials for `host` from a Secret's data: `.dockerconfigjson` (kubernetes.io/dockerconfigjson)
 * or `username`+`password` / `bearerToken`. Undefined when the Secret holds nothing for that host.
 */
export function registryCredentialsFromSecret(
  data: Record<string, Buffer | string>,
  host: string,
  secretName: string,
): RegistryCredentials | undefined {
  const text = (k: string) => {
    const v = data[k];
    return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : v;
  };
  const dockerconfig = text('.dockerconfigjson') ?? text('.dockercfg');
  if (dockerconfig !== undefined) return fromDockerConfig(dockerconfig, host, secretName);
  const username = text('username');
  const password = text('password');
  if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
  const token = text('bearerToken');
  if (token !== undefined) return { kind: 'bearer', token: token.trim() };
  throw new ConvergeError(
    'InvalidSpec',
    `Secret ${secretName} has none of .dockerconfigjson, username+password or bearerToken`,
  );
}

function fromDockerConfig(json: string, host: string, secretName: string): RegistryCredentials | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ConvergeError('InvalidSpec', `Secret ${secretName}: .dockerconfigjson is not JSON`);
  }
  const root = parsed as { auths?: Record<string, DockerAuth> } & Record<string, DockerAuth>;
  // .dockercfg (the older form) is the auths map itself.
  const auths: Record<string, DockerAuth> =
    root && typeof root === 'object' && root.auths && typeof root.auths === 'object' ? root.auths : root;
  if (!auths || typeof auths !== 'object') return undefined;
  const want = normaliseHost(host);
  for (const [key, entry] of Object.entries(auths)) {
    if (normaliseHost(key) !== want || !entry || typeof entry !== 'object') continue;
    if (typeof entry.registrytoken === 'string' && entry.registrytoken) {
      return { kind: 'bearer', token: entry.registrytoken };
    }
    let username = typeof entry.username === 'string' ? entry.username : undefined;
    let password = typeof entry.password === 'string' ? entry.password : undefined;
    if ((username === undefined || password === undefined) && typeof entry.auth === 'string') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) {
        throw new ConvergeError(
          'InvalidSpec',
          `Secret ${secretName}: the auth of ${key} is not base64 of user:password`,
        );
      }
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    if (typeof entry.identitytoken === 'string' && entry.identitytoken) {
      return { kind: 'identity', username: username ?? '<token>', token: entry.identitytoken };
    }
    if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
  }
  return undefined;
}

interface DockerAuth {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

/** `https://index.docker.io/v1/`, `docker.io`, `registry-1.docker.io` → one name; others: host[:port] lowercased. */
export function normaliseHost(key: string): string {
  let host = key.trim().toLowerCase();
  host = host.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io')
    return 'docker.io';
  return host;
}

/** The Authorization header of basic credentials. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
