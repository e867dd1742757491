// What the status page shows, as plain data: GitSource → row/detail view models, commit links,
// filters and "failing first" order. Pure: no I/O, the clock passed in.
import {
  clusterLabel,
  inventoryEntries,
  parseObjectId,
  type Condition,
  type GitSource,
} from '../api/index.ts';
import { findCondition, shortRevision } from '../report/index.ts';
import { redact } from '../source/index.ts';

/** The one word a row is filtered and sorted by; `failing` sorts first. */
export type SourceState = 'failing' | 'progressing' | 'suspended' | 'ready';
export const STATES: readonly SourceState[] = ['failing', 'progressing', 'suspended', 'ready'];
export const STATE_LABEL: Record<SourceState, string> = {
  failing: 'Failing',
  progressing: 'Progressing',
  suspended: 'Suspended',
  ready: 'Ready',
};

/** Ready=False reasons that are waiting rather than failing. */
const WAITING_REASONS = new Set(['Progressing', 'DependencyNotReady']);

export interface RevisionView {
  /** `main@sha1:4f2c1a0`, or the raw revision when it has no SHA. */
  short: string;
  full: string;
  /** https link to the commit on a known host; absent when unsure. */
  commitUrl?: string | undefined;
}

export type DriftView =
  | { kind: 'in-sync'; text: string }
  | { kind: 'drifted'; text: string; message: string }
  | { kind: 'pending'; text: string; message: string }
  | { kind: 'unknown'; text: string };

export interface SourceRow {
  key: string;
  namespace: string;
  name: string;
  /** The target cluster (clusterLabel): `in-cluster`, or `context@host:port` for spec.kubeConfig. */
  cluster: string;
  state: SourceState;
  /** Sort key: failing first, then namespace/name. Plain string order, the same in the browser. */
  sort: string;
  ready: { status: string; reason: string; message: string };
  /** The revision applied last; absent before the first success. */
  revision?: RevisionView | undefined;
  /** The latest fetched revision when it is not the applied one (new, or failed). */
  pending?: RevisionView | undefined;
  lastApplied?: string | undefined;
  changes: string;
  drift: DriftView;
}

export interface HistoryView {
  revision: RevisionView;
  appliedAt: string;
  duration: string;
  result: string;
  ok: boolean;
}

export interface InventoryView {
  kind: string;
  namespace: string;
  name: string;
  apiVersion: string;
  health: { state: 'healthy' | 'unhealthy' | 'unknown'; text: string };
}

export interface RecentEvent {
  time: string;
  type: string;
  reason: string;
  note: string;
}

export interface SourceDetail {
  row: SourceRow;
  spec: Array<[string, string]>;
  conditions: Condition[];
  changes: string[];
  history: HistoryView[];
  /** Pull-request previews (spec.previews), as status.previews has them. */
  previews: Array<{
    number: number;
    head: string;
    state: string;
    namespace: string;
    message: string;
    url: string;
  }>;
  inventory: InventoryView[];
  /** Where the per-object health comes from, said on the page. */
  healthNote: string;
  events: RecentEvent[];
}

export interface Filters {
  namespace?: string | undefined;
  status?: SourceState | undefined;
}

export const keyOf = (gs: GitSource) => `${gs.metadata.namespace}/${gs.metadata.name}`;

export function stateOf(gs: GitSource): SourceState {
  const conditions = gs.status?.conditions;
  const ready = findCondition(conditions, 'Ready');
  if (gs.spec?.suspend || ready?.reason === 'Suspended') return 'suspended';
  if (findCondition(conditions, 'Stalled')?.status === 'True') return 'failing';
  if (ready?.status === 'False' && !WAITING_REASONS.has(ready.reason)) return 'failing';
  if (ready?.status === 'True' && findCondition(conditions, 'Reconciling')?.status !== 'True') return 'ready';
  return 'progressing';
}

const SHA = /sha1:([0-9a-f]{40})/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * The commit page for `sha` of repository `url`, only on hosts whose URL layout is certain:
 * github.com, gitlab.com (with subgroups), bitbucket.org and codeberg.org, in https, ssh:// or
 * scp-like form. Anything else (self-hosted servers, unusual paths) gets no link.
 */
export function commitUrl(url: string, sha: string): string | undefined {
  if (!/^[0-9a-f]{40}$/.test(sha)) return undefined;
  let host: string;
  let path: string;
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(?!\/)(.+)$/.exec(url);
  if (scp) {
    host = scp[1]!;
    path = scp[2]!;
  } else {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    if (!['https:', 'http:', 'ssh:'].includes(parsed.protocol)) return undefined;
    host = parsed.hostname;
    // GitHub's SSH-over-443 endpoint is the same repository namespace.
    if (parsed.protocol === 'ssh:' && host === 'ssh.github.com') host = 'github.com';
    path = parsed.pathname.replace(/^\//, '');
  }
  host = host.toLowerCase().replace(/^www\./, '');
  const parts = path
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/');
  if (!parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..')) return undefined;
  const repo = parts.join('/');
  switch (host) {
    case 'github.com':
      return parts.length === 2 ? `https://github.com/${repo}/commit/${sha}` : undefined;
    case 'codeberg.org':
      return parts.length === 2 ? `https://codeberg.org/${repo}/commit/${sha}` : undefined;
    case 'bitbucket.org':
      return parts.length === 2 ? `https://bitbucket.org/${repo}/commits/${sha}` : undefined;
    case 'gitlab.com':
      return parts.length >= 2 && !parts.includes('-')
        ? `https://gitlab.com/${repo}/-/commit/${sha}`
        : undefined;
    default:
      return undefined;
  }
}

export function revisionView(revision: string, url: string | undefined): RevisionView {
  const sha = SHA.exec(revision)?.[1];
  return {
    short: shortRevision(revision),
    full: revision,
    commitUrl: sha && url ? commitUrl(url, sha) : undefined,
  };
}

function changesSummary(gs: GitSource): string {
  const s = gs.status?.summary;
  if (!s) return '';
  const parts = [
    s.created ? `${s.created} created` : '',
    s.configured ? `${s.configured} configured` : '',
    s.pruned ? `${s.pruned} pruned` : '',
    s.drifted ? `${s.drifted} drifted` : '',
  ].filter(Boolean);
  const objects = `${s.objects} object${s.objects === 1 ? '' : 's'}`;
  return parts.length ? `${parts.join(', ')} (${objects})` : `no changes (${objects})`;
}

function driftOf(gs: GitSource): DriftView {
  const diverged = findCondition(gs.status?.conditions, 'Diverged');
  if (!diverged) return { kind: 'unknown', text: '—' };
  if (diverged.status === 'False') return { kind: 'in-sync', text: 'In sync' };
  if (diverged.reason === 'Drifted')
    return {
      kind: 'drifted',
      text: gs.spec?.drift === 'Report' ? 'Drifted (reported)' : 'Drifted',
      message: diverged.message,
    };
  return { kind: 'pending', text: 'Changes pending', message: diverged.message };
}

/** When the revision now applied was applied: its newest history entry, else the Converged flip. */
function lastAppliedAt(gs: GitSource): string | undefined {
  const applied = gs.status?.lastAppliedRevision;
  if (!applied) return undefined;
  const entry = gs.status?.history?.find((h) => h.revision === applied && resultOk(h.result));
  if (entry) return entry.appliedAt;
  const converged = findCondition(gs.status?.conditions, 'Converged');
  return converged?.status === 'True' ? converged.lastTransitionTime : undefined;
}

const resultOk = (result: string) => result === 'Succeeded' || result === 'Drifted';

/** The URL as the page may show it: any userinfo (a token in https URLs) removed. */
export function displayUrl(url: string | undefined): string {
  return url ? redact(url) : '';
}

export function rowOf(gs: GitSource): SourceRow {
  const state = stateOf(gs);
  const ready = findCondition(gs.status?.conditions, 'Ready');
  const applied = gs.status?.lastAppliedRevision;
  const latest = gs.status?.revision;
  // Commit links go to the Git URL (a chart's values repository too); a chart-only source has none.
  const url = gs.spec?.url;
  return {
    key: keyOf(gs),
    namespace: gs.metadata.namespace,
    name: gs.metadata.name,
    cluster: clusterLabel(gs),
    state,
    sort: `${STATES.indexOf(state)}:${gs.metadata.namespace}/${gs.metadata.name}`,
    ready: ready
      ? { status: ready.status, reason: ready.reason, message: ready.message }
      : {
          status: 'Unknown',
          reason: gs.spec?.suspend ? 'Suspended' : 'Pending',
          message: 'Not reconciled yet',
        },
    revision: applied ? revisionView(applied, url) : undefined,
    pending: latest && latest !== applied ? revisionView(latest, url) : undefined,
    lastApplied: lastAppliedAt(gs),
    changes: changesSummary(gs),
    drift: driftOf(gs),
  };
}

export function matches(row: SourceRow, filters: Filters): boolean {
  return (
    (!filters.namespace || row.namespace === filters.namespace) &&
    (!filters.status || row.state === filters.status)
  );
}

/** Rows matching `filters`, failing first, then by namespace and name. */
export function overviewRows(sources: Iterable<GitSource>, filters: Filters): SourceRow[] {
  const rows: SourceRow[] = [];
  for (const gs of sources) {
    const row = rowOf(gs);
    if (matches(row, filters)) rows.push(row);
  }
  return rows.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
}

export type StateCounts = Record<SourceState, number> & { total: number };

export function countStates(sources: Iterable<GitSource>): StateCounts {
  const counts: StateCounts = { total: 0, failing: 0, progressing: 0, suspended: 0, ready: 0 };
  for (const gs of sources) {
    counts[stateOf(gs)]++;
    counts.total++;
  }
  return counts;
}

export function namespacesOf(sources: Iterable<GitSource>): string[] {
  const set = new Set<string>();
  for (const gs of sources) set.add(gs.metadata.namespace);
  return [...set].sort();
}

/** Query parameters → filters; unknown values are ignored rather than rejected. */
export function parseFilters(params: URLSearchParams): Filters {
  const status = params.get('status') ?? '';
  const namespace = params.get('namespace') ?? '';
  return {
    namespace: namespace || undefined,
    status: (STATES as readonly string[]).includes(status) ? (status as SourceState) : undefined,
  };
}

/**
 * Object health as far as status tells it (the operator keeps no live copy of applied objects):
 * all healthy when Converged=True after a health wait, the objects a HealthCheckFailed message
 * names as unhealthy, the rest unknown.
 */
function inventoryHealth(gs: GitSource): {
  of: (ref: string) => InventoryView['health'];
  note: string;
} {
  const conditions = gs.status?.conditions;
  const converged = findCondition(conditions, 'Converged');
  const ready = findCondition(conditions, 'Ready');
  const waits = gs.spec?.wait !== false;
  if (converged?.status === 'True' && waits) {
    return {
      of: () => ({ state: 'healthy', text: 'Healthy' }),
      note: `Health as of the last health check (Converged at ${converged.lastTransitionTime}); not watched live.`,
    };
  }
  if (ready?.reason === 'HealthCheckFailed' || converged?.reason === 'HealthCheckFailed') {
    const message = ready?.reason === 'HealthCheckFailed' ? ready.message : (converged?.message ?? '');
    return {
      of: (ref) =>
        // Health messages start with `Kind namespace/name:` (health/kinds/common.ts).
        message.includes(`${ref}:`)
          ? { state: 'unhealthy', text: 'Not healthy (see the Ready message)' }
          : { state: 'unknown', text: 'Unknown' },
      note: 'The last health check failed; objects it names are marked, the others are unknown.',
    };
  }
  return {
    of: () => ({ state: 'unknown', text: waits ? 'Unknown' : 'Not checked (wait: false)' }),
    note: waits
      ? 'Health is known once a health check passes or fails.'
      : 'spec.wait is false: health is not checked.',
  };
}

export function detailOf(gs: GitSource, events: readonly RecentEvent[]): SourceDetail {
  const spec = gs.spec ?? ({} as Partial<GitSource['spec']>);
  const ref = spec.ref
    ? Object.entries(spec.ref)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}: ${String(v)}`)
        .join(', ')
    : 'branch: main';
  // Only fields that say what is deployed and how; never substitute or helm values (they may hold secrets).
  const chart = spec.chart;
  const specRows: Array<[string, string]> = [
    ...(chart
      ? ([
          ['Chart', `${chart.name}@${chart.version ?? '*'}`],
          ['Chart repository', displayUrl(chart.repository)],
        ] as Array<[string, string]>)
      : []),
    ...(spec.url || !chart
      ? ([
          ['URL', displayUrl(spec.url)],
          ['Ref', ref],
        ] as Array<[string, string]>)
      : []),
    ['Path', spec.path ?? '.'],
    ['Interval', spec.interval ?? '1m'],
    ['Drift', spec.drift ?? 'Correct'],
    ['Prune', String(spec.prune ?? true)],
    ['Wait for health', String(spec.wait ?? true)],
    ['Suspended', String(spec.suspend ?? false)],
  ];
  if (spec.targetNamespace) specRows.push(['Target namespace', spec.targetNamespace]);
  if (spec.serviceAccountName) specRows.push(['Service account', spec.serviceAccountName]);
  if (spec.dependsOn?.length)
    specRows.push([
      'Depends on',
      spec.dependsOn.map((d) => `${d.namespace ?? gs.metadata.namespace}/${d.name}`).join(', '),
    ]);
  const health = inventoryHealth(gs);
  const inventory: InventoryView[] = inventoryEntries(gs.status).map((e) => {
    let ref;
    try {
      ref = parseObjectId(e.id, e.v);
    } catch {
      return {
        kind: '?',
        namespace: '',
        name: e.id,
        apiVersion: e.v,
        health: { state: 'unknown', text: 'Unknown' },
      };
    }
    return {
      kind: ref.kind,
      namespace: ref.namespace,
      name: ref.name,
      apiVersion: ref.group ? `${ref.group}/${ref.version}` : ref.version,
      health: health.of(
        ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`,
      ),
    };
  });
  return {
    row: rowOf(gs),
    spec: specRows,
    conditions: gs.status?.conditions ?? [],
    changes: gs.status?.changes ?? [],
    history: (gs.status?.history ?? []).map((h) => ({
      revision: revisionView(h.revision, spec.url),
      appliedAt: h.appliedAt,
      duration: h.duration,
      result: h.result,
      ok: resultOk(h.result),
    })),
    previews: (gs.status?.previews ?? []).map((p) => ({
      number: p.number,
      head: p.head.slice(0, 7),
      state: p.state,
      namespace: p.namespace ?? '',
      message: p.message ?? '',
      // Only http(s) links reach an href.
      url: /^https?:\/\//.test(p.url ?? '') ? p.url! : '',
    })),
    inventory,
    healthNote: health.note,
    events: [...events],
  };
}

/** "3m ago", "2h ago", "just now"; the absolute time goes in the markup beside it. */
export function ago(iso: string | undefined, now: Date): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now.getTime() - t) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
