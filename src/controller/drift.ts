// Real-time drift: watches every kind this operator manages (by ownership label) and reports objects
// that someone else changed or deleted. The controller compares each change with what Git says, so our own writes cause no loop.
import type { Logger } from 'pino';
import { LABEL_NAME, LABEL_NAMESPACE, groupOf, objectId, versionOf, type KubeObject } from '../api/index.ts';
import { ApiError, resourcePath, type KubeClient } from '../kube/index.ts';

export type DriftListener = (event: DriftEvent) => void;

/**
 * Fields Git sets that the live object no longer has as Git says: a cheap in-memory check that
 * needs no API call, so status updates and our own writes (which leave live ⊇ desired) cost
 * nothing. Server-side normalisation can make it say "drifted" wrongly; the dry-run plan that
 * follows is the judge, so that costs one dry-run, never a write.
 */
export function driftedFields(
  desired: unknown,
  live: unknown,
  ignore: readonly string[] = [],
  path = '',
): string[] {
  if (ignore.includes(path)) return [];
  if (desired === null || typeof desired !== 'object') {
    return desired === live || (desired === undefined && live === undefined) ? [] : [path || '/'];
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return [path];
    return desired.flatMap((d, i) => driftedFields(d, live[i], ignore, `${path}/${i}`));
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return [path || '/'];
  const out: string[] = [];
  for (const [k, v] of Object.entries(desired as Record<string, unknown>)) {
    out.push(
      ...driftedFields(
        v,
        (live as Record<string, unknown>)[k],
        ignore,
        `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      ),
    );
  }
  return out;
}

/** What the drift watch reports: an object of `owner` someone else changed (live) or deleted. */
export type DriftEvent = { ownerKey: string; id: string; live: KubeObject | undefined };

export class DriftWatcher {
  private readonly watched = new Map<string, AbortController>();
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly onDrift: DriftListener,
  ) {}

  /** Starts a watch for each kind among `objects` not watched yet. */
  async track(objects: readonly KubeObject[]): Promise<void> {
    const kinds = new Map<string, { group: string; version: string; kind: string }>();
    for (const o of objects) {
      const group = groupOf(o.apiVersion);
      kinds.set(`${group}/${o.kind}`, { group, version: versionOf(o.apiVersion), kind: o.kind });
    }
    for (const gvk of kinds.values()) {
      let path: string;
      try {
        const mapping = await this.client.mapper.mappingFor(gvk);
        path = resourcePath(mapping, '');
      } catch (err) {
        this.logger.debug({ kind: gvk.kind, err: String(err) }, 'drift watch: kind not mapped');
        continue;
      }
      if (this.watched.has(path) || this.stopped) continue;
      const abort = new AbortController();
      this.watched.set(path, abort);
      this.logger.debug({ path }, 'drift watch started');
      void this.client
        .watch(
          path,
          {
            labelSelector: LABEL_NAME,
            signal: abort.signal,
            onError: (err) => {
              if (err instanceof ApiError && err.status === 403) {
                // Tenant mode may not list this kind cluster-wide: say so once and stop asking.
                this.logger.warn(
                  { path },
                  'drift watch forbidden for this kind: hand edits are not seen in real time (grant list/watch to enable)',
                );
                abort.abort();
                return;
              }
              this.logger.debug({ path, err: String(err) }, 'drift watch');
            },
          },
          (event) => {
            if (event.type !== 'MODIFIED' && event.type !== 'DELETED') return;
            const obj = event.object;
            const name = obj.metadata.labels?.[LABEL_NAME];
            const ns = obj.metadata.labels?.[LABEL_NAMESPACE];
            if (!name || !ns) return;
            if (obj.metadata.deletionTimestamp && event.type === 'MODIFIED') return;
            this.onDrift({
              ownerKey: `${ns}/${name}`,
              id: objectId({
                group: gvk.group,
                kind: gvk.kind,
                namespace: obj.metadata.namespace ?? '',
                name: obj.metadata.name,
              }),
              live: event.type === 'DELETED' ? undefined : obj,
            });
          },
        )
        .catch((err: unknown) => this.logger.warn({ path, err: String(err) }, 'drift watch ended'));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.watched.values()) a.abort();
    this.watched.clear();
  }
}
