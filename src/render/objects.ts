// From parsed documents to validated Kubernetes objects: List flattening, checks, namespaces, duplicates.
import { ConvergeError, describeRef, groupOf, type KubeObject } from '../api/index.ts';
import { ARGO_HOOK, HELM_HOOK, isHookObject } from '../hooks/index.ts';
import type { ScopeResolver } from './scope.ts';
import { substituteDeep } from './substitute.ts';
import type { SourceDocument } from './yaml.ts';

/** An object and the place in the repository it came from, for messages. */
export interface PlacedObject {
  object: KubeObject;
  origin: string;
}

function originOf(doc: SourceDocument, item?: number): string {
  return item === undefined
    ? `${doc.source} (document ${doc.index})`
    : `${doc.source} (document ${doc.index}, item ${item + 1})`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Whether a document tries to be a Kubernetes object at all (decides if a plain file is skipped). */
export function looksLikeManifest(value: unknown): boolean {
  return isRecord(value) && ('apiVersion' in value || 'kind' in value || 'metadata' in value);
}

/** Substitutes, flattens `v1 List`s and validates the documents of one source. Empty documents are skipped. */
export function toObjects(
  docs: readonly SourceDocument[],
  vars: Readonly<Record<string, string>>,
): PlacedObject[] {
  const out: PlacedObject[] = [];
  for (const doc of docs) {
    if (doc.value === null || doc.value === undefined) continue;
    const value = substituteDeep(doc.value, vars);
    if (
      isRecord(value) &&
      typeof value['kind'] === 'string' &&
      value['kind'].endsWith('List') &&
      Array.isArray(value['items'])
    ) {
      (value['items'] as unknown[]).forEach((item, i) => out.push(validate(item, originOf(doc, i))));
    } else {
      out.push(validate(value, originOf(doc)));
    }
  }
  return out;
}

function validate(value: unknown, origin: string): PlacedObject {
  const fail = (what: string): never => {
    throw new ConvergeError('RenderFailed', `${origin}: ${what}`);
  };
  if (!isRecord(value))
    return fail('not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)');
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '')
    return fail('apiVersion is missing or not a string');
  if (typeof kind !== 'string' || kind === '') return fail('kind is missing or not a string');
  if (!isRecord(metadata)) return fail(`${kind} has no metadata`);
  const { name, namespace } = metadata;
  if (typeof name !== 'string' || name === '') {
    const generateName = metadata['generateName'];
    if (typeof generateName !== 'string' || generateName === '') return fail(`${kind} has no metadata.name`);
    // A hook runs as a new object each time, so it may be named by the API server; a kept object may not.
    if (!isHookObject({ metadata: metadata as KubeObject['metadata'] })) {
      return fail(
        `${kind} ${generateName}*: generateName is only allowed for hooks (${HELM_HOOK} or ${ARGO_HOOK}); an object Converge keeps in sync needs metadata.name`,
      );
    }
    metadata['name'] = '';
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || namespace === '')) {
    return fail(`${kind} ${name}: metadata.namespace must be a non-empty string`);
  }
  return { object: value as KubeObject, origin };
}

/**
 * Gives namespaced objects without a namespace the target one, drops the namespace from
 * cluster-scoped objects (the API server ignores it there, and it would skew ids and diffs),
 * and refuses the same object twice.
 */
export function placeObjects(
  placed: readonly PlacedObject[],
  scopes: ScopeResolver,
  targetNamespace: string | undefined,
): KubeObject[] {
  const seen = new Map<string, string>();
  const out: KubeObject[] = [];
  for (const { object, origin } of placed) {
    const clusterScoped = scopes.isClusterScoped(object.apiVersion, object.kind);
    if (clusterScoped === true) {
      delete object.metadata.namespace;
    } else if (object.metadata.namespace === undefined && targetNamespace) {
      object.metadata.namespace = targetNamespace;
    }
    const ns = object.metadata.namespace ?? '';
    // Hooks named by generateName are new objects each run: no two of them can clash.
    if (object.metadata.name === '') {
      out.push(object);
      continue;
    }
    const key = [groupOf(object.apiVersion), object.kind, ns, object.metadata.name].join('\u0000');
    const first = seen.get(key);
    if (first !== undefined) {
      const ref = describeRef({ kind: object.kind, namespace: ns, name: object.metadata.name });
      throw new ConvergeError('RenderFailed', `${ref} is defined twice: in ${first} and in ${origin}`);
    }
    seen.set(key, origin);
    out.push(object);
  }
  return out;
}

export function isCrd(obj: KubeObject): boolean {
  return obj.kind === 'CustomResourceDefinition' && groupOf(obj.apiVersion) === 'apiextensions.k8s.io';
}
