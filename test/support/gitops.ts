// Test vocabulary for GitSources: create one, read its status and events, wait on conditions.
import { inventoryEntries, type Inventory } from '../../src/api/index.ts';
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
  metadata: {
    name: string;
    namespace: string;
    generation: number;
    finalizers?: string[];
    uid: string;
    resourceVersion: string;
  };
  spec: Record<string, unknown>;
  status?: {
    revision?: string;
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    observedGeneration?: number;
    conditions?: Condition[];
    summary?: Record<string, number>;
    changes?: string[];
    inventory?: Inventory;
    history?: { revision: string; result: string }[];
    lastHandledReconcileAt?: string;
    driftDetection?: 'Watch' | 'Interval';
    verification?: { revision: string; provider: string; key: string };
    previews?: { number: number; head: string; state: string; message?: string; namespace?: string }[];
  };
}

export async function applyGitSource(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'gitops.converge.dev/v1alpha1',
      kind: 'GitSource',
      metadata: { name, namespace },
      spec,
    }),
  );
}

export async function getGitSource(namespace: string, name: string): Promise<GitSourceObject | undefined> {
  const r = await kubectl(['get', 'gitsource', name, '-n', namespace, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as GitSourceObject) : undefined;
}

/** Inventory ids (`ns_name_group_kind`) in status, whichever form it is written in. */
export function inventoryIds(gs: GitSourceObject | undefined): string[] {
  return inventoryEntries(gs?.status).map((e) => e.id);
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
    {
      timeoutMs: opts.timeoutMs ?? 30_000,
      what: `${namespace}/${name} ${type}=${status}${opts.reason ? ` (${opts.reason})` : ''}`,
    },
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
  return items.sort((a, b) =>
    (a.eventTime ?? a.metadata.creationTimestamp).localeCompare(b.eventTime ?? b.metadata.creationTimestamp),
  );
}

/** Asks for an immediate reconcile through the requested-at annotation (as `kubectl annotate` would). */
export async function requestReconcile(namespace: string, name: string): Promise<string> {
  const at = `${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  await kubectlOk([
    'annotate',
    '--overwrite',
    `gitsource/${name}`,
    '-n',
    namespace,
    `gitops.converge.dev/requested-at=${at}`,
  ]);
  return at;
}

/** The fields e2e tests read off a live object. */
export interface LiveObject {
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: { replicas?: number; [k: string]: unknown };
  data?: Record<string, string>;
}

/** One object as JSON via kubectl, or undefined when it does not exist. */
export async function getObject<T = LiveObject>(
  namespace: string,
  kind: string,
  name: string,
): Promise<T | undefined> {
  const r = await kubectl(['get', kind, name, '-n', namespace, '-o', 'json']);
  if (r.code === 0) return JSON.parse(r.stdout) as T;
  if (/NotFound|not found/.test(r.stderr)) return undefined;
  throw new Error(`kubectl get ${kind} ${name} failed: ${r.stderr}`);
}

/** Sum of the samples of one Prometheus metric whose labels match `labels` (regexes on label values). */
export async function metricSum(
  metricsPort: number,
  metric: string,
  labels: Record<string, RegExp> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? ([^ ]+)$/.exec(line);
    if (!m || m[1] !== metric) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, re]) => re.test(got[k] ?? ''))) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Requests with a mutating verb the API server accepted so far, server-side dry-runs included (see
 * apiDryRuns for those alone). A refused one changed nothing: two replicas starting together both
 * try to create the Lease, and the loser's 409 is not a write.
 */
export async function apiWrites(metricsPort: number): Promise<number> {
  return metricSum(metricsPort, 'converge_api_requests_total', {
    verb: /^(POST|PUT|PATCH|DELETE)$/,
    code: /^2\d\d$/,
  });
}

/** Server-side dry-runs the operator made so far (the dry_run label of its request counter). */
export async function apiDryRuns(metricsPort: number): Promise<number> {
  return metricSum(metricsPort, 'converge_api_requests_total', { dry_run: /^true$/ });
}
