// List+watch of one collection (an informer without a shared cache): relists on 410 Gone, reconnects on failures.
import type { KubeClient } from './client.ts';
import { ApiError } from './errors.ts';
import { sleep } from './limit.ts';

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  /** After each (re)list: every object that exists now. Events before it describe the difference to the last view. */
  | { type: 'SYNCED'; objects: T[]; resourceVersion: string };

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Start watching from here without an initial list (no SYNCED until a relist is needed). */
  resourceVersion?: string;
  signal?: AbortSignal;
  /** Transient failures (dropped connection, server restart, a throwing handler), for logging. */
  onError?: (err: unknown) => void;
  /** First reconnect delay in ms (default 200), doubling up to maxRetryDelayMs (default 5000). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Server-side watch duration bound in seconds (default 300, jittered); the stream is then reopened. */
  timeoutSeconds?: number;
  /**
   * false: SYNCED carries no objects, and a list is handled a page at a time, so a watch over
   * thousands of objects never holds them all in full (default true).
   */
  syncedObjects?: boolean;
}

/** Anything with object metadata: KubeObject, or a typed resource such as GitSource. */
export interface Watchable {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

const keyOf = (obj: Watchable) => `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
const rvOf = (obj: Watchable) => obj.metadata.resourceVersion ?? '';

/**
 * What the watch remembers of each object to tell a relist's differences: identity, labels and
 * version. Whole objects (with managedFields) for thousands of watched objects would dominate the
 * operator's memory, and the handler receives the full object with every event anyway.
 */
function stub<T extends Watchable>(obj: T): T {
  const o = obj as T & {
    apiVersion?: string;
    kind?: string;
    metadata: { uid?: string; labels?: Record<string, string> };
  };
  const m = o.metadata;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: m.labels,
    },
  } as unknown as T;
}

/** Runs until opts.signal aborts; resolves then. */
export async function watchResource<T extends Watchable>(
  client: KubeClient,
  path: string,
  opts: WatchOptions,
  onEvent: (event: WatchEvent<T>) => Promise<void> | void,
): Promise<void> {
  const known = new Map<string, T>();
  let resourceVersion = opts.resourceVersion;
  const baseDelay = opts.retryDelayMs ?? 200;
  let delay = baseDelay;
  const signal = opts.signal;

  const emit = async (event: WatchEvent<T>) => {
    try {
      await onEvent(event);
    } catch (err) {
      opts.onError?.(err);
    }
  };

  while (!signal?.aborted) {
    try {
      if (!resourceVersion) {
        const seen = new Set<string>();
        const listed: T[] = [];
        let listVersion = '';
        for await (const page of client.listPages<T>(path, {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          signal,
        })) {
          listVersion = page.resourceVersion;
          for (const obj of page.items) {
            const key = keyOf(obj);
            seen.add(key);
            const before = known.get(key);
            known.set(key, stub(obj));
            if (!before) await emit({ type: 'ADDED', object: obj });
            else if (rvOf(before) !== rvOf(obj)) await emit({ type: 'MODIFIED', object: obj });
          }
          if (opts.syncedObjects !== false) for (const obj of page.items) listed.push(obj);
        }
        for (const [key, obj] of known) {
          if (seen.has(key)) continue;
          known.delete(key);
          await emit({ type: 'DELETED', object: obj });
        }
        resourceVersion = listVersion;
        await emit({ type: 'SYNCED', objects: listed, resourceVersion });
      }
      const timeout = opts.timeoutSeconds ?? 300;
      const query = {
        watch: 1,
        allowWatchBookmarks: true,
        resourceVersion,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        timeoutSeconds: Math.round(timeout * (0.9 + Math.random() * 0.2)),
      };
      await client.stream(
        path,
        query,
        signal,
        async (line) => {
          const event = line as {
            type: string;
            object: T & { code?: number; message?: string; reason?: string };
          };
          if (event.type === 'ERROR') {
            const status = event.object.code ?? 500;
            throw new ApiError(
              status,
              event.object.reason ?? 'WatchError',
              event.object.message ?? 'watch error',
              [],
              'GET',
              path,
            );
          }
          resourceVersion = rvOf(event.object) || resourceVersion;
          if (event.type === 'BOOKMARK') return;
          if (event.type === 'DELETED') known.delete(keyOf(event.object));
          else known.set(keyOf(event.object), stub(event.object));
          delay = baseDelay;
          await emit({ type: event.type as 'ADDED' | 'MODIFIED' | 'DELETED', object: event.object });
        },
        (timeout + 60) * 1000,
      );
    } catch (err) {
      if (signal?.aborted) break;
      if (err instanceof ApiError && err.status === 410) {
        // Our resourceVersion is older than etcd's compaction window: only a relist can catch up.
        resourceVersion = undefined;
        continue;
      }
      opts.onError?.(err);
      try {
        await sleep(delay, signal);
      } catch {
        break;
      }
      delay = Math.min(delay * 2, opts.maxRetryDelayMs ?? 5000);
    }
  }
}
