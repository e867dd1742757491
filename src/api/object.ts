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

/** Inventory id `namespace_name_group_kind`, as in Flux's inventory (version kept beside it). */
export function objectId(ref: Pick<ObjectRef, 'group' | 'kind' | 'namespace' | 'name'>): string {
  return `${ref.namespace}_${ref.name}_${ref.group}_${ref.kind}`;
}

export function parseObjectId(id: string, version: string): ObjectRef {
  const [namespace, name, group, kind] = id.split('_');
  if (name === undefined || group === undefined || kind === undefined)
    throw new Error(`bad inventory id "${id}"`);
  return { namespace: namespace ?? '', name, group, kind, version };
}

/** Human form used in messages and status: `Deployment/apps/web`, `ClusterRole/view`. */
export function describeRef(ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}
