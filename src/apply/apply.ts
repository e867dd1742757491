// applyChangeSet: writes a ChangeSet in stages with server-side apply; only changed objects are written.
import { ConvergeError, FIELD_MANAGER, describeRef, type KubeObject } from '../api/index.ts';
import {
  ApiError,
  combineFailures,
  immutableFieldError,
  immutableFields,
  mapLimit,
  objectError,
  resourcePath,
  sleep,
  type KubeClient,
  type ObjectFailure,
  type RestMapper,
} from '../kube/index.ts';
import {
  FOUNDATION_STAGE,
  STAGE_NAMES,
  stagesOf,
  type AppliedObjects,
  type ChangeSet,
  type PlannedObject,
} from '../plan/index.ts';

export interface ApplyChangeSetOptions {
  /** spec.force: recreate objects whose immutable fields changed (the per-object annotation is already in the plan). */
  force?: boolean;
  /** Writes in flight at once within a stage (default 16). */
  concurrency?: number;
  /** Bound for CRDs to become Established and Namespaces Active, and for a recreated object to go (default 60 s). */
  timeoutMs?: number;
  /** Poll interval for those waits (default 100 ms). */
  pollMs?: number;
  signal?: AbortSignal;
  /**
   * What this process applied for the owner: each object of the change set is recorded once the
   * whole set is applied; after a failure, the objects it meant to write are forgotten (any may
   * have been written), so the next plan dry-runs them.
   */
  applied?: AppliedObjects;
}

export interface AppliedObject {
  id: string;
  ref: PlannedObject['ref'];
  action: 'created' | 'configured' | 'recreated';
  uid: string;
  resourceVersion: string;
}

export interface ApplyResult {
  /** Objects written (created, configured or recreated), in apply order. */
  applied: AppliedObject[];
  /** Objects that needed no request. */
  unchanged: number;
}

/**
 * The apply did not reach the desired state. It names every object the API server refused; the
 * caller must not prune after it (objects of the failed revision stay as they were).
 */
export class ApplyError extends ConvergeError {
  constructor(
    error: ConvergeError,
    /** Objects written before the failure. */
    readonly applied: AppliedObject[],
    /** The objects that failed, each with an error naming it. */
    readonly failed: ObjectFailure[],
    /** Ids of changed objects in later stages that were not attempted. */
    readonly skipped: string[],
  ) {
    super(error.reason, error.message, { cause: error.cause });
  }
}

/**
 * Applies creates and configures stage by stage (see plan/order.ts), in parallel within a stage.
 * Unchanged objects get no request. All failures of a stage are collected, then later stages are
 * skipped and an ApplyError is thrown listing them: the caller must then not prune, since the
 * desired set was not reached and a prune could remove what the failed objects were replacing.
 */
export async function applyChangeSet(
  client: KubeClient,
  mapper: RestMapper,
  changeSet: ChangeSet,
  opts: ApplyChangeSetOptions = {},
): Promise<ApplyResult> {
  try {
    const result = await applyStages(client, mapper, changeSet, opts);
    opts.applied?.recordApplied(changeSet.objects);
    return result;
  } catch (err) {
    opts.applied?.forgetWritten(changeSet.objects);
    throw err;
  }
}

async function applyStages(
  client: KubeClient,
  mapper: RestMapper,
  changeSet: ChangeSet,
  opts: ApplyChangeSetOptions,
): Promise<ApplyResult> {
  const concurrency = opts.concurrency ?? 16;
  const timing = { timeoutMs: opts.timeoutMs ?? 60_000, pollMs: opts.pollMs ?? 100, signal: opts.signal };
  const changed = changeSet.objects.filter((o) => o.action !== 'unchanged');
  const unchanged = changeSet.objects.length - changed.length;
  const applied: AppliedObject[] = [];
  const stages = stagesOf(changed, (o) => o.ref);

  for (const [index, { stage, items }] of stages.entries()) {
    opts.signal?.throwIfAborted();
    const results = await mapLimit(items, concurrency, (o) =>
      applyOne(client, mapper, o, Boolean(opts.force) || o.force, timing),
    );
    opts.signal?.throwIfAborted();
    const failed: ObjectFailure[] = [];
    results.forEach((r, i) => {
      const o = items[i]!;
      if (r.status === 'fulfilled') {
        if (r.value) applied.push(r.value);
      } else failed.push({ ref: o.ref, error: objectError(o.ref, 'patch', r.reason, 'ApplyFailed') });
    });
    if (failed.length === 0 && stage === FOUNDATION_STAGE) {
      try {
        await waitForFoundation(client, items, timing);
        if (items.some((o) => o.ref.kind === 'CustomResourceDefinition')) await mapper.refresh();
      } catch (err) {
        opts.signal?.throwIfAborted();
        failed.push({
          ref: items[0]!.ref,
          error: err instanceof ConvergeError ? err : new ConvergeError('ApplyFailed', String(err)),
        });
      }
    }
    if (failed.length > 0) {
      const skipped = stages.slice(index + 1).flatMap((s) => s.items.map((o) => o.id));
      const error = combineFailures(failed, `apply (stage: ${STAGE_NAMES[stage] ?? stage})`);
      throw new ApplyError(error, applied, failed, skipped);
    }
  }
  return { applied, unchanged };
}

interface Timing {
  timeoutMs: number;
  pollMs: number;
  signal: AbortSignal | undefined;
}

async function applyOne(
  client: KubeClient,
  mapper: RestMapper,
  o: PlannedObject,
  force: boolean,
  timing: Timing,
): Promise<AppliedObject | undefined> {
  const mapping = await mapper.mappingFor(o.ref);
  const path = o.path ?? resourcePath(mapping, o.ref.namespace, o.ref.name);
  const done = (action: AppliedObject['action'], obj: KubeObject): AppliedObject => ({
    id: o.id,
    ref: o.ref,
    action,
    uid: String(obj.metadata.uid ?? ''),
    resourceVersion: String(obj.metadata.resourceVersion ?? ''),
  });
  const signal = timing.signal;

  if (o.createOnly) {
    // A create that must never overwrite: POST fails with 409 instead of taking over a live object.
    try {
      return done(
        'created',
        await client.request<KubeObject>('POST', resourcePath(mapping, o.ref.namespace), {
          body: o.object,
          query: { fieldManager: FIELD_MANAGER },
          signal,
        }),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return undefined;
      throw objectError(o.ref, 'create', err, 'ApplyFailed', mapping.resource);
    }
  }

  if (o.recreate && force) {
    // The plan's dry-run already met the immutable field: an apply would only fail.
    await deleteAndWait(client, path, o, timing);
    return done('recreated', await client.applyAt<KubeObject>(path, o.object, { signal }));
  }
  try {
    return done(
      o.action === 'create' ? 'created' : 'configured',
      await client.applyAt<KubeObject>(path, o.object, { signal }),
    );
  } catch (err) {
    const fields = immutableFields(err);
    if (!fields) throw objectError(o.ref, 'patch', err, 'ApplyFailed', mapping.resource);
    if (!force) throw immutableFieldError(o.ref, fields, err);
    await deleteAndWait(client, path, o, timing);
    try {
      return done('recreated', await client.applyAt<KubeObject>(path, o.object, { signal }));
    } catch (again) {
      throw objectError(o.ref, 'patch', again, 'ApplyFailed', mapping.resource);
    }
  }
}

/** Deletes the live object (only the one we planned against) and waits until it is gone. */
async function deleteAndWait(
  client: KubeClient,
  path: string,
  o: PlannedObject,
  timing: Timing,
): Promise<void> {
  const what = describeRef(o.ref);
  try {
    await client.delete(path, {
      propagationPolicy: 'Background',
      ...(o.live?.uid ? { uid: o.live.uid } : {}),
      signal: timing.signal,
    });
  } catch (err) {
    throw objectError(o.ref, 'delete', err, 'ApplyFailed');
  }
  const deadline = Date.now() + timing.timeoutMs;
  for (;;) {
    const live = await client.getIfExists<KubeObject>(path, { signal: timing.signal });
    if (!live || (o.live?.uid && live.metadata.uid !== o.live.uid)) return;
    if (Date.now() > deadline)
      throw new ConvergeError(
        'ApplyFailed',
        `${what}: still terminating ${timing.timeoutMs / 1000}s after delete (finalizers?); cannot recreate it`,
      );
    await sleep(timing.pollMs, timing.signal);
  }
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** CRDs Established and Namespaces Active: later stages need them. */
async function waitForFoundation(
  client: KubeClient,
  items: readonly PlannedObject[],
  timing: Timing,
): Promise<void> {
  const deadline = Date.now() + timing.timeoutMs;
  await Promise.all(
    items.map(async (o) => {
      const isCrd = o.ref.kind === 'CustomResourceDefinition';
      const path = isCrd
        ? `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${o.ref.name}`
        : `/api/v1/namespaces/${o.ref.name}`;
      let why: string;
      for (;;) {
        const live = await client.getIfExists<
          KubeObject & { status?: { phase?: string; conditions?: Condition[] } }
        >(path, { signal: timing.signal });
        if (isCrd) {
          const established = live?.status?.conditions?.find((c) => c.type === 'Established');
          if (established?.status === 'True') return;
          const names = live?.status?.conditions?.find((c) => c.type === 'NamesAccepted');
          why =
            names?.status === 'False'
              ? `names not accepted: ${names.message}`
              : (established?.message ?? 'not Established yet');
        } else {
          if (live?.status?.phase === 'Active') return;
          why = live ? `phase ${live.status?.phase ?? 'unknown'}` : 'not found';
        }
        if (Date.now() > deadline) {
          throw new ConvergeError(
            'ApplyFailed',
            `${describeRef(o.ref)}: not ${isCrd ? 'Established' : 'Active'} after ${timing.timeoutMs / 1000}s: ${why}`,
          );
        }
        await sleep(timing.pollMs, timing.signal);
      }
    }),
  );
}
