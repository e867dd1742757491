// Finds remote references (URLs, git and SSH remotes) anywhere in a kustomization or a generator/transformer config.

/** A value that would make kustomize (or a plugin config it reads) fetch something from the network. */
export interface RemoteReference {
  /** Where in the document: `configMapGenerator[0].files[1]`, `openapi.path`. */
  field: string;
  /** The value, with any userinfo (`user:token@`) removed. */
  value: string;
  /** What it looks like: `URL`, `git remote`, … */
  form: string;
}

/**
 * Subtrees that hold data, not references to load: label and annotation values, generator
 * literals, inline patches and object metadata may well contain a URL (a docs link, an endpoint)
 * that nothing ever fetches.
 */
const CONTENT_KEYS = new Set([
  'annotations',
  'buildMetadata',
  'commonAnnotations',
  'commonLabels',
  'images',
  'labels',
  'literals',
  'metadata',
  'namePrefix',
  'nameSuffix',
  'namespace',
  'patch',
  'replicas',
  'sortOptions',
]);

/**
 * Kustomize fetches `http(s)://` files itself and clones anything git understands (any `scheme://`,
 * `git::…`, `gh:…`, scp-like `user@host:path`) with git. Any scheme at all is refused: no field of a
 * kustomization has a legitimate use for one that the checkout cannot serve as a relative path.
 */
export function remoteForm(value: string): string | undefined {
  const v = value.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return 'URL';
  if (/^git::/i.test(v)) return 'git remote (go-getter)';
  if (/^gh:/i.test(v)) return 'GitHub shorthand';
  if (/^[\w.-]+@[\w.-]+:/.test(v)) return 'SSH (scp-like) git remote';
  return undefined;
}

/**
 * A path whose first segment is a host name (`github.com/org/repo//dir?ref=v1`): kustomize tries a
 * directory entry that does not exist locally as a git remote. Only meaningful for entries that
 * are missing from the checkout.
 */
export function looksLikeHostPath(value: string): boolean {
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?\//i.test(value.trim()) || /\?ref=|\/\/|_git\//.test(value);
}

/** Every remote reference in `doc`, depth first, skipping content subtrees (CONTENT_KEYS). */
export function findRemoteReferences(doc: unknown, prefix = ''): RemoteReference[] {
  const found: RemoteReference[] = [];
  const visit = (node: unknown, field: string): void => {
    if (typeof node === 'string') {
      // Generator `files`/`envs` entries may be `key=path`; the path is what gets loaded.
      const candidates = [node];
      const eq = node.indexOf('=');
      if (eq > 0 && !node.includes('\n')) candidates.push(node.slice(eq + 1));
      for (const c of candidates) {
        const form = remoteForm(c);
        if (form) {
          found.push({ field: field || '(document)', value: withoutUserinfo(node), form });
          return;
        }
      }
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${field}[${i}]`));
      return;
    }
    if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (CONTENT_KEYS.has(key)) continue;
        visit(value, field ? `${field}.${key}` : key);
      }
    }
  };
  visit(doc, prefix);
  return found;
}

/** `https://user:token@host/x` → `https://***@host/x`: a reference is named, its credentials never. */
export function withoutUserinfo(value: string): string {
  const clean = value.replace(/(^|[=\s])([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1$2***@');
  return clean.length > 200 ? `${clean.slice(0, 199)}…` : clean;
}
