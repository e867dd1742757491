// Real-time drift: watches every kind this operator manages (by ownership label) and reports objects
// that someone else changed or deleted. The controller compares each change with what Git says, so our own writes cause no loop.
import type { Logger } from 'pino';
import {
  LABEL_NAME,
  LABEL_NAMESPACE,
  groupOf,
  objectId,
  refOf,
  versionOf,
  type KubeObject,
} from '../api/index.ts';
import { ApiError, resourcePath, type KubeClient } from '../kube/index.ts';

export type DriftListener = (event: DriftEvent) => void;

// The comparison lives with the plan, which skips a dry-run on the same judgement.
export { driftedFields } from '../plan/index.ts';

/** What the drift watch reports: an object of `owner` someone else changed (live) or deleted. */
export type DriftEvent = { ownerKey: string; id: string; live: KubeObject | undefined };

/**
 * How hand edits are found for a set of objects: `Watch` when every kind has a live watch,
 * `Interval` when some kind cannot be watched (RBAC), so the caller re-plans each interval.
 */
export type DriftDetection = 'Watch' | 'Interval';

export interface DriftTracker {
  /** Watches the kinds of `objects` (owned by `ownerKey`), and says how their drift will be found. */
  track(ownerKey: string, objects: readonly KubeObject[]): Promise<DriftDetection>;
}

type WatchState = 'active' | 'forbidden';

const ourLabels = (o: KubeObject) =>
  !!o.metadata.labels?.[LABEL_NAME] && !!o.metadata.labels?.[LABEL_NAMESPACE];

export class DriftWatcher implements DriftTracker {
  private readonly watched = new Map<string, { state: WatchState; abort: AbortController }>();
  /** Which GitSource declares each object: an edit that strips or changes our labels still reaches it. */
  private readonly owners = new Map<string, string>();
  private readonly listeners: DriftListener[] = [];
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {}

  onDrift(listener: DriftListener): void {
    this.listeners.push(listener);
  }

  async track(ownerKey: string, objects: readonly KubeObject[]): Promise<DriftDetection> {
    const kinds = new Map<string, { group: string; version: string; kind: string }>();
    for (const o of objects) {
      const group = groupOf(o.apiVersion);
      kinds.set(`${group}/${o.kind}`, { group, version: versionOf(o.apiVersion), kind: o.kind });
      this.owners.set(objectId(refOf(o)), ownerKey);
    }
    let detection: DriftDetection = 'Watch';
    for (const gvk of kinds.values()) {
      const state = await this.watchKind(gvk);
      if (state !== 'active') detection = 'Interval';
    }
    return detection;
  }

  /** Forgets the objects of a GitSource that is gone. */
  untrack(ownerKey: string): void {
    for (const [id, owner] of this.owners) if (owner === ownerKey) this.owners.delete(id);
  }

  private async watchKind(gvk: {
    group: string;
    version: string;
    kind: string;
  }): Promise<WatchState | 'unmapped'> {
    let mapping;
    try {
      mapping = await this.client.mapper.mappingFor(gvk);
    } catch (err) {
      this.logger.debug({ kind: gvk.kind, err: String(err) }, 'drift watch: kind not mapped');
      return 'unmapped';
    }
    const path = resourcePath(mapping, '');
    const known = this.watched.get(path);
    if (known) return known.state;
    if (this.stopped) return 'forbidden';
    const abort = new AbortController();
    const entry = { state: 'active' as WatchState, abort };
    this.watched.set(path, entry);
    // Ask first, so the status can say at once how drift is found (tenant mode may not list cluster-wide).
    if (!(await this.mayWatch(mapping.group, mapping.resource))) {
      entry.state = 'forbidden';
      this.logger.warn(
        { path },
        'drift watch forbidden for this kind: objects of it are re-planned every interval instead (grant list/watch to see edits in real time)',
      );
      return entry.state;
    }
    this.logger.debug({ path }, 'drift watch started');
    void this.client
      .watch(
        path,
        {
          labelSelector: LABEL_NAME,
          signal: abort.signal,
          // Thousands of managed objects of a kind: handled a page at a time, never all at once.
          syncedObjects: false,
          onError: (err) => {
            if (err instanceof ApiError && err.status === 403) {
              entry.state = 'forbidden';
              this.logger.warn(
                { path },
                'drift watch forbidden for this kind: re-planned every interval instead',
              );
              abort.abort();
              return;
            }
            this.logger.debug({ path, err: String(err) }, 'drift watch');
          },
        },
        (event) => {
          if (event.type === 'SYNCED') return;
          const obj = event.object;
          if (obj.metadata.deletionTimestamp && event.type !== 'DELETED') return;
          const id = objectId({
            group: gvk.group,
            kind: gvk.kind,
            namespace: obj.metadata.namespace ?? '',
            name: obj.metadata.name,
          });
          // The declaring GitSource, whatever the labels say now: an object whose labels were removed
          // leaves the labelled watch with a DELETED event that still carries it, and one relabelled
          // to another owner must not be ignored either.
          const ownerKey =
            this.owners.get(id) ??
            (ourLabels(obj)
              ? `${obj.metadata.labels![LABEL_NAMESPACE]}/${obj.metadata.labels![LABEL_NAME]}`
              : undefined);
          if (!ownerKey) return;
          // ADDED counts too: after a reconnect, the relist reports what changed while the watch was down.
          const gone = event.type === 'DELETED' && ourLabels(obj);
          for (const l of this.listeners) l({ ownerKey, id, live: gone ? undefined : obj });
        },
      )
      .catch((err: unknown) => this.logger.warn({ path, err: String(err) }, 'drift watch ended'))
      .finally(() => {
        // A watch that ended for good is dropped, so the next track starts it again.
        if (!this.stopped && entry.state === 'active' && this.watched.get(path) === entry)
          this.watched.delete(path);
      });
    return entry.state;
  }

  private async mayWatch(group: string, resource: string): Promise<boolean> {
    try {
      const review = await this.client.request<{ status?: { allowed?: boolean } }>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: { group, resource, verb: 'watch' } },
          },
        },
      );
      return review.status?.allowed === true;
    } catch (err) {
      // Cannot ask: try the watch, whose 403 says the same.
      this.logger.debug({ resource, err: String(err) }, 'access review failed');
      return true;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watched.values()) w.abort.abort();
    this.watched.clear();
  }
}
