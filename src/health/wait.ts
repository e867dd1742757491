// waitForHealthy: polls applied objects until the kstatus-style rules say all are Current, one fails, or time runs out.
import { ConvergeError, describeRef, type KubeObject, type ObjectRef } from '../api/index.ts';
import { mapLimit, resourcePath, sleep, type KubeClient, type RestMapper } from '../kube/index.ts';
import { assessHealth, type HealthStatus } from './rules.ts';

export interface WaitForHealthyOptions {
  /** Bound for the whole wait; then HealthCheckFailed names the objects still not ready. */
  timeoutMs: number;
  /** The bound as the message shows it (default timeoutMs in seconds), e.g. `5s` of spec.timeout when timeoutMs is what is left of it. */
  timeoutText?: string;
  /** A new revision aborts the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Between polls of the objects not yet Current (default 500 ms). */
  pollMs?: number;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Told the objects still not healthy whenever their number changes (for a progress message). */
  onProgress?: (pending: readonly ObjectHealth[], total: number) => void | Promise<void>;
}

export interface ObjectHealth {
  ref: ObjectRef;
  status: HealthStatus;
  message: string;
}

export interface HealthReport {
  objects: ObjectHealth[];
  durationMs: number;
}

/** A collection with at least this many objects to check is read with one LIST instead of GETs. */
const LIST_THRESHOLD = 4;

/**
 * Resolves when every object is Current. Rejects with ConvergeError('HealthCheckFailed') as soon
 * as one is Failed, or when timeoutMs passes with some still InProgress/Unknown (naming them and
 * why); rejects with the signal's reason when aborted.
 */
export async function waitForHealthy(
  client: KubeClient,
  mapper: RestMapper,
  refs: readonly ObjectRef[],
  opts: WaitForHealthyOptions,
): Promise<HealthReport> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const pollMs = opts.pollMs ?? 500;
  const concurrency = opts.concurrency ?? 16;
  const health = new Map<ObjectRef, ObjectHealth>();
  let pending = [...refs];
  let first = true;

  for (;;) {
    opts.signal?.throwIfAborted();
    const live = await readAll(client, mapper, pending, concurrency, opts.signal);
    for (const ref of pending) {
      const obj = live.get(ref);
      const assessed = obj
        ? assessHealth(obj)
        : { status: 'InProgress' as const, message: `${describeRef(ref)}: not found` };
      health.set(ref, { ref, ...assessed });
    }
    const failed = pending.map((r) => health.get(r)!).filter((h) => h.status === 'Failed');
    if (failed.length > 0) {
      throw new ConvergeError(
        'HealthCheckFailed',
        `${failed.length === 1 ? '' : `${failed.length} objects failed: `}${failed.map((h) => h.message).join('; ')}`,
      );
    }
    const before = pending.length;
    pending = pending.filter((r) => health.get(r)!.status !== 'Current');
    if (pending.length > 0 && (pending.length !== before || first))
      await opts.onProgress?.(
        pending.map((r) => health.get(r)!),
        refs.length,
      );
    first = false;
    if (pending.length === 0)
      return { objects: refs.map((r) => health.get(r)!), durationMs: Date.now() - started };
    if (Date.now() + pollMs > deadline) {
      const shown = pending.slice(0, 5).map((r) => health.get(r)!.message);
      if (pending.length > 5) shown.push(`… and ${pending.length - 5} more`);
      throw new ConvergeError(
        'HealthCheckFailed',
        `timed out after ${opts.timeoutText ?? `${Math.round(opts.timeoutMs / 1000)}s`} waiting for ${pending.length} object(s) to become ready: ${shown.join('; ')}`,
      );
    }
    await sleep(pollMs, opts.signal);
  }
}

/** Live objects by ref (missing ones absent): a LIST for big collections, GETs for the rest. */
async function readAll(
  client: KubeClient,
  mapper: RestMapper,
  refs: readonly ObjectRef[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<Map<ObjectRef, KubeObject>> {
  const out = new Map<ObjectRef, KubeObject>();
  const collections = new Map<string, { paths: Map<string, ObjectRef>; path: string }>();
  const single: { ref: ObjectRef; path: string }[] = [];
  for (const ref of refs) {
    const mapping = await mapper.tryMappingFor(ref);
    if (!mapping) continue;
    const collection = resourcePath(mapping, ref.namespace);
    const c = collections.get(collection) ?? { path: collection, paths: new Map() };
    c.paths.set(ref.name, ref);
    collections.set(collection, c);
  }
  const lists: { path: string; names: Map<string, ObjectRef> }[] = [];
  for (const c of collections.values()) {
    if (c.paths.size >= LIST_THRESHOLD) lists.push({ path: c.path, names: c.paths });
    else
      for (const [name, ref] of c.paths) single.push({ ref, path: `${c.path}/${encodeURIComponent(name)}` });
  }
  const reads = await mapLimit(
    [...lists.map((l) => ({ list: l })), ...single.map((s) => ({ single: s }))],
    concurrency,
    async (job) => {
      if ('list' in job) {
        const { items } = await client.list<KubeObject>(job.list.path, { signal });
        for (const item of items) {
          const ref = job.list.names.get(item.metadata.name);
          if (ref) out.set(ref, item);
        }
      } else {
        const obj = await client.getIfExists<KubeObject>(job.single.path, { signal });
        if (obj) out.set(job.single.ref, obj);
      }
    },
  );
  signal?.throwIfAborted();
  for (const r of reads)
    if (r.status === 'rejected')
      throw new ConvergeError('HealthCheckFailed', `reading objects for health checks: ${String(r.reason)}`, {
        cause: r.reason,
      });
  return out;
}
