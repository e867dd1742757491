// Writes to the GitSource itself: status (only when it changed, with its own field manager, plus the
// Events of the transition) and the finalizer. Each write updates the caller's copy in place, so
// the next status is always built from the object just written, never from an older cached copy.
import type { Logger } from 'pino';
import { FINALIZER, STATUS_FIELD_MANAGER, type GitSource, type GitSourceStatus } from '../api/index.ts';
import { isNotFound, type KubeClient } from '../kube/index.ts';
import { sameStatus, transitionEvents, type EventRecorder, type EventSpec } from '../report/index.ts';
import { gitSourcePath } from './paths.ts';

export interface TransitionExtras {
  pruned?: string[] | undefined;
  driftCorrected?: string[] | undefined;
}

export interface GitSourceWriter {
  /** Writes `status` when it differs from `gs.status`, and records the Events of the transition. */
  writeStatus(gs: GitSource, status: GitSourceStatus, extra?: TransitionExtras): Promise<void>;
  addFinalizer(gs: GitSource): Promise<void>;
  /** Removes the finalizer (the GitSource may already be gone). */
  removeFinalizer(gs: GitSource): Promise<void>;
  /** Events that are not condition transitions (e.g. what deletion pruned). */
  recordEvents(gs: GitSource, events: readonly EventSpec[]): Promise<void>;
}

const targetOf = (gs: GitSource) => ({
  name: gs.metadata.name,
  namespace: gs.metadata.namespace,
  uid: gs.metadata.uid,
});

/** Told of every status change with the Events it emitted (notify/); must only enqueue, never block. */
export type TransitionListener = (
  gs: GitSource,
  before: GitSourceStatus | undefined,
  after: GitSourceStatus,
  events: readonly EventSpec[],
) => void;

export function apiWriter(
  client: KubeClient,
  events: EventRecorder,
  logger: Logger,
  onTransition?: TransitionListener,
  /** After each write that succeeded, with the object as written (its new resourceVersion). */
  onWritten?: (gs: GitSource) => void,
): GitSourceWriter {
  const patchFinalizers = async (gs: GitSource, finalizers: string[]) => {
    const updated = await client.request<GitSource>(
      'PATCH',
      gitSourcePath(gs.metadata.namespace, gs.metadata.name),
      {
        body: { metadata: { finalizers, resourceVersion: gs.metadata.resourceVersion } },
        contentType: 'application/merge-patch+json',
      },
    );
    gs.metadata.finalizers = updated.metadata.finalizers;
    gs.metadata.resourceVersion = updated.metadata.resourceVersion;
    onWritten?.(gs);
  };

  return {
    async writeStatus(gs, status, extra = {}) {
      const transitions = transitionEvents(gs.status?.conditions, status.conditions ?? [], extra);
      const changed = !sameStatus(gs.status, status);
      if (!changed && transitions.length === 0) return;
      const before = gs.status;
      if (changed) {
        try {
          const updated = await client.request<GitSource>(
            'PATCH',
            `${gitSourcePath(gs.metadata.namespace, gs.metadata.name)}/status`,
            {
              query: { fieldManager: STATUS_FIELD_MANAGER, force: true },
              body: {
                apiVersion: gs.apiVersion,
                kind: gs.kind,
                metadata: { name: gs.metadata.name, namespace: gs.metadata.namespace },
                status,
              },
              contentType: 'application/apply-patch+yaml',
            },
          );
          gs.status = updated.status;
          gs.metadata.resourceVersion = updated.metadata.resourceVersion;
          onWritten?.(gs);
        } catch (err) {
          if (isNotFound(err)) return;
          throw err;
        }
      }
      await events.record(targetOf(gs), transitions);
      onTransition?.(gs, before, status, transitions);
    },

    recordEvents: (gs, list) => events.record(targetOf(gs), list),

    async addFinalizer(gs) {
      if (gs.metadata.finalizers?.includes(FINALIZER)) return;
      await patchFinalizers(gs, [...(gs.metadata.finalizers ?? []), FINALIZER]);
    },

    async removeFinalizer(gs) {
      if (!gs.metadata.finalizers?.includes(FINALIZER)) return;
      try {
        await patchFinalizers(
          gs,
          gs.metadata.finalizers.filter((f) => f !== FINALIZER),
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
        logger.debug(
          { gitsource: `${gs.metadata.namespace}/${gs.metadata.name}` },
          'gone before its finalizer was removed',
        );
      }
    },
  };
}
