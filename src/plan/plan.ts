// planChanges: desired objects + live cluster → ChangeSet, with server-side dry-run applies and no writes.
import {
  ANNOTATION_FORCE,
  ANNOTATION_PRUNE,
  ANNOTATION_SSA,
  LABEL_NAME,
  LABEL_NAMESPACE,
  objectId,
  parseObjectId,
  refOf,
  type IgnoreRule,
  type InventoryEntry,
  type KubeObject,
  type ObjectRef,
  ConvergeError,
  describeRef,
} from '../api/index.ts';
import {
  ApiError,
  UnknownKindError,
  combineFailures,
  isNotFound,
  fieldToPointer,
  immutableFieldError,
  immutableFields,
  mapLimit,
  objectError,
  resourcePath,
  type KubeClient,
  type ObjectFailure,
  type RestMapper,
  type RestMapping,
} from '../kube/index.ts';
import { AppliedObjects } from './applied.ts';
import type { ChangeSet, Owner, PlannedObject, StaleObject } from './changeset.ts';
import { comparedObjects, diffObjects, driftedFields, ignorePathsFor, withIgnoredFromLive } from './diff.ts';
import { compareApplyOrder } from './order.ts';
import { ownerOf, ownershipConflict } from './ownership.ts';

export interface PlanOptions {
  owner: Owner;
  ignore?: IgnoreRule[];
  /** The inventory of the last successful apply: entries no longer desired become stale. */
  inventory?: InventoryEntry[];
  /** spec.force: recreate objects on immutable-field errors. */
  force?: boolean;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /**
   * Whether the GitSource `owner` exists and still declares the object `id` (its status inventory
   * holds it). An object whose labels name another owner is refused only when that owner does:
   * labels of a deleted GitSource, or rewritten by hand, claim nothing. When unset, or when it
   * cannot tell, the labels are taken at their word.
   */
  declaredBy?: (owner: Owner, id: string) => Promise<boolean>;
  /** Keep the normalized live and after-apply objects on each planned object (`converge diff`). */
  withObjects?: boolean;
  /**
   * What this process last applied for the owner: an object whose desired form it applied already
   * and whose live state still holds it is unchanged without a dry-run. Each planned object gets
   * its digest, for the caller to record once the apply succeeded.
   */
  applied?: AppliedObjects;
  signal?: AbortSignal;
}

/** Up to this many unknown names per collection are looked up one by one instead of listed. */
const PROBE_LIMIT = 8;

const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

/** Adds the ownership labels; a copy, the input is left as it was. */
export function withOwnerLabels(obj: KubeObject, owner: Owner): KubeObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      labels: { ...obj.metadata.labels, [LABEL_NAME]: owner.name, [LABEL_NAMESPACE]: owner.namespace },
    },
  };
}

export function ownerSelector(owner: Owner): string {
  return `${LABEL_NAME}=${owner.name},${LABEL_NAMESPACE}=${owner.namespace}`;
}

/** Kinds a CRD in the set will serve once Established: `group/version/kind` → namespaced. */
function pendingKinds(desired: readonly KubeObject[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const obj of desired) {
    if (obj.kind !== 'CustomResourceDefinition' || !obj.apiVersion.startsWith('apiextensions.k8s.io/'))
      continue;
    const spec = obj.spec as
      | { group?: string; scope?: string; names?: { kind?: string }; versions?: { name?: string }[] }
      | undefined;
    for (const v of spec?.versions ?? [])
      out.set(`${spec?.group}/${v.name}/${spec?.names?.kind}`, spec?.scope !== 'Cluster');
  }
  return out;
}

interface Prepared {
  ref: ObjectRef;
  object: KubeObject;
  mapping?: RestMapping;
}

/**
 * Compares desired objects with the cluster. Reads only (GET, LIST, dry-run PATCH): nothing is written.
 * Objects that do not exist are planned as creates without a dry-run (the apply validates them);
 * existing ones get a dry-run apply compared with the live object. Throws a ConvergeError naming
 * every object that could not be planned (unknown kind, rejected by the dry-run, RBAC).
 */
export async function planChanges(
  client: KubeClient,
  mapper: RestMapper,
  desired: readonly KubeObject[],
  opts: PlanOptions,
): Promise<ChangeSet> {
  const concurrency = opts.concurrency ?? 16;
  const signal = opts.signal;
  const failures: ObjectFailure[] = [];
  const crdKinds = pendingKinds(desired);

  // 1. Labels, REST mapping, namespace scope.
  const prepared: Prepared[] = [];
  const seen = new Set<string>();
  const mappings = await mapLimit(desired, concurrency, (obj) => mapper.tryMappingFor(refOf(obj)));
  desired.forEach((raw, i) => {
    const obj = withOwnerLabels(raw, opts.owner);
    let ref = refOf(obj);
    const settled = mappings[i]!;
    if (settled.status === 'rejected') {
      failures.push({ ref, error: objectError(ref, 'discover', settled.reason, 'ApplyFailed') });
      return;
    }
    const mapping = settled.value;
    const namespaced = mapping ? mapping.namespaced : crdKinds.get(`${ref.group}/${ref.version}/${ref.kind}`);
    if (namespaced === undefined) {
      const unknown = new UnknownKindError(ref);
      failures.push({
        ref,
        error: new ConvergeError(unknown.reason, `${describeRef(ref)}: ${unknown.message}`, {
          cause: unknown,
        }),
      });
      return;
    }
    if (!namespaced && ref.namespace) {
      // Cluster-scoped objects ignore metadata.namespace, as kubectl does; the id must not carry it.
      const { namespace: _, ...metadata } = obj.metadata;
      obj.metadata = metadata;
      ref = { ...ref, namespace: '' };
    }
    if (namespaced && !ref.namespace) {
      failures.push({
        ref,
        error: new ConvergeError(
          'ApplyFailed',
          `${ref.kind}/${ref.name}: namespaced kind without metadata.namespace (set it, or spec.targetNamespace)`,
        ),
      });
      return;
    }
    const id = objectId(ref);
    if (seen.has(id)) {
      failures.push({
        ref,
        error: new ConvergeError(
          'ApplyFailed',
          `${ref.kind}/${ref.namespace ? ref.namespace + '/' : ''}${ref.name}: defined twice`,
        ),
      });
      return;
    }
    seen.add(id);
    prepared.push({ ref, object: obj, ...(mapping ? { mapping } : {}) });
  });
  if (failures.length > 0) throw combineFailures(failures, 'plan');

  // 2. Live objects: one LIST per collection for what we own, a metadata LIST for the rest.
  const collections = new Map<string, { mapping: RestMapping; namespace: string; names: Set<string> }>();
  for (const p of prepared) {
    if (!p.mapping) continue;
    const path = resourcePath(p.mapping, p.ref.namespace);
    const entry = collections.get(path) ?? {
      mapping: p.mapping,
      namespace: p.ref.namespace,
      names: new Set(),
    };
    entry.names.add(p.ref.name);
    collections.set(path, entry);
  }
  const owned = new Map<string, KubeObject>(); // by object path
  const existing = new Set<string>(); // object paths known to exist (owned or not), or worth a GET
  const unknown = new Set<string>(); // collections we could not list: fall back to GET
  // Collections we applied to before: listing our objects there is cheaper than a GET each.
  const inventoried = new Set<string>();
  for (const e of opts.inventory ?? []) {
    const r = parseObjectId(e.id, e.v);
    inventoried.add(`${r.group}/${r.kind}/${r.namespace}`);
  }
  await settleAll(
    mapLimit([...collections], concurrency, async ([path, c]) => {
      try {
        if (inventoried.has(`${c.mapping.group}/${c.mapping.kind}/${c.namespace}`)) {
          const list = await client.list<KubeObject>(path, {
            labelSelector: ownerSelector(opts.owner),
            signal,
          });
          for (const item of list.items) {
            const itemPath = resourcePath(c.mapping, c.namespace, item.metadata.name);
            // Often half of an object, and nothing the plan compares: 10,000 kept ones weigh less without it.
            delete item.metadata.managedFields;
            owned.set(itemPath, item);
            existing.add(itemPath);
          }
        }
        const missing = [...c.names].filter((n) => !owned.has(resourcePath(c.mapping, c.namespace, n)));
        if (missing.length <= PROBE_LIMIT) {
          // A few names: a GET each (usually a 404) costs less than listing a collection that may
          // hold thousands of other objects.
          for (const n of missing) existing.add(resourcePath(c.mapping, c.namespace, n));
        } else if (missing.length > 0) {
          const all = await client.list<KubeObject>(path, { accept: METADATA_LIST, signal });
          for (const item of all.items)
            existing.add(resourcePath(c.mapping, c.namespace, item.metadata.name));
        }
      } catch (err) {
        if (err instanceof ApiError && (err.status === 403 || err.status === 404)) unknown.add(path);
        else throw err;
      }
    }),
  );

  // 3. Per object: create, or dry-run and compare.
  const planned = await mapLimit(prepared, concurrency, async (p): Promise<PlannedObject> => {
    const { ref, object } = p;
    const id = objectId(ref);
    const annotations = object.metadata.annotations ?? {};
    const ignorePaths = ignorePathsFor(ref, opts.ignore);
    const digest = opts.applied ? AppliedObjects.digestOf(object, ignorePaths) : undefined;
    const base = {
      id,
      ref,
      force: Boolean(opts.force) || annotations[ANNOTATION_FORCE] === 'enabled',
      createOnly: annotations[ANNOTATION_SSA] === 'IfNotPresent',
      ...(digest !== undefined ? { digest } : {}),
    };
    const isSecret = ref.kind === 'Secret' && ref.group === '';
    const compared = (live: KubeObject | undefined, after: KubeObject) =>
      opts.withObjects ? { compared: comparedObjects(live, after, ignorePaths, isSecret) } : {};
    if (!p.mapping)
      return { ...base, action: 'create', object, pending: 'crd', ...compared(undefined, object) };
    const path = resourcePath(p.mapping, ref.namespace, ref.name);
    let live = owned.get(path);
    if (!live && (existing.has(path) || unknown.has(resourcePath(p.mapping, ref.namespace)))) {
      live = await client.getIfExists<KubeObject>(path, { signal });
    }
    if (!live) return { ...base, action: 'create', object, path, ...compared(undefined, object) };
    // A create-only object is never written once it exists, so it takes nothing over: two
    // GitSources may both declare, say, a shared Namespace that way.
    const conflict = base.createOnly ? undefined : ownershipConflict(ref, live, object, opts.owner);
    if (conflict && (await claimedByOther(live, id, opts))) throw new ConvergeError('ApplyFailed', conflict);
    const identity = {
      uid: String(live.metadata.uid ?? ''),
      resourceVersion: String(live.metadata.resourceVersion ?? ''),
    };
    if (base.createOnly) return { ...base, action: 'unchanged', object, path, live: identity };
    let toApply = withIgnoredFromLive(object, live, ignorePaths);
    if (
      !opts.withObjects &&
      opts.applied?.holds(id, digest) &&
      driftedFields(object, live, ignorePaths).length === 0
    ) {
      // Applied in this form already, and nobody took a field of it away: a dry-run would say the same.
      return { ...base, action: 'unchanged', object: toApply, path, live: identity };
    }
    let dryRun: KubeObject;
    try {
      dryRun = await client.applyAt<KubeObject>(path, toApply, { dryRun: true, signal });
      if (dryRun.metadata.resourceVersion !== live.metadata.resourceVersion) {
        // Someone (often a controller) wrote the object between our read and the dry-run: compare
        // with what it is now, or their change would show up as ours.
        const fresh = await client.getIfExists<KubeObject>(path, { signal });
        if (fresh) {
          live = fresh;
          toApply = withIgnoredFromLive(object, live, ignorePaths);
          dryRun = await client.applyAt<KubeObject>(path, toApply, { dryRun: true, signal });
        }
      }
    } catch (err) {
      if (isNotFound(err)) return { ...base, action: 'create', object, path, ...compared(undefined, object) };
      const fields = immutableFields(err);
      if (!fields) throw objectError(ref, 'patch', err, 'ApplyFailed');
      if (!base.force) throw immutableFieldError(ref, fields, err);
      // With force the apply deletes and recreates it; the diff names what forces that.
      const changes = fields.map((f) => ({ op: 'replace' as const, path: fieldToPointer(f) }));
      return {
        ...base,
        action: 'configure',
        object: toApply,
        path,
        live: identity,
        changes,
        recreate: true,
        ...compared(live, toApply),
      };
    }
    const changes = diffObjects(live, dryRun, { ignorePaths, hideValues: isSecret });
    return {
      ...base,
      action: changes.length ? 'configure' : 'unchanged',
      object: toApply,
      path,
      live: identity,
      ...(changes.length ? { changes } : {}),
      ...compared(live, dryRun),
    };
  });
  const objects: PlannedObject[] = [];
  planned.forEach((r, i) => {
    if (r.status === 'fulfilled') objects.push(r.value);
    else
      failures.push({
        ref: prepared[i]!.ref,
        error: objectError(prepared[i]!.ref, 'plan', r.reason, 'ApplyFailed'),
      });
  });
  signal?.throwIfAborted();
  if (failures.length > 0) throw combineFailures(failures, 'plan');
  objects.sort((a, b) => compareApplyOrder(a.ref, b.ref));

  const desiredIds = new Set(objects.map((o) => o.id));
  // Compared in the current id form: an entry written by an older version (plain `_` join) is
  // still the same object, not a stale one.
  const candidates = [
    ...new Map(
      (opts.inventory ?? []).map((e) => {
        const ref = parseObjectId(e.id, e.v);
        return [objectId(ref), { id: objectId(ref), ref }] as const;
      }),
    ).values(),
  ].filter((c) => !desiredIds.has(c.id));
  // Look at each stale object now, so the change set (and the Diverged message) says what a prune
  // will really do: gone ones drop out, foreign or opted-out ones are kept with the reason.
  const checked = await mapLimit(candidates, concurrency, async (c): Promise<StaleObject | undefined> => {
    const mapping = await mapper.tryMappingFor(c.ref);
    if (!mapping) return undefined;
    const path = resourcePath(mapping, c.ref.namespace, c.ref.name);
    // Listed above with our labels (a prune of 1,000 then costs no GETs here); otherwise read it.
    const live = owned.get(path) ?? (await client.getIfExists<KubeObject>(path, { signal }));
    if (!live) return undefined;
    const keep = pruneBlocker(live, opts.owner);
    if (keep) return { ...c, keep };
    const { uid, resourceVersion } = live.metadata as { uid?: string; resourceVersion?: string };
    return uid && resourceVersion ? { ...c, seen: { uid, resourceVersion } } : c;
  });
  const stale: StaleObject[] = [];
  checked.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      if (r.value) stale.push(r.value);
    } else {
      // Unreadable now: leave the decision to the prune, which checks again before deleting.
      stale.push(candidates[i]!);
    }
  });
  stale.sort((a, b) => compareApplyOrder(a.ref, b.ref));
  return { owner: opts.owner, objects, stale };
}

async function claimedByOther(live: KubeObject, id: string, opts: PlanOptions): Promise<boolean> {
  const owner = ownerOf(live);
  if (!owner || !opts.declaredBy) return true;
  return opts.declaredBy(owner, id);
}

/** Why a stale live object must not be deleted by this owner, or undefined when it may be. */
export function pruneBlocker(live: KubeObject, owner: Owner): string | undefined {
  const labels = live.metadata.labels ?? {};
  if (labels[LABEL_NAME] !== owner.name || labels[LABEL_NAMESPACE] !== owner.namespace) {
    return `no longer labelled as owned by ${owner.namespace}/${owner.name}`;
  }
  if (live.metadata.annotations?.[ANNOTATION_PRUNE] === 'disabled') return `${ANNOTATION_PRUNE}: disabled`;
  return undefined;
}

async function settleAll(results: Promise<PromiseSettledResult<unknown>[]>): Promise<void> {
  for (const r of await results) if (r.status === 'rejected') throw r.reason;
}
