// Test helper: a GitSource whose status moves through the report stage's real status builders,
// yielding for each step what the reconciler's status writer hands to notify/ (before, after, events).
import type { GitSource, GitSourceStatus } from '../../../src/api/index.ts';
import {
  appliedStatus,
  failedStatus,
  progressingStatus,
  transitionEvents,
  type EventSpec,
} from '../../../src/report/index.ts';

export interface Step {
  gs: GitSource;
  before: GitSourceStatus | undefined;
  after: GitSourceStatus;
  events: EventSpec[];
}

export interface Steps {
  progressing(revision: string): Step;
  applied(revision: string): Step;
  failed(revision: string | undefined, reason?: string, message?: string): Step;
  driftCorrected(revision: string): Step;
}

export const rev = (c: string) => `main@sha1:${c.repeat(40).slice(0, 40)}`;

export function gitSource(
  name = 'web',
  labels: Record<string, string> = {},
  url = 'https://gitea.example.com/org/fleet.git',
): GitSource & { step: Steps } {
  const gs = {
    apiVersion: 'gitops.converge.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name, namespace: 'apps', uid: `uid-${name}`, generation: 1, labels },
    spec: { url },
  } as unknown as GitSource;
  let t = 0;
  const ctx = () => ({
    old: gs.status,
    generation: 1,
    now: new Date(Date.parse('2026-11-26T20:00:00Z') + 1000 * t++).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  });
  const move = (after: GitSourceStatus, extra: { driftCorrected?: string[] } = {}): Step => {
    const before = gs.status;
    const events = transitionEvents(before?.conditions, after.conditions ?? [], extra);
    gs.status = after;
    return { gs, before, after, events };
  };
  const step: Steps = {
    progressing: (revision: string) =>
      move(
        progressingStatus(ctx(), {
          revision,
          step: 'Applying 1 to configure',
          diverged: { reason: 'Pending', message: '1 to configure: ConfigMap/apps/cfg /data/v' },
        }),
      ),
    applied: (revision: string) =>
      move(
        appliedStatus(ctx(), {
          revision,
          summary: { objects: 1, created: 0, configured: 1, unchanged: 0, pruned: 0, drifted: 0 },
          changes: ['ConfigMap/apps/cfg configured: /data/v 1→2'],
          inventory: [],
          durationMs: 1200,
        }),
      ),
    failed: (revision: string | undefined, reason = 'RenderFailed', message = 'cm.yaml: bad indentation') =>
      move(
        failedStatus(ctx(), {
          reason,
          message,
          stalled: false,
          revision,
          durationMs: 100,
          converged: ['FetchFailed'].includes(reason) ? 'keep' : 'false',
        }),
      ),
    driftCorrected: (revision: string) =>
      move(
        appliedStatus(ctx(), {
          revision,
          summary: { objects: 1, created: 0, configured: 0, unchanged: 1, pruned: 0, drifted: 0 },
          changes: ['ConfigMap/apps/cfg configured: /data/v x→2 (drift corrected)'],
          inventory: [],
          durationMs: 50,
        }),
        { driftCorrected: ['ConfigMap/apps/cfg'] },
      ),
  };
  return Object.assign(gs, { step });
}
