// Repository URL normalisation: every form a push payload or a GitSource may spell one repository
// in (https clone URL, ssh:// URL, scp-like git@host:path, web URL) reduces to one comparable key.

/** Ports a scheme implies; an explicit default port means the same server as none. */
const DEFAULT_PORTS: Record<string, string> = {
  'http:': '80',
  'https:': '443',
  'ssh:': '22',
  'git+ssh:': '22',
  'ssh+git:': '22',
  'git:': '9418',
};

// user@host:path, as git and ssh read it: no scheme, and the colon comes before any slash.
const SCP_LIKE = /^(?:[^@/\s]+@)?(\[[^\]]+\]|[^:/\s]+):(?!\/\/)(.+)$/;

function cleanPath(path: string): string {
  let p = path.replace(/\/{2,}/g, '/').replace(/^\/+/, '');
  p = p.replace(/\/+$/, '');
  p = p.replace(/\.git$/i, '');
  return p.replace(/\/+$/, '');
}

/**
 * The key two URLs of one repository share: `host[:port]/path`, lower case, without scheme,
 * userinfo, default port, query, trailing `/` or `.git`. The scheme is dropped on purpose: a
 * payload names the https and the ssh form of the same repository and a GitSource uses either.
 * Paths compare case-insensitively as GitHub, GitLab, Bitbucket and Gitea resolve them.
 * Returns undefined for text that is no repository URL.
 */
export function normaliseRepoUrl(raw: string): string | undefined {
  const text = raw.trim();
  if (text === '' || /\s/.test(text)) return undefined;
  if (!text.includes('://')) {
    const m = SCP_LIKE.exec(text);
    if (!m) return undefined;
    const path = cleanPath(m[2]!);
    return path ? `${m[1]!.toLowerCase()}/${path.toLowerCase()}` : undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const path = cleanPath(decodePath(url.pathname));
  if (url.protocol === 'file:') return path ? `file:/${path.toLowerCase()}` : undefined;
  const host = url.hostname.toLowerCase();
  if (!host || !path) return undefined;
  const port = url.port && url.port !== DEFAULT_PORTS[url.protocol] ? `:${url.port}` : '';
  return `${host}${port}/${path.toLowerCase()}`;
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Keys of every URL given that parses; duplicates dropped. */
export function repoKeys(urls: readonly (string | undefined | null)[]): string[] {
  const keys = new Set<string>();
  for (const u of urls) {
    if (typeof u !== 'string') continue;
    const key = normaliseRepoUrl(u);
    if (key) keys.add(key);
  }
  return [...keys];
}
