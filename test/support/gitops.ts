// Test vocabulary for GitSources: create one, read its status and events, wait on conditions.
import { kubectl, kubectlOk, eventually } from './cluster.ts';

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface GitSourceObject {
  metadata: { name: string; namespace: string; generation: number; finalizers?: string[]; uid: string; resourceVersion: string };
  spec: Record<string, unknown>;
  status?: {
    revision?: string;
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    observedGeneration?: number;
    conditions?: Condition[];
    summary?: Record<string, number>;
    changes?: string[];
    inventory?: { entries: { id: string; v: string }[] };
    history?: { revision: string; result: string }[];
    lastHandledReconcileAt?: string;
  };
}

export async function applyGitSource(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'gitops.converge.dev/v1alpha1', kind: 'GitSource', metadata: { name, namespace }, spec }),
  );
}

export async function getGitSource(namespace: string, name: string): Promise<GitSourceObject | undefined> {
  const r = await kubectl(['get', 'gitsource', name, '-n', namespace, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as GitSourceObject) : undefined;
}

export function condition(gs: GitSourceObject | undefined, type: string): Condition | undefined {
  return gs?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until `type` has `status` (and `reason`, when given); returns the GitSource. */
export async function waitForCondition(
  namespace: string,
  name: string,
  type: string,
  status: string,
  opts: { reason?: string; revision?: string; timeoutMs?: number } = {},
): Promise<GitSourceObject> {
  return eventually(
    async () => {
      const gs = await getGitSource(namespace, name);
      const c = condition(gs, type);
      if (c?.status !== status) return undefined;
      if (opts.reason && c.reason !== opts.reason) return undefined;
      if (opts.revision && !gs?.status?.lastAppliedRevision?.includes(opts.revision)) return undefined;
      return gs;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, what: `${namespace}/${name} ${type}=${status}${opts.reason ? ` (${opts.reason})` : ''}` },
  );
}

export interface EventRecord {
  reason: string;
  note?: string;
  message?: string;
  type: string;
  eventTime?: string;
  metadata: { creationTimestamp: string; name: string };
}

/** Events about one GitSource in creation order. */
export async function eventsFor(namespace: string, name: string): Promise<EventRecord[]> {
  const out = await kubectlOk([
    'get',
    'events.v1.events.k8s.io',
    '-n',
    namespace,
    '--field-selector',
    `regarding.name=${name},regarding.kind=GitSource`,
    '-o',
    'json',
  ]);
  const items = (JSON.parse(out) as { items: EventRecord[] }).items;
  return items.sort((a, b) => (a.eventTime ?? a.metadata.creationTimestamp).localeCompare(b.eventTime ?? b.metadata.creationTimestamp));
}
