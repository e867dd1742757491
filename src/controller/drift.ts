// Real-time drift: watches every kind this operator manages (by ownership label) and reports objects
// that someone else changed or deleted. Our own writes are recognised and ignored, so no loop.
import type { Logger } from 'pino';
import { FIELD_MANAGER, LABEL_NAME, LABEL_NAMESPACE, groupOf, objectId, versionOf, type KubeObject } from '../api/index.ts';
import { resourcePath, type KubeClient } from '../kube/index.ts';

export type DriftListener = (ownerKey: string, id: string) => void;

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
}

/**
 * True when the newest write to the object's spec/metadata was not ours. Status writes (by other
 * controllers) are not drift. Times have one-second resolution: a tie counts as foreign, which costs
 * one dry-run at worst, never a missed edit.
 */
export function changedBySomeoneElse(obj: KubeObject): boolean {
  const entries = (obj.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  let ours = '';
  for (const e of entries) if (e.manager === FIELD_MANAGER && !e.subresource && (e.time ?? '') > ours) ours = e.time ?? '';
  if (!ours) return true;
  return entries.some((e) => e.manager !== FIELD_MANAGER && !e.subresource && (e.time ?? '') >= ours);
}

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
      } catch {
        continue;
      }
      if (this.watched.has(path) || this.stopped) continue;
      const abort = new AbortController();
      this.watched.set(path, abort);
      void this.client
        .watch(path, { labelSelector: LABEL_NAME, signal: abort.signal, onError: (err) => this.logger.debug({ path, err: String(err) }, 'drift watch') }, (event) => {
          if (event.type !== 'MODIFIED' && event.type !== 'DELETED') return;
          const obj = event.object;
          const name = obj.metadata.labels?.[LABEL_NAME];
          const ns = obj.metadata.labels?.[LABEL_NAMESPACE];
          if (!name || !ns) return;
          if (event.type === 'MODIFIED' && (obj.metadata.deletionTimestamp || !changedBySomeoneElse(obj))) return;
          this.onDrift(`${ns}/${name}`, objectId({ group: gvk.group, kind: gvk.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name }));
        })
        .catch((err: unknown) => this.logger.warn({ path, err: String(err) }, 'drift watch ended'));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.watched.values()) a.abort();
    this.watched.clear();
  }
}
