// REST paths for resources, from a REST mapping: pure string building.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** What discovery says about a kind: its plural resource name and whether it lives in a namespace. */
export interface RestMapping extends GroupVersionKind {
  resource: string;
  namespaced: boolean;
}

export function apiPrefix(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** `/apis/apps/v1/namespaces/web/deployments/app[/status]`; a collection when name is omitted. */
export function resourcePath(
  mapping: RestMapping,
  namespace: string,
  name?: string,
  subresource?: string,
): string {
  let path = apiPrefix(mapping.group, mapping.version);
  if (mapping.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${mapping.resource}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

export function gvkString(gvk: GroupVersionKind): string {
  return gvk.group ? `${gvk.kind}.${gvk.group}/${gvk.version}` : `${gvk.kind}/${gvk.version}`;
}
