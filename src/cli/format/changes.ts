// A planned ChangeSet as `converge diff` prints it: a unified diff per object, the prune list, a summary.
import * as yaml from 'js-yaml';
import { describeRef } from '../../api/index.ts';
import { describeChange, summarize, type ChangeSet, type PlannedObject } from '../../plan/index.ts';
import { colorizeDiff, paint, unifiedDiff } from './unified.ts';

const FIRST_KEYS = ['apiVersion', 'kind', 'metadata', 'spec', 'data', 'stringData'];

/** apiVersion, kind, metadata, spec first (as manifests are written), then alphabetical: a stable text. */
function compareKeys(a: string, b: string): number {
  const ra = FIRST_KEYS.indexOf(a);
  const rb = FIRST_KEYS.indexOf(b);
  if (ra >= 0 || rb >= 0) return (ra < 0 ? FIRST_KEYS.length : ra) - (rb < 0 ? FIRST_KEYS.length : rb);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toYaml(obj: unknown): string {
  return yaml.dump(obj, { sortKeys: compareKeys, lineWidth: -1, noRefs: true });
}

/** The diff of one planned object (empty for unchanged ones). */
export function objectDiff(planned: PlannedObject, color: boolean): string[] {
  if (planned.action === 'unchanged') return [];
  const name = describeRef(planned.ref);
  const compared = planned.compared;
  if (!compared) return [`# ${describeChange(planned)}`];
  const lines = unifiedDiff(compared.live ? toYaml(compared.live) : '', toYaml(compared.after), {
    from: compared.live ? `${name} (live)` : `${name} (absent)`,
    to: `${name} (after apply)`,
  });
  const notes: string[] = [];
  if (planned.recreate) notes.push(`# ${name} will be deleted and recreated: an immutable field changes`);
  if (planned.pending === 'crd') notes.push(`# ${name}: its CustomResourceDefinition is created first`);
  return [...notes.map((n) => paint(n, 'bold', color)), ...(color ? colorizeDiff(lines) : lines)];
}

export interface RenderedChangeSet {
  text: string;
  changed: boolean;
  summary: string;
}

/** Every object diff, then the prune list, then one summary line. */
export function renderChangeSet(changeSet: ChangeSet, opts: { color: boolean }): RenderedChangeSet {
  const out: string[] = [];
  for (const planned of changeSet.objects) out.push(...objectDiff(planned, opts.color));
  const prune = changeSet.stale.filter((s) => !s.keep);
  const kept = changeSet.stale.filter((s) => s.keep);
  if (prune.length > 0) {
    out.push(paint('Would prune (no longer in Git):', 'bold', opts.color));
    for (const s of prune) out.push(paint(`- ${describeRef(s.ref)}`, 'red', opts.color));
  }
  if (kept.length > 0) {
    out.push('Left in place (no longer in Git, not pruned):');
    for (const s of kept) out.push(`  ${describeRef(s.ref)} (${s.keep})`);
  }
  const s = summarize(changeSet);
  const parts = [
    `${s.created} to create`,
    `${s.configured} to configure`,
    `${s.pruned} to prune`,
    `${s.unchanged} unchanged`,
  ];
  const changed = s.created + s.configured + s.pruned > 0;
  const summary = changed ? parts.join(', ') : `no changes (${s.objects} object(s) in sync)`;
  return { text: out.length ? `${out.join('\n')}\n` : '', changed, summary };
}
