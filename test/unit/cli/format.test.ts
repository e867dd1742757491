// Pure CLI formatting: tables, ages, get rows and the inventory tree.
import { describe, expect, it } from 'vitest';
import { formatAge, humanDuration } from '../../../src/cli/format/age.ts';
import {
  commitOf,
  getHeaders,
  getRow,
  hasRemote,
  type GitSourceLike,
} from '../../../src/cli/format/gitsource.ts';
import { cell, formatTable } from '../../../src/cli/format/table.ts';
import { renderTree } from '../../../src/cli/format/tree.ts';

const sha = 'abcdef0123456789abcdef0123456789abcdef01';
const now = new Date('2026-11-26T12:00:00Z');

describe('formatTable', () => {
  it('pads columns with three spaces, leaves the last unpadded, counts ✓ as one column', () => {
    expect(
      formatTable(
        ['NAME', 'READY', 'AGE'],
        [
          ['web', 'True', '5m'],
          ['infrastructure', '✓', '2d'],
        ],
      ),
    ).toBe(
      'NAME             READY   AGE\n' + 'web              True    5m\n' + 'infrastructure   ✓       2d\n',
    );
  });
  it('cuts long cells and flattens newlines', () => {
    expect(cell('a\nb   c')).toBe('a b c');
    expect(cell('x'.repeat(10), 5)).toBe('xxxx…');
    expect(cell(undefined)).toBe('-');
  });
});

describe('ages as kubectl prints them', () => {
  it.each([
    [5_000, '5s'],
    [119_000, '119s'],
    [150_000, '2m30s'],
    [600_000, '10m'],
    [3 * 3_600_000 + 60_000, '3h1m'],
    [10 * 3_600_000, '10h'],
    [50 * 3_600_000, '2d2h'],
    [20 * 86_400_000, '20d'],
    [800 * 86_400_000, '2y'],
  ])('%d ms → %s', (ms, text) => expect(humanDuration(ms)).toBe(text));
  it('is - for missing or bad times and never negative', () => {
    expect(formatAge(undefined, now)).toBe('-');
    expect(formatAge('not a time', now)).toBe('-');
    expect(formatAge('2026-11-26T12:00:10Z', now)).toBe('0s');
  });
});

describe('get rows', () => {
  const gs: GitSourceLike = {
    metadata: { name: 'web', namespace: 'apps', uid: 'u', creationTimestamp: '2026-11-24T12:00:00Z' },
    spec: { url: 'https://x/y.git' } as GitSourceLike['spec'],
    status: {
      lastAppliedRevision: `main@sha1:${sha}`,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Succeeded',
          message: 'ok',
          lastTransitionTime: '2026-11-26T11:00:00Z',
        },
      ],
      history: [
        {
          revision: `main@sha1:${sha}`,
          appliedAt: '2026-11-26T11:55:00Z',
          duration: '1.2s',
          result: 'Succeeded',
        },
      ],
    },
  };
  it('shows READY, REASON, short REVISION, LAST CHANGE and AGE; NAMESPACE only with -A', () => {
    expect(getHeaders(false)).toEqual(['NAME', 'READY', 'REASON', 'REVISION', 'LAST CHANGE', 'AGE']);
    expect(getRow(gs, now, false)).toEqual(['web', 'True', 'Succeeded', 'main@sha1:abcdef0', '5m', '2d']);
    expect(getRow(gs, now, true)[0]).toBe('apps');
  });
  it('shows a fresh GitSource with dashes and Unknown', () => {
    const fresh = { ...gs, status: undefined };
    expect(getRow(fresh, now, false)).toEqual(['web', 'Unknown', '-', '-', '-', '2d']);
  });
  it('shows no REVISION for a GitSource that fetched a revision but never applied one', () => {
    const never: GitSourceLike = {
      ...gs,
      status: {
        revision: `main@sha1:${sha}`,
        lastAttemptedRevision: `main@sha1:${sha}`,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'RenderFailed',
            message: 'a.yaml: bad',
            lastTransitionTime: '2026-11-26T11:00:00Z',
          },
        ],
      },
    };
    expect(getRow(never, now, false)).toEqual(['web', 'False', 'RenderFailed', '-', '-', '2d']);
  });

  it('adds a CLUSTER column when a GitSource applies to a remote cluster', () => {
    const remote = {
      ...gs,
      spec: { ...gs.spec, kubeConfig: { secretRef: { name: 'prod-eu', key: 'value' } } },
      status: { ...gs.status, cluster: { server: 'https://10.0.0.1:6443/', context: 'prod-eu' } },
    } as GitSourceLike;
    expect(hasRemote([gs])).toBe(false);
    expect(hasRemote([gs, remote])).toBe(true);
    expect(getHeaders(false, true)).toEqual([
      'NAME',
      'CLUSTER',
      'READY',
      'REASON',
      'REVISION',
      'LAST CHANGE',
      'AGE',
    ]);
    expect(getRow(remote, now, false, true)[1]).toBe('prod-eu@10.0.0.1:6443');
    expect(getRow(gs, now, false, true)[1]).toBe('in-cluster');
    // Before the operator resolved it: the Secret it names.
    expect(getRow({ ...remote, status: undefined } as GitSourceLike, now, false, true)[1]).toBe(
      'secret/prod-eu',
    );
  });
  it('reads the commit of every revision form', () => {
    expect(commitOf(`main@sha1:${sha}`)).toBe(sha);
    expect(commitOf(`sha1:${sha}`)).toBe(sha);
    expect(commitOf('main')).toBeUndefined();
  });
});

describe('renderTree', () => {
  it('groups by namespace then kind, cluster-scoped first, with health marks and details', () => {
    const text = renderTree('GitSource/apps/web', [
      {
        namespace: 'apps',
        group: 'apps',
        kind: 'Deployment',
        name: 'web',
        health: 'InProgress',
        message: '1 of 2 replicas ready',
      },
      {
        namespace: 'apps',
        group: '',
        kind: 'ConfigMap',
        name: 'web-config',
        health: 'Current',
        message: 'ready',
      },
      { namespace: '', group: '', kind: 'Namespace', name: 'apps', health: 'Current', message: '' },
      {
        namespace: 'apps',
        group: '',
        kind: 'ConfigMap',
        name: 'gone',
        health: 'NotFound',
        message: 'not found',
      },
    ]);
    expect(text).toBe(
      [
        'GitSource/apps/web',
        '├── (cluster)',
        '│   └── Namespace',
        '│       └── apps  ✓ Current',
        '└── apps',
        '    ├── ConfigMap',
        '    │   ├── gone        ✗ NotFound: not found',
        '    │   └── web-config  ✓ Current',
        '    └── Deployment.apps',
        '        └── web  … InProgress: 1 of 2 replicas ready',
        '',
      ].join('\n'),
    );
  });
  it('says when the inventory is empty', () => {
    expect(renderTree('GitSource/a/b', [])).toContain('(no objects in the inventory)');
  });
});
