// Pure diffing: normalize live and dry-run objects, honour ignore paths, compare, and say what changed in words.
import jsonpatch from 'fast-json-patch';
import type { IgnoreRule, KubeObject, ObjectRef } from '../api/index.ts';

/** Server-maintained metadata that says nothing about desired state. */
const VOLATILE_METADATA = [
  'managedFields',
  'resourceVersion',
  'generation',
  'uid',
  'creationTimestamp',
  'selfLink',
];

export interface FieldChange {
  op: 'add' | 'remove' | 'replace';
  /** JSON pointer of the field, e.g. `/spec/replicas`. */
  path: string;
  /** Live value (absent for add, and always absent for Secrets). */
  from?: unknown;
  /** Desired value (absent for remove, and always absent for Secrets). */
  to?: unknown;
}

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer "${pointer}" must start with /`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function getPointer(doc: unknown, pointer: string): { found: boolean; value?: unknown } {
  let node: unknown = doc;
  for (const key of parsePointer(pointer)) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key))
      return { found: false };
    node = (node as Record<string, unknown>)[key];
  }
  return { found: true, value: node };
}

/** Sets (creating parent objects) or, with value undefined, removes the field. Mutates doc. */
export function setPointer(doc: unknown, pointer: string, value: unknown): void {
  const keys = parsePointer(pointer);
  const last = keys.pop();
  if (last === undefined) return;
  let node = doc as Record<string, unknown>;
  for (const key of keys) {
    let child = node[key];
    if (child === null || typeof child !== 'object') {
      if (value === undefined) return;
      child = {};
      node[key] = child;
    }
    node = child as Record<string, unknown>;
  }
  if (value !== undefined) node[last] = value;
  else if (Array.isArray(node) && /^\d+$/.test(last)) node.splice(Number(last), 1);
  else delete node[last];
}

const matches = (want: string | undefined, have: string) =>
  want === undefined || want === '' || want === have;

/** The ignore paths of every rule whose target matches the object (empty target fields match all). */
export function ignorePathsFor(ref: ObjectRef, rules: readonly IgnoreRule[] = []): string[] {
  const paths: string[] = [];
  for (const rule of rules) {
    const t = rule.target;
    if (
      matches(t.group, ref.group) &&
      matches(t.version, ref.version) &&
      matches(t.kind, ref.kind) &&
      matches(t.name, ref.name) &&
      matches(t.namespace, ref.namespace)
    ) {
      paths.push(...rule.paths);
    }
  }
  return [...new Set(paths)];
}

/**
 * The object to apply when some fields are ignored: ignored fields take the live value, or are left
 * out when the live object has none, so the apply neither overwrites nor (as sole owner) removes them.
 */
export function withIgnoredFromLive(
  desired: KubeObject,
  live: KubeObject | undefined,
  paths: readonly string[],
): KubeObject {
  if (paths.length === 0 || !live) return desired;
  const out = structuredClone(desired);
  for (const path of paths) {
    const current = getPointer(live, path);
    setPointer(out, path, current.found ? structuredClone(current.value) : undefined);
  }
  return out;
}

/** A copy without server-maintained fields, status and ignored paths: what the diff compares. */
export function normalizeForDiff(
  obj: KubeObject,
  ignorePaths: readonly string[] = [],
): Record<string, unknown> {
  const copy = structuredClone(obj) as Record<string, unknown>;
  delete copy.status;
  const metadata = copy.metadata as Record<string, unknown> | undefined;
  if (metadata) {
    for (const key of VOLATILE_METADATA) delete metadata[key];
    for (const key of ['labels', 'annotations']) {
      const map = metadata[key] as Record<string, unknown> | undefined;
      if (map && Object.keys(map).length === 0) delete metadata[key];
    }
  }
  for (const path of ignorePaths) setPointer(copy, path, undefined);
  return copy;
}

/** Fields where the dry-run result differs from the live object; values hidden for Secrets. */
export function diffObjects(
  live: KubeObject,
  dryRun: KubeObject,
  opts: { ignorePaths?: readonly string[]; hideValues?: boolean } = {},
): FieldChange[] {
  const before = normalizeForDiff(live, opts.ignorePaths);
  const after = normalizeForDiff(dryRun, opts.ignorePaths);
  const ops = jsonpatch.compare(before, after);
  const changes: FieldChange[] = [];
  for (const op of ops) {
    if (op.op !== 'add' && op.op !== 'remove' && op.op !== 'replace') continue;
    const change: FieldChange = { op: op.op, path: op.path };
    if (!opts.hideValues) {
      if (op.op !== 'add') change.from = getPointer(before, op.path).value;
      if (op.op !== 'remove') change.to = op.value;
    }
    changes.push(change);
  }
  return changes;
}

function show(value: unknown): string {
  if (value === undefined) return '?';
  const text =
    typeof value === 'string' && /^[\w.:/@+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** `/spec/replicas 2→3`, `/data/b +"x"`, `/metadata/labels/a removed`, `/data/password changed` (Secrets). */
export function formatChange(change: FieldChange): string {
  const hidden = !('from' in change) && !('to' in change);
  if (change.op === 'remove') return `${change.path} removed`;
  if (hidden) return change.op === 'add' ? `${change.path} added` : `${change.path} changed`;
  if (change.op === 'add') return `${change.path} +${show(change.to)}`;
  return `${change.path} ${show(change.from)}→${show(change.to)}`;
}

/** Live (absent for a create) and after-apply objects as the diff compares them, for showing a full diff. */
export interface ComparedObjects {
  live?: Record<string, unknown>;
  after: Record<string, unknown>;
}

const MASK = '***';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Normalized live and after-apply objects. For Secrets every value under data/stringData (and a
 * last-applied annotation, which would repeat them) is masked, as `kubectl diff` does: `***` when
 * the value stays, `*** (before)` / `*** (after)` when it changes.
 */
export function comparedObjects(
  live: KubeObject | undefined,
  after: KubeObject,
  ignorePaths: readonly string[] = [],
  isSecret = false,
): ComparedObjects {
  const a = normalizeForDiff(after, ignorePaths);
  const l = live ? normalizeForDiff(live, ignorePaths) : undefined;
  if (isSecret) maskSecret(l, a);
  return l ? { live: l, after: a } : { after: a };
}

function maskSecret(live: Record<string, unknown> | undefined, after: Record<string, unknown>): void {
  for (const field of ['data', 'stringData']) {
    const before = (live?.[field] ?? undefined) as Record<string, unknown> | undefined;
    const next = (after[field] ?? undefined) as Record<string, unknown> | undefined;
    for (const key of new Set([...Object.keys(before ?? {}), ...Object.keys(next ?? {})])) {
      const same = before?.[key] !== undefined && JSON.stringify(before[key]) === JSON.stringify(next?.[key]);
      if (before && key in before) before[key] = same ? MASK : `${MASK} (before)`;
      if (next && key in next) next[key] = same ? MASK : `${MASK} (after)`;
    }
  }
  for (const obj of [live, after]) {
    const annotations = (obj?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
    if (annotations?.[LAST_APPLIED] !== undefined) annotations[LAST_APPLIED] = MASK;
  }
}

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
