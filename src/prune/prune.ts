// pruneStale: deletes objects that left Git, in reverse apply order, only while they still belong to this owner.
import {
  ConvergeError,
  describeRef,
  objectId,
  type InventoryEntry,
  type KubeObject,
  type ObjectRef,
} from '../api/index.ts';
import {
  ApiError,
  isNotFound,
  mapLimit,
  objectError,
  resourcePath,
  type KubeClient,
  type ObjectFailure,
  type RestMapper,
} from '../kube/index.ts';
import { pruneBlocker, stagesOf, type Owner, type StaleObject } from '../plan/index.ts';
import { staleEntries } from './inventory.ts';

export interface PruneOptions {
  owner: Owner;
  /** Deletes in flight at once within a stage (default 16). */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface SkippedObject extends StaleObject {
  reason: string;
}

export interface PruneResult {
  /** Deleted now (deletion requested, background propagation). */
  pruned: StaleObject[];
  /** Already gone (404, or its kind is no longer served). */
  gone: StaleObject[];
  /** Left alone: `prune: disabled`, or no longer carrying this owner's labels. */
  skipped: SkippedObject[];
}

/** Some deletions failed; the message names each object. `result` says what was done anyway. */
export class PruneError extends ConvergeError {
  constructor(
    error: ConvergeError,
    readonly result: PruneResult,
    readonly failed: ObjectFailure[],
  ) {
    super(error.reason === 'RBACDenied' ? 'RBACDenied' : 'PruneFailed', error.message, {
      cause: error.cause,
    });
  }
}

type Stale = StaleObject | ObjectRef | InventoryEntry;

/** DELETE on the condition that the object is still the one seen; `changed` when it is not (409). */
async function deleteIfUnchanged(
  client: KubeClient,
  path: string,
  seen: { uid: string; resourceVersion: string },
  signal: AbortSignal | undefined,
): Promise<'pruned' | 'gone' | 'changed'> {
  try {
    await client.request('DELETE', path, {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', preconditions: seen },
      signal,
    });
    return 'pruned';
  } catch (err) {
    if (isNotFound(err)) return 'gone';
    if (err instanceof ApiError && err.status === 409) return 'changed';
    throw err;
  }
}

function toStale(s: Stale): StaleObject {
  if ('ref' in s) return s;
  if ('kind' in s) return { id: objectId(s), ref: s };
  return staleEntries([s], [])[0]!;
}

/**
 * Deletes stale objects (newest stages first: workloads before namespaces and CRDs) with
 * propagationPolicy Background. An object is deleted only if it still carries this owner's
 * ownership labels and lacks `gitops.converge.dev/prune: disabled`; the delete is conditional on
 * the uid just read, so an object recreated meanwhile is never removed. An object the plan read
 * as ours (`seen`) is deleted at once on the condition that its uid and resourceVersion are still
 * those, and read again only when they are not. Throws PruneError when any deletion fails (after
 * trying all).
 */
export async function pruneStale(
  client: KubeClient,
  mapper: RestMapper,
  stale: readonly Stale[],
  opts: PruneOptions,
): Promise<PruneResult> {
  const result: PruneResult = { pruned: [], gone: [], skipped: [] };
  const failed: ObjectFailure[] = [];
  const items = stale.map(toStale);
  for (const { items: stage } of stagesOf(items, (s) => s.ref, true)) {
    opts.signal?.throwIfAborted();
    const outcomes = await mapLimit(
      stage,
      opts.concurrency ?? 16,
      async (s): Promise<'pruned' | 'gone' | string> => {
        const mapping = await mapper.tryMappingFor(s.ref);
        if (!mapping) return 'gone';
        const path = resourcePath(mapping, s.ref.namespace, s.ref.name);
        if (s.seen && !s.keep) {
          // Unchanged since the plan read it (ours, prunable): one request instead of a GET and a DELETE.
          const outcome = await deleteIfUnchanged(client, path, s.seen, opts.signal).catch((err: unknown) => {
            throw objectError(s.ref, 'delete', err, 'PruneFailed', mapping.resource);
          });
          if (outcome !== 'changed') return outcome;
        }
        const live = await client.getIfExists<KubeObject>(path, { signal: opts.signal });
        if (!live) return 'gone';
        const blocker = pruneBlocker(live, opts.owner);
        if (blocker) return blocker;
        const uid = live.metadata.uid as string | undefined;
        try {
          return (await client.delete(path, {
            propagationPolicy: 'Background',
            ...(uid ? { uid } : {}),
            signal: opts.signal,
          }))
            ? 'pruned'
            : 'gone';
        } catch (err) {
          throw objectError(s.ref, 'delete', err, 'PruneFailed', mapping.resource);
        }
      },
    );
    outcomes.forEach((o, i) => {
      const s = stage[i]!;
      if (o.status === 'rejected')
        failed.push({ ref: s.ref, error: objectError(s.ref, 'delete', o.reason, 'PruneFailed') });
      else if (o.value === 'pruned') result.pruned.push(s);
      else if (o.value === 'gone') result.gone.push(s);
      else result.skipped.push({ ...s, reason: o.value });
    });
  }
  opts.signal?.throwIfAborted();
  if (failed.length > 0) {
    const message = failed.map((f) => f.error.message).join('; ');
    const first = failed[0]!.error;
    throw new PruneError(
      new ConvergeError(
        first.reason,
        `could not prune ${failed.length === 1 ? describeRef(failed[0]!.ref) : `${failed.length} objects`}: ${message}`,
        { cause: first },
      ),
      result,
      failed,
    );
  }
  return result;
}
