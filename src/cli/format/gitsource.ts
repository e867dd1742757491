// GitSource rows for `converge get` and the short forms other commands print: pure, the clock passed in.
import type { GitSource } from '../../api/index.ts';
import { findCondition, shortRevision } from '../../report/index.ts';
import { formatAge } from './age.ts';
import { cell } from './table.ts';

export type GitSourceLike = Pick<GitSource, 'spec' | 'status'> & {
  metadata: GitSource['metadata'] & { creationTimestamp?: string };
};

export function getHeaders(withNamespace: boolean): string[] {
  return [
    ...(withNamespace ? ['NAMESPACE'] : []),
    'NAME',
    'READY',
    'REASON',
    'REVISION',
    'LAST CHANGE',
    'AGE',
  ];
}

/** NAMESPACE (with -A), NAME, READY, REASON, REVISION (short), LAST CHANGE (last revision applied or tried), AGE. */
export function getRow(gs: GitSourceLike, now: Date, withNamespace: boolean): string[] {
  const ready = findCondition(gs.status?.conditions, 'Ready');
  const revision = gs.status?.lastAppliedRevision ?? gs.status?.revision;
  return [
    ...(withNamespace ? [gs.metadata.namespace] : []),
    gs.metadata.name,
    ready?.status ?? 'Unknown',
    cell(ready?.reason ?? (gs.spec?.suspend ? 'Suspended' : undefined), 30),
    revision ? shortRevision(revision) : '-',
    formatAge(gs.status?.history?.[0]?.appliedAt, now),
    formatAge(gs.metadata.creationTimestamp, now),
  ];
}

/**
 * The commit SHA of a revision string (`main@sha1:<sha>`, `sha1:<sha>`, `v1@sha256:<sha>`): what
 * identifies its content; for a chart (`name@1.2.3@sha256:<digest>`) the archive's digest, and for a
 * chart with values from Git (`…+main@sha1:<sha>`) the values commit.
 */
export function commitOf(revision: string | undefined): string | undefined {
  return /(?:sha1|sha256):([0-9a-f]{40,64})$/.exec(revision ?? '')?.[1];
}

/** The chart version of a chart revision (`ingress-nginx@4.11.3@sha256:<digest>` → 4.11.3). */
export function chartVersionOf(revision: string | undefined): string | undefined {
  return /^[^@+]+@([^@+]+)@sha256:[0-9a-f]{64}(?:\+|$)/.exec(revision ?? '')?.[1];
}
