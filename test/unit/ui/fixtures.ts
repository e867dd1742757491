// GitSource objects in each state the status page distinguishes, for the ui unit tests and the benchmark.
import type { Condition, GitSource } from '../../../src/api/index.ts';

export const SHA_A = '4f2c1a0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a';
export const SHA_B = 'def5678a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e';
const T0 = '2026-11-26T20:00:00Z';

export function cond(type: string, status: Condition['status'], reason: string, message = ''): Condition {
  return { type, status, reason, message, lastTransitionTime: T0, observedGeneration: 1 };
}

export function source(
  namespace: string,
  name: string,
  opts: {
    url?: string;
    conditions?: Condition[];
    suspend?: boolean;
    drift?: 'Correct' | 'Report';
    status?: Partial<NonNullable<GitSource['status']>>;
  } = {},
): GitSource {
  return {
    apiVersion: 'gitops.converge.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name, namespace, uid: `uid-${namespace}-${name}`, generation: 1 },
    spec: {
      url: opts.url ?? `https://github.com/org/${name}.git`,
      path: '.',
      interval: '1m',
      suspend: opts.suspend ?? false,
      prune: true,
      wait: true,
      force: false,
      drift: opts.drift ?? 'Correct',
      deletionPolicy: 'Orphan',
    },
    status: { conditions: opts.conditions ?? [], ...opts.status },
  };
}

export function readySource(namespace: string, name: string, url?: string): GitSource {
  return source(namespace, name, {
    ...(url ? { url } : {}),
    conditions: [
      cond('Ready', 'True', 'Succeeded', 'Applied revision main@sha1:4f2c1a0'),
      cond('Changed', 'False', 'UpToDate', 'main@sha1:4f2c1a0 is applied'),
      cond('Diverged', 'False', 'InSync', 'Live state matches main@sha1:4f2c1a0'),
      cond('Converged', 'True', 'Succeeded', 'Applied revision main@sha1:4f2c1a0; 2 object(s) healthy'),
    ],
    status: {
      revision: `main@sha1:${SHA_A}`,
      lastAppliedRevision: `main@sha1:${SHA_A}`,
      summary: { objects: 2, created: 1, configured: 1, unchanged: 0, pruned: 0, drifted: 0 },
      changes: ['ConfigMap/apps/web created', 'Deployment/apps/web configured: /spec/replicas 2→3'],
      inventory: {
        entries: [
          { id: `${namespace}_web__ConfigMap`, v: 'v1' },
          { id: `${namespace}_web_apps_Deployment`, v: 'v1' },
        ],
      },
      history: [
        {
          revision: `main@sha1:${SHA_A}`,
          appliedAt: '2026-11-26T20:00:00Z',
          duration: '1.2s',
          result: 'Succeeded',
        },
      ],
    },
  });
}

export function failingSource(namespace: string, name: string, message: string): GitSource {
  return source(namespace, name, {
    conditions: [
      cond('Ready', 'False', 'FetchFailed', message),
      cond('Stalled', 'True', 'FetchFailed', message),
      cond('Converged', 'False', 'FetchFailed', message),
    ],
  });
}
