// Registry credentials from a kubernetes.io/dockerconfigjson Secret: the entry for the image's own host only.
import { ConvergeError } from '../api/index.ts';
import type { RegistryCredentials } from './registry.ts';

const HUB_ALIASES = new Set(['registry-1.docker.io', 'index.docker.io', 'docker.io']);

/** `https://index.docker.io/v1/` → `index.docker.io`; `127.0.0.1:5000` stays. */
function hostOfKey(key: string): string {
  const withoutScheme = key.replace(/^[a-z]+:\/\//i, '');
  return withoutScheme.split('/')[0]!.toLowerCase();
}

/**
 * The credentials of `.dockerconfigjson` for `host`, or undefined when the file has no entry for it
 * (credentials for another registry are never sent). Throws InvalidSpec naming the secret when the
 * file cannot be read.
 */
export function registryCredentials(
  data: Record<string, string>,
  secretName: string,
  host: string,
): RegistryCredentials | undefined {
  const raw = data['.dockerconfigjson'];
  if (raw === undefined)
    throw new ConvergeError(
      'InvalidSpec',
      `secret ${secretName} has no ".dockerconfigjson" key: create it with kubectl create secret docker-registry`,
    );
  let parsed: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    parsed = JSON.parse(raw) as typeof parsed;
  } catch {
    throw new ConvergeError('InvalidSpec', `secret ${secretName}: ".dockerconfigjson" is not JSON`);
  }
  const want = host.toLowerCase();
  const hub = HUB_ALIASES.has(want);
  for (const [key, entry] of Object.entries(parsed.auths ?? {})) {
    const h = hostOfKey(key);
    if (h !== want && !(hub && HUB_ALIASES.has(h))) continue;
    if (entry.username !== undefined && entry.password !== undefined)
      return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    throw new ConvergeError(
      'InvalidSpec',
      `secret ${secretName}: the entry for ${h} has neither "auth" nor "username" and "password"`,
    );
  }
  return undefined;
}
