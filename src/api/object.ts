// The shape of an arbitrary Kubernetes object as Converge handles it, and its inventory id.

/** Any object as JSON: fields the client library does not know are kept as they are. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ObjectRef {
  group: string; // "" for the core group
  version: string;
  kind: string;
  namespace: string; // "" for cluster-scoped objects
  name: string;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

export function refOf(obj: KubeObject): ObjectRef {
  return {
    group: groupOf(obj.apiVersion),
    version: versionOf(obj.apiVersion),
    kind: obj.kind,
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
  };
}

/**
 * Inventory id `namespace_name_group_kind`, as in Flux's inventory (version kept beside it), with
 * `%` and `_` percent-encoded in every field. Namespaces, groups and kinds never hold `_`, but
 * object names may (RBAC names such as `system:foo_bar`; only `/` and `%` are refused in any
 * name), so a plain join splits more than one way. Encoded, every id has exactly three `_` and
 * reads back one way; an id whose name has no `_` is the same as before, so status stays small
 * and most inventories written by older versions are already in this form.
 */
export function objectId(ref: Pick<ObjectRef, 'group' | 'kind' | 'namespace' | 'name'>): string {
  return [ref.namespace, ref.name, ref.group, ref.kind].map(encodeIdField).join('_');
}

const encodeIdField = (s: string) => s.replaceAll('%', '%25').replaceAll('_', '%5F');
const decodeIdField = (s: string) => s.replace(/%(25|5F)/g, (m) => (m === '%25' ? '%' : '_'));

/**
 * Reads an inventory id, the current form or the plain `_` join of older versions.
 *
 * Old ids are ambiguous in general, so they are read best-effort: with more than three `_`, the
 * namespace is the first field and the group and kind are the last two, the name everything
 * between. That is exact for every kind whose namespace, group and kind follow Kubernetes' naming
 * rules (DNS labels and subdomains, CRD kinds; none may hold `_`), which covers built-in and
 * custom resources. It stays safe where it could be wrong (an aggregated API with `_` in a kind):
 * a parsed ref is only ever acted on after the live object is read and found labelled as ours
 * (see pruneBlocker), and after the next successful apply the status holds current ids only.
 * Decoding `%5F` cannot misread an old id: `%` is not allowed in any object name.
 */
export function parseObjectId(id: string, version: string): ObjectRef {
  const parts = id.split('_');
  if (parts.length < 4) throw new Error(`bad inventory id "${id}"`);
  const [namespace, group, kind] = [parts[0]!, parts.at(-2)!, parts.at(-1)!];
  const name = parts.slice(1, -2).join('_');
  if (!name || !kind) throw new Error(`bad inventory id "${id}"`);
  return {
    namespace: decodeIdField(namespace),
    name: decodeIdField(name),
    group: decodeIdField(group),
    kind: decodeIdField(kind),
    version,
  };
}

/** The current form of an id read from an inventory (old ids included), for comparing with new ones. */
export function canonicalObjectId(id: string): string {
  return objectId(parseObjectId(id, ''));
}

/** Human form used in messages and status: `Deployment/apps/web`, `ClusterRole/view`. */
export function describeRef(ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}
