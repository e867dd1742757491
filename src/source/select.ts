// Which source a GitSource's spec names (`sourceOf`) and which cache it shares (`sourceKeyOf`): pure.
import { createHash } from 'node:crypto';
import { ConvergeError, type GitSourceSpec } from '../api/index.ts';
import { cacheKeyOf } from './git/index.ts';
import type { SourceRef } from './types.ts';

/** The parts of a spec that choose the source. */
export type SourceSpec = Pick<GitSourceSpec, 'url' | 'ref' | 'secretRef' | 'chart'>;

/** The source a spec names: a chart (with its values' Git source when url is set too) or Git. */
export function sourceOf(spec: SourceSpec): SourceRef {
  const chart = spec.chart;
  if (chart)
    return {
      kind: 'chart',
      repository: chart.repository,
      name: chart.name,
      version: chart.version ?? '*',
      passCredentials: chart.passCredentials,
      s3: chart.s3,
      values: spec.url ? { kind: 'git', url: spec.url, ref: spec.ref } : undefined,
    };
  if (spec.url === undefined) throw new ConvergeError('InvalidSpec', 'spec: one of url or chart is required');
  return { kind: 'git', url: spec.url, ref: spec.ref };
}

/**
 * The Secrets a spec's source reads: `secret` for the source itself (a chart's own secretRef, or
 * spec.secretRef when there is no Git part), `gitSecret` for the Git part beside a chart.
 */
export function secretNamesOf(spec: SourceSpec): {
  secret?: string | undefined;
  gitSecret?: string | undefined;
} {
  if (!spec.chart) return { secret: spec.secretRef?.name };
  if (spec.url === undefined) return { secret: spec.chart.secretRef?.name ?? spec.secretRef?.name };
  return { secret: spec.chart.secretRef?.name, gitSecret: spec.secretRef?.name };
}

/**
 * GitSources share a cache when they fetch the same source with the same credentials: the same
 * Secret (so the same namespace, whose GitSources may all read it), or none (public to everyone who
 * can reach it, so namespaces share it). A git source keeps the key it always had (its cache on
 * disk survives an upgrade).
 */
export function sourceKeyOf(namespace: string, spec: SourceSpec): string {
  const source = sourceOf(spec);
  const { secret, gitSecret } = secretNamesOf(spec);
  if (source.kind === 'git')
    return cacheKeyOf({ namespace, url: source.url, ref: source.ref, secretName: secret });
  const who = [secret, gitSecret].map((name) => (name ? `secret:${namespace}/${name}` : 'anonymous'));
  return createHash('sha256')
    .update(JSON.stringify([canonical(source), who]))
    .digest('hex')
    .slice(0, 32);
}

/** A value with its object keys sorted and undefined fields dropped (a stable hash input). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  return value;
}
