// The change set: what the plan found for every object (the "diff" the conditions report), as plain data.
import { describeRef, type KubeObject, type ObjectRef } from '../api/index.ts';
import { formatChange, type ComparedObjects, type FieldChange } from './diff.ts';

export type Action = 'create' | 'configure' | 'unchanged';

export interface PlannedObject {
  /** Inventory id `ns_name_group_kind`. */
  id: string;
  ref: ObjectRef;
  action: Action;
  /** What apply sends: ownership labels added, ignored fields resolved, namespace normalized. */
  object: KubeObject;
  /** REST path; absent when the kind's CRD is created in this same change set (resolved at apply). */
  path?: string;
  /** Why this create could not be dry-run: its CRD is part of the change set. */
  pending?: 'crd';
  /** configure: the fields that differ (JSON pointers, fast-json-patch compare of live → dry-run). */
  changes?: FieldChange[];
  /** The live object's identity when it exists. */
  live?: { uid: string; resourceVersion: string };
  /** Recreate on an immutable-field error (spec.force or the per-object annotation). */
  force: boolean;
  /** An immutable field changes: apply deletes and recreates the object (force is set). */
  recreate?: boolean;
  /** gitops.converge.dev/ssa: IfNotPresent — created when missing, never updated. */
  createOnly: boolean;
  /** With PlanOptions.applied: the digest of the desired form, recorded once the apply succeeded. */
  digest?: string;
  /** With PlanOptions.withObjects: what the diff compared, Secret values masked. */
  compared?: ComparedObjects;
}

export interface StaleObject {
  id: string;
  ref: ObjectRef;
  /** Set when the plan found it must stay (another owner's labels, or prune: disabled): the reason. */
  keep?: string;
  /**
   * The live object as the plan read it, ours and free to prune: the prune deletes it on the
   * condition that it is still exactly that (uid and resourceVersion), without reading it again.
   */
  seen?: { uid: string; resourceVersion: string };
}

export interface Owner {
  name: string;
  namespace: string;
}

export interface ChangeSet {
  owner: Owner;
  /** Desired objects in apply order. */
  objects: PlannedObject[];
  /** In the previous inventory, not desired any more: to be pruned (if the owner prunes). */
  stale: StaleObject[];
}

export interface ChangeSummary {
  objects: number;
  created: number;
  configured: number;
  unchanged: number;
  pruned: number;
}

export function summarize(changeSet: ChangeSet): ChangeSummary {
  const count = (action: Action) => changeSet.objects.filter((o) => o.action === action).length;
  return {
    objects: changeSet.objects.length,
    created: count('create'),
    configured: count('configure'),
    unchanged: count('unchanged'),
    pruned: changeSet.stale.filter((s) => !s.keep).length,
  };
}

/** True when applying would write anything or there is something to prune. */
export function hasChanges(changeSet: ChangeSet): boolean {
  return changeSet.stale.some((s) => !s.keep) || changeSet.objects.some((o) => o.action !== 'unchanged');
}

const MAX_FIELDS_PER_LINE = 3;

/** `Deployment/apps/web configured: /spec/replicas 2→3`. */
export function describeChange(planned: PlannedObject): string {
  const what = describeRef(planned.ref);
  if (planned.action === 'create') return `${what} created`;
  if (planned.action === 'unchanged') return `${what} unchanged`;
  const changes = planned.changes ?? [];
  const shown = changes.slice(0, MAX_FIELDS_PER_LINE).map(formatChange);
  if (changes.length > MAX_FIELDS_PER_LINE) shown.push(`+${changes.length - MAX_FIELDS_PER_LINE} more`);
  const verb = planned.recreate ? 'recreated' : 'configured';
  return shown.length ? `${what} ${verb}: ${shown.join(', ')}` : `${what} ${verb}`;
}

/** Human lines for status.changes: creates, configures and prunes (unchanged left out), at most `max`. */
export function changeLines(changeSet: ChangeSet, max = 20): string[] {
  const lines = changeSet.objects.filter((o) => o.action !== 'unchanged').map(describeChange);
  for (const stale of changeSet.stale)
    lines.push(
      stale.keep
        ? `${describeRef(stale.ref)} left in place (${stale.keep})`
        : `${describeRef(stale.ref)} pruned`,
    );
  if (lines.length > max) return [...lines.slice(0, max - 1), `… and ${lines.length - max + 1} more`];
  return lines;
}

/** The Diverged message: counts, then the first change lines, e.g. "1 to create, 2 to configure: …". */
export function divergedMessage(changeSet: ChangeSet, shown = 5): string {
  const s = summarize(changeSet);
  const counts = [
    s.created ? `${s.created} to create` : '',
    s.configured ? `${s.configured} to configure` : '',
    s.pruned ? `${s.pruned} to prune` : '',
  ].filter(Boolean);
  const lines = changeLines(changeSet);
  return `${counts.join(', ') || 'no changes'}${lines.length ? `: ${lines.slice(0, shown).join('; ')}` : ''}`;
}
