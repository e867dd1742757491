// Pure decisions of pull-request previews: which pull requests count, which need work, which may be
// deployed, preview names, the preview GitSource's spec, and whether a render changes anything.
import { createHash } from 'node:crypto';
import type { GitSourceSpec, KubeObject, PreviewStatus, PreviewsSpec } from '../api/index.ts';
import type { PullRequest } from './hosts/index.ts';

/** Pull requests into `base` that carry every label the spec asks for. */
export function selectPulls(pulls: readonly PullRequest[], spec: PreviewsSpec): PullRequest[] {
  const wanted = spec.labels ?? [];
  return pulls.filter((p) => wanted.every((l) => p.labels.includes(l))).sort((a, b) => a.number - b.number);
}

/** `{name}-pr-{number}` → `web-pr-12`, cut to a DNS label (63 characters, no trailing dash). */
export function previewNamespace(template: string, name: string, number: number): string {
  const ns = template
    .replaceAll('{name}', name)
    .replaceAll('{number}', String(number))
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  const numberPart = `-${number}`;
  if (ns.length <= 63) return ns.replace(/-+$/, '');
  // Keep the number: two pull requests must never share a namespace.
  return `${ns.slice(0, 63 - numberPart.length).replace(/-+$/, '')}${numberPart}`;
}

/** The GitSource that deploys a preview: `<name>-pr-<number>`, next to the one it previews. */
export function previewSourceName(name: string, number: number): string {
  const suffix = `-pr-${number}`;
  return `${name.slice(0, 253 - suffix.length)}${suffix}`;
}

export type Eligibility = { deploy: true } | { deploy: false; state: 'Skipped' | 'Queued'; message: string };

/**
 * Deploy mode: forks only with allowForks; at most maxPreviews at once, the oldest pull requests
 * first (a new one waits until an older one closes, never takes a running preview's place).
 */
export function deployEligibility(
  pulls: readonly PullRequest[],
  spec: PreviewsSpec,
): Map<number, Eligibility> {
  const out = new Map<number, Eligibility>();
  let slots = spec.maxPreviews;
  for (const pr of [...pulls].sort((a, b) => a.number - b.number)) {
    if (spec.mode !== 'Deploy') continue;
    if (pr.fork && !spec.allowForks) {
      out.set(pr.number, {
        deploy: false,
        state: 'Skipped',
        message: 'from a fork: diff only (set spec.previews.allowForks to deploy forks)',
      });
    } else if (slots <= 0) {
      out.set(pr.number, {
        deploy: false,
        state: 'Queued',
        message: `waiting: ${spec.maxPreviews} preview(s) already run (spec.previews.maxPreviews)`,
      });
    } else {
      slots--;
      out.set(pr.number, { deploy: true });
    }
  }
  return out;
}

/**
 * States that need no render for their head: nothing is posted again until the head (or the
 * eligibility) moves; a Deploying preview only follows its preview GitSource's Ready.
 */
const SETTLED = new Set(['Diffed', 'Unaffected', 'Deploying', 'Deployed', 'Failed', 'Skipped']);

/** Whether a pull request needs a render now: a new head, or a state that is still moving. */
export function needsWork(
  pr: PullRequest,
  previous: PreviewStatus | undefined,
  eligibility: Eligibility | undefined,
): boolean {
  if (!previous || previous.head !== pr.head) return true;
  if (previous.state === 'Queued') return eligibility?.deploy === true;
  return !SETTLED.has(previous.state);
}

/** The spec of a preview's GitSource: the previewed one's, pinned to the head, applied into its namespace. */
export function previewSpec(spec: GitSourceSpec, head: string, namespace: string): GitSourceSpec {
  const { previews: _previews, dependsOn: _dependsOn, ...rest } = spec;
  return {
    ...rest,
    ref: { commit: head },
    targetNamespace: namespace,
    suspend: false,
    prune: true,
    // Closing the pull request deletes the preview GitSource and its namespace: take objects along.
    deletionPolicy: 'Delete',
  };
}

/** A digest of rendered objects independent of their order: equal digests, equal desired state. */
export function renderDigest(objects: readonly KubeObject[]): string {
  const lines = objects.map((o) => stableJson(o)).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Objects a preview may not apply: cluster-scoped ones and any in another namespace than its own. */
export function escapes(
  objects: readonly KubeObject[],
  namespace: string,
  namespaced: (o: KubeObject) => boolean,
): string[] {
  const out: string[] = [];
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`;
    if (!namespaced(o)) out.push(`${id} is cluster-scoped`);
    else if (o.metadata?.namespace && o.metadata.namespace !== namespace)
      out.push(`${id} is outside ${namespace}`);
  }
  return out;
}

/** The status.previews list in pull request order, equal lists compare equal. */
export function sortPreviews(list: PreviewStatus[]): PreviewStatus[] {
  return [...list].sort((a, b) => a.number - b.number);
}

export function samePreviews(a: readonly PreviewStatus[] | undefined, b: readonly PreviewStatus[]): boolean {
  return stableJson(a ?? []) === stableJson(b);
}
