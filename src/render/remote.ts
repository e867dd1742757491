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

/** A string of a kustomization or plugin config that kustomize may load as a path or URL. */
export interface ReferenceValue {
  field: string;
  value: string;
  /** The value, and for `key=path` entries (generator files/envs) the part after `=`. */
  candidates: string[];
}

/** Every string value of `doc` outside content subtrees (CONTENT_KEYS), depth first. */
export function referenceValues(doc: unknown, prefix = ''): ReferenceValue[] {
  const found: ReferenceValue[] = [];
  const visit = (node: unknown, field: string): void => {
    if (typeof node === 'string') {
      const candidates = [node];
      const eq = node.indexOf('=');
      if (eq > 0 && !node.includes('\n')) candidates.push(node.slice(eq + 1));
      found.push({ field: field || '(document)', value: node, candidates });
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${field}[${i}]`));
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (!CONTENT_KEYS.has(key)) visit(value, field ? `${field}.${key}` : key);
      }
    }
  };
  visit(doc, prefix);
  return found;
}

/** Every remote reference in `doc`, depth first, skipping content subtrees (CONTENT_KEYS). */
export function findRemoteReferences(doc: unknown, prefix = ''): RemoteReference[] {
  const found: RemoteReference[] = [];
  for (const ref of referenceValues(doc, prefix)) {
    const form = ref.candidates.map(remoteForm).find((f) => f !== undefined);
    if (form) found.push({ field: ref.field, value: withoutUserinfo(ref.value), form });
  }
  return found;
}

/** `https://user:token@host/x` → `https://***@host/x`: a reference is named, its credentials never. */
export function withoutUserinfo(value: string): string {
  const clean = value.replace(/(^|[=\s])([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1$2***@');
  return clean.length > 200 ? `${clean.slice(0, 199)}…` : clean;
}
