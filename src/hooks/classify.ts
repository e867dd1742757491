// Pure: which rendered objects are Helm / Argo CD hooks, in which phase and order, and the sync wave of the rest.
import { ConvergeError, describeRef, groupOf, versionOf, type KubeObject } from '../api/index.ts';
import { compareApplyOrder } from '../plan/index.ts';

export const HELM_HOOK = 'helm.sh/hook';
export const HELM_HOOK_WEIGHT = 'helm.sh/hook-weight';
export const HELM_HOOK_DELETE_POLICY = 'helm.sh/hook-delete-policy';
export const ARGO_HOOK = 'argocd.argoproj.io/hook';
export const ARGO_HOOK_DELETE_POLICY = 'argocd.argoproj.io/hook-delete-policy';
export const ARGO_SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

/** pre: before the revision's objects; sync: with their wave; post: after they are healthy; fail: after a failed sync. */
export type HookPhase = 'pre' | 'sync' | 'post' | 'fail';
export const HOOK_PHASES: readonly HookPhase[] = ['pre', 'sync', 'post', 'fail'];

/** Helm's spelling; Argo CD's HookSucceeded / HookFailed / BeforeHookCreation map onto these. */
export type DeletePolicy = 'before-hook-creation' | 'hook-succeeded' | 'hook-failed';

export interface Hook {
  /** As rendered; `metadata.name` is `''` when the hook has only `generateName`. */
  object: KubeObject;
  phase: HookPhase;
  /** Order inside the phase: the sync-wave when set, else helm.sh/hook-weight, else 0. */
  weight: number;
  deletePolicies: ReadonlySet<DeletePolicy>;
  /** `helm.sh/hook: pre-install` or `argocd.argoproj.io/hook: PreSync`, for messages. */
  source: string;
  /** The object across revisions: `Job/apps/migrate`, or `Job/apps/migrate-*` for generateName. */
  identity: string;
  /** Unique in a revision (an object may be a hook of two phases): `pre:Job/apps/migrate`. */
  key: string;
}

export interface Skipped {
  object: KubeObject;
  why: string;
}

export interface SyncPlan {
  /** Objects applied, inventoried and pruned as usual. */
  managed: KubeObject[];
  /** Hooks per phase, in run order. */
  hooks: Record<HookPhase, Hook[]>;
  /** Neither applied nor run: Argo `Skip`, Helm test hooks, hooks of other events (delete, rollback). */
  skipped: Skipped[];
}

const ARGO_PHASES: Record<string, HookPhase | 'skip'> = {
  PreSync: 'pre',
  Sync: 'sync',
  PostSync: 'post',
  SyncFail: 'fail',
  Skip: 'skip',
  // Runs when an Argo CD Application is deleted; a GitSource has no such moment.
  PostDelete: 'skip',
};

const HELM_EVENTS = [
  'pre-install',
  'post-install',
  'pre-upgrade',
  'post-upgrade',
  'pre-delete',
  'post-delete',
  'pre-rollback',
  'post-rollback',
  'test',
  'test-success',
  'test-failure',
  // Helm 2's CRD hook: Argo CD runs it as PreSync, so do we.
  'crd-install',
];

const DELETE_POLICIES: Record<string, DeletePolicy> = {
  'before-hook-creation': 'before-hook-creation',
  'hook-succeeded': 'hook-succeeded',
  'hook-failed': 'hook-failed',
  BeforeHookCreation: 'before-hook-creation',
  HookSucceeded: 'hook-succeeded',
  HookFailed: 'hook-failed',
};

function annotation(obj: KubeObject, key: string): string | undefined {
  const v = obj.metadata.annotations?.[key];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `Job/apps/migrate`, or `Job/apps/migrate-*` for an object named by generateName. */
export function displayName(obj: KubeObject): string {
  const generate = obj.metadata['generateName'];
  const name = obj.metadata.name || (typeof generate === 'string' ? `${generate}*` : '<unnamed>');
  return describeRef({ kind: obj.kind, namespace: obj.metadata.namespace ?? '', name });
}

function fail(obj: KubeObject, what: string): never {
  throw new ConvergeError('RenderFailed', `${displayName(obj)}: ${what}`);
}

function integerAnnotation(obj: KubeObject, key: string): number | undefined {
  const v = annotation(obj, key);
  if (v === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(v)) fail(obj, `${key} must be an integer, got "${v}"`);
  return Number(v);
}

/** Whether the object is a hook at all (Argo CD or Helm annotation): such objects may use generateName. */
export function isHookObject(obj: Pick<KubeObject, 'metadata'>): boolean {
  const a = obj.metadata.annotations;
  return Boolean(a && (a[ARGO_HOOK]?.trim() || a[HELM_HOOK]?.trim()));
}

/** The sync wave of a managed object: `argocd.argoproj.io/sync-wave`, default 0. */
export function syncWaveOf(obj: KubeObject): number {
  return integerAnnotation(obj, ARGO_SYNC_WAVE) ?? 0;
}

function deletePoliciesOf(obj: KubeObject): Set<DeletePolicy> {
  const out = new Set<DeletePolicy>();
  for (const key of [ARGO_HOOK_DELETE_POLICY, HELM_HOOK_DELETE_POLICY]) {
    const value = annotation(obj, key);
    if (value === undefined) continue;
    for (const p of list(value)) {
      const policy = DELETE_POLICIES[p];
      if (!policy)
        fail(
          obj,
          `unknown ${key} "${p}" (expected ${key === HELM_HOOK_DELETE_POLICY ? 'before-hook-creation, hook-succeeded or hook-failed' : 'BeforeHookCreation, HookSucceeded or HookFailed'})`,
        );
      out.add(policy);
    }
  }
  // Both tools default to replacing the previous instance when none is given.
  if (out.size === 0) out.add('before-hook-creation');
  return out;
}

/** Phases an object is a hook of, or why it is skipped; undefined for a managed object. */
function phasesOf(
  obj: KubeObject,
  install: boolean,
): { phases: HookPhase[]; source: string } | string | undefined {
  const argo = annotation(obj, ARGO_HOOK);
  // Argo CD's own annotation wins over Helm's, as in Argo CD.
  if (argo !== undefined) {
    const phases: HookPhase[] = [];
    for (const value of list(argo)) {
      const phase = ARGO_PHASES[value];
      if (phase === undefined)
        fail(obj, `unknown ${ARGO_HOOK} "${value}" (expected PreSync, Sync, PostSync, SyncFail or Skip)`);
      if (phase === 'skip') return `${ARGO_HOOK}: ${value}`;
      if (!phases.includes(phase)) phases.push(phase);
    }
    return { phases, source: `${ARGO_HOOK}: ${argo}` };
  }
  const helm = annotation(obj, HELM_HOOK);
  if (helm === undefined) return undefined;
  const events = list(helm);
  for (const e of events)
    if (!HELM_EVENTS.includes(e))
      fail(obj, `unknown ${HELM_HOOK} "${e}" (expected ${HELM_EVENTS.join(', ')})`);
  if (events.some((e) => e.startsWith('test'))) return `${HELM_HOOK}: ${helm} (test hooks are skipped)`;
  const pre = install ? 'pre-install' : 'pre-upgrade';
  const post = install ? 'post-install' : 'post-upgrade';
  const phases: HookPhase[] = [];
  if (events.includes(pre) || events.includes('crd-install')) phases.push('pre');
  if (events.includes(post)) phases.push('post');
  if (phases.length === 0)
    return `${HELM_HOOK}: ${helm} (not run on ${install ? 'an install' : 'an upgrade'})`;
  return { phases, source: `${HELM_HOOK}: ${helm}` };
}

function orderKey(h: Hook) {
  const o = h.object;
  return {
    kind: o.kind,
    group: groupOf(o.apiVersion),
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name || String(o.metadata['generateName'] ?? ''),
  };
}

/**
 * Splits a render into managed objects and hooks. `install` is true for the first revision of a
 * GitSource (nothing applied yet): Helm's `*-install` hooks run then, `*-upgrade` hooks after.
 * Throws RenderFailed naming the object for an unknown hook value, delete policy or a wave
 * that is not an integer, and for a managed object with only generateName.
 */
export function classifyObjects(objects: readonly KubeObject[], opts: { install: boolean }): SyncPlan {
  const plan: SyncPlan = { managed: [], hooks: { pre: [], sync: [], post: [], fail: [] }, skipped: [] };
  for (const obj of objects) {
    const phases = phasesOf(obj, opts.install);
    if (typeof phases === 'string') {
      plan.skipped.push({ object: obj, why: phases });
      continue;
    }
    if (phases === undefined) {
      if (!obj.metadata.name)
        fail(
          obj,
          `generateName is only allowed for hooks (${HELM_HOOK} or ${ARGO_HOOK}); an object Converge keeps in sync needs metadata.name`,
        );
      syncWaveOf(obj);
      plan.managed.push(obj);
      continue;
    }
    const weight = integerAnnotation(obj, ARGO_SYNC_WAVE) ?? integerAnnotation(obj, HELM_HOOK_WEIGHT) ?? 0;
    const deletePolicies = deletePoliciesOf(obj);
    const identity = displayName(obj);
    for (const phase of phases.phases) {
      plan.hooks[phase].push({
        object: obj,
        phase,
        weight,
        deletePolicies,
        source: phases.source,
        identity,
        key: `${phase}:${identity}`,
      });
    }
  }
  for (const phase of HOOK_PHASES)
    plan.hooks[phase].sort((a, b) => a.weight - b.weight || compareApplyOrder(orderKey(a), orderKey(b)));
  return plan;
}

/** Items grouped by ascending weight (hooks of one weight run together). */
export function byWeight<T>(
  items: readonly T[],
  weightOf: (item: T) => number,
): { weight: number; items: T[] }[] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const w = weightOf(item);
    groups.set(w, [...(groups.get(w) ?? []), item]);
  }
  return [...groups].sort(([a], [b]) => a - b).map(([weight, list]) => ({ weight, items: list }));
}

/** The REST identity of a hook for mapping: group, version, kind, namespace. */
export function hookGvk(hook: Hook) {
  const o = hook.object;
  return {
    group: groupOf(o.apiVersion),
    version: versionOf(o.apiVersion),
    kind: o.kind,
    namespace: o.metadata.namespace ?? '',
  };
}
