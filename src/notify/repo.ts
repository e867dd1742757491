// The repository a GitSource URL names (https, http, ssh:// and scp-like forms): host, owner path, name.

export interface Repository {
  /** Host with port when one was given in an http(s) URL (ssh ports are not the web port). */
  host: string;
  scheme: 'https' | 'http';
  /** Everything before the last path segment: `org` or `group/subgroup`. */
  owner: string;
  /** Last path segment without `.git`. */
  name: string;
}

export function parseRepository(url: string): Repository | undefined {
  let host: string;
  let path: string;
  let scheme: 'https' | 'http' = 'https';
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(url);
  if (scp) {
    host = scp[1]!;
    path = scp[2]!;
  } else {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return undefined;
    }
    if (u.protocol === 'ssh:') host = u.hostname;
    else if (u.protocol === 'https:' || u.protocol === 'http:') {
      host = u.host;
      scheme = u.protocol === 'http:' ? 'http' : 'https';
    } else return undefined;
    path = decodeURIComponent(u.pathname);
  }
  const parts = path
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  // Bitbucket Server serves clones under /scm/<project>/<repo>.git.
  if (parts[0] === 'scm' && parts.length === 3) parts.shift();
  if (parts.length < 2) return undefined;
  const name = parts.pop()!;
  return { host, scheme, owner: parts.join('/'), name };
}

/** `https://host/owner/name`: where a status links to. */
export function webUrl(repo: Repository): string {
  return `${repo.scheme}://${repo.host}/${repo.owner}/${repo.name}`;
}
