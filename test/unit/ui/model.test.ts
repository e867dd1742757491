// The status page's view model: states, failing-first order, filters, commit links, health and secrets left out.
import { describe, expect, it } from 'vitest';
import {
  ago,
  commitUrl,
  countStates,
  detailOf,
  overviewRows,
  parseFilters,
  rowOf,
  stateOf,
} from '../../../src/ui/model.ts';
import { cond, failingSource, readySource, SHA_A, SHA_B, source } from './fixtures.ts';

describe('stateOf', () => {
  it.each([
    ['ready', readySource('a', 'x'), 'ready'],
    ['failing', failingSource('a', 'x', 'boom'), 'failing'],
    ['never reconciled', source('a', 'x'), 'progressing'],
    ['suspended by spec', source('a', 'x', { suspend: true }), 'suspended'],
    [
      'suspended by reason',
      source('a', 'x', { conditions: [cond('Ready', 'False', 'Suspended')] }),
      'suspended',
    ],
    [
      'waiting for a dependency',
      source('a', 'x', { conditions: [cond('Ready', 'False', 'DependencyNotReady')] }),
      'progressing',
    ],
    [
      'reconciling',
      source('a', 'x', {
        conditions: [cond('Ready', 'True', 'Succeeded'), cond('Reconciling', 'True', 'Progressing')],
      }),
      'progressing',
    ],
    [
      'stalled while Ready unknown',
      source('a', 'x', {
        conditions: [cond('Ready', 'Unknown', 'Progressing'), cond('Stalled', 'True', 'InvalidSpec')],
      }),
      'failing',
    ],
  ] as const)('%s', (_what, gs, state) => {
    expect(stateOf(gs)).toBe(state);
  });
});

describe('commitUrl', () => {
  it.each([
    ['https://github.com/org/repo.git', `https://github.com/org/repo/commit/${SHA_A}`],
    ['https://github.com/org/repo', `https://github.com/org/repo/commit/${SHA_A}`],
    ['https://www.github.com/org/repo/', `https://github.com/org/repo/commit/${SHA_A}`],
    ['git@github.com:org/repo.git', `https://github.com/org/repo/commit/${SHA_A}`],
    ['ssh://git@github.com/org/repo.git', `https://github.com/org/repo/commit/${SHA_A}`],
    ['ssh://git@ssh.github.com:443/org/repo.git', `https://github.com/org/repo/commit/${SHA_A}`],
    ['https://user:token@github.com/org/repo.git', `https://github.com/org/repo/commit/${SHA_A}`],
    ['https://gitlab.com/group/sub/repo.git', `https://gitlab.com/group/sub/repo/-/commit/${SHA_A}`],
    ['git@gitlab.com:group/repo.git', `https://gitlab.com/group/repo/-/commit/${SHA_A}`],
    ['https://bitbucket.org/ws/repo.git', `https://bitbucket.org/ws/repo/commits/${SHA_A}`],
    ['https://codeberg.org/owner/repo.git', `https://codeberg.org/owner/repo/commit/${SHA_A}`],
  ])('%s → a commit link', (url, expected) => {
    expect(commitUrl(url, SHA_A)).toBe(expected);
  });

  it.each([
    ['self-hosted server', 'https://git.example.com/org/repo.git'],
    ['GitHub with an extra path segment', 'https://github.com/org/repo/tree/main'],
    ['GitHub with one segment', 'https://github.com/org'],
    ['a look-alike host', 'https://github.com.evil.example/org/repo.git'],
    ['file URL', 'file:///srv/git/repo.git'],
    ['javascript URL', 'javascript:alert(1)//github.com/org/repo'],
    ['dot segments', 'https://github.com/org/../repo'],
    ['hostile characters', 'https://github.com/org/re"po'],
    ['a GitLab path with a dash segment', 'https://gitlab.com/group/repo/-/tree'],
  ])('%s → no link', (_what, url) => {
    expect(commitUrl(url, SHA_A)).toBeUndefined();
  });

  it('needs a full SHA', () => {
    expect(commitUrl('https://github.com/org/repo.git', 'abc1234')).toBeUndefined();
  });
});

describe('overviewRows', () => {
  const sources = [
    readySource('apps', 'a-ready'),
    source('apps', 'b-new'),
    failingSource('infra', 'z-broken', 'auth failed'),
    source('infra', 'paused', { suspend: true }),
    failingSource('apps', 'y-broken', 'render failed'),
  ];

  it('puts failing first, then progressing, suspended and ready, each by namespace and name', () => {
    expect(overviewRows(sources, {}).map((r) => r.key)).toEqual([
      'apps/y-broken',
      'infra/z-broken',
      'apps/b-new',
      'infra/paused',
      'apps/a-ready',
    ]);
  });

  it('filters by namespace and by status', () => {
    expect(overviewRows(sources, { namespace: 'infra' }).map((r) => r.key)).toEqual([
      'infra/z-broken',
      'infra/paused',
    ]);
    expect(overviewRows(sources, { status: 'failing', namespace: 'apps' }).map((r) => r.key)).toEqual([
      'apps/y-broken',
    ]);
  });

  it('counts every state', () => {
    expect(countStates(sources)).toEqual({ total: 5, failing: 2, progressing: 1, suspended: 1, ready: 1 });
  });

  it('reads filters from query parameters, ignoring unknown statuses', () => {
    expect(parseFilters(new URLSearchParams('namespace=apps&status=failing'))).toEqual({
      namespace: 'apps',
      status: 'failing',
    });
    expect(parseFilters(new URLSearchParams('status=<b>'))).toEqual({
      namespace: undefined,
      status: undefined,
    });
  });
});

describe('rowOf', () => {
  it('summarises revision, last applied time, change set and drift', () => {
    const row = rowOf(readySource('apps', 'web'));
    expect(row.revision).toEqual({
      short: 'main@sha1:4f2c1a0',
      full: `main@sha1:${SHA_A}`,
      commitUrl: `https://github.com/org/web/commit/${SHA_A}`,
    });
    expect(row.lastApplied).toBe('2026-11-26T20:00:00Z');
    expect(row.changes).toBe('1 created, 1 configured (2 objects)');
    expect(row.drift).toEqual({ kind: 'in-sync', text: 'In sync' });
  });

  it('tells a fetched revision that is not applied apart from the applied one', () => {
    const gs = readySource('apps', 'web');
    gs.status!.revision = `main@sha1:${SHA_B}`;
    const row = rowOf(gs);
    expect(row.revision?.short).toBe('main@sha1:4f2c1a0');
    expect(row.pending?.short).toBe('main@sha1:def5678');
    const never = failingSource('apps', 'new', 'render failed');
    never.status!.revision = `main@sha1:${SHA_B}`;
    expect(rowOf(never)).toMatchObject({ revision: undefined, pending: { short: 'main@sha1:def5678' } });
    expect(rowOf(readySource('apps', 'web')).pending).toBeUndefined();
  });

  it('shows reported drift', () => {
    const gs = source('apps', 'web', {
      drift: 'Report',
      conditions: [
        cond('Ready', 'True', 'Drifted'),
        cond('Diverged', 'True', 'Drifted', 'ConfigMap/apps/web /data/a'),
      ],
    });
    expect(rowOf(gs).drift).toMatchObject({ kind: 'drifted', text: 'Drifted (reported)' });
  });
});

describe('detailOf', () => {
  it('marks every inventory object healthy after a passed health check', () => {
    const d = detailOf(readySource('apps', 'web'), []);
    expect(d.inventory.map((o) => [o.kind, o.name, o.apiVersion, o.health.state])).toEqual([
      ['ConfigMap', 'web', 'v1', 'healthy'],
      ['Deployment', 'web', 'apps/v1', 'healthy'],
    ]);
  });

  it('marks the objects a failed health check names', () => {
    const gs = readySource('apps', 'web');
    gs.status!.conditions = [
      cond(
        'Ready',
        'False',
        'HealthCheckFailed',
        'timed out after 60s waiting for 1 object(s) to become ready: Deployment apps/web: 0/3 replicas available',
      ),
    ];
    expect(detailOf(gs, []).inventory.map((o) => o.health.state)).toEqual(['unknown', 'unhealthy']);
  });

  it('never shows credentials from the URL, substitute values or Helm values', () => {
    const gs = readySource(
      'apps',
      'web',
      'https://x-access-token:ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/o/r.git',
    );
    gs.spec.substitute = { DB_PASSWORD: 'hunter2-hunter2' };
    gs.spec.helm = { values: { password: 'helm-secret-value' } };
    const text = JSON.stringify(detailOf(gs, []));
    expect(text).not.toContain('ghp_');
    expect(text).not.toContain('x-access-token');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('helm-secret-value');
    expect(text).toContain('https://***@github.com/o/r.git');
  });
});

describe('ago', () => {
  const now = new Date('2026-11-26T21:00:00Z');
  it.each([
    ['2026-11-26T20:59:55Z', 'just now'],
    ['2026-11-26T20:59:30Z', '30s ago'],
    ['2026-11-26T20:57:00Z', '3m ago'],
    ['2026-11-26T18:00:00Z', '3h ago'],
    ['2026-11-24T21:00:00Z', '2d ago'],
  ])('%s → %s', (iso, text) => {
    expect(ago(iso, now)).toBe(text);
  });
});

describe('a chart source on the page', () => {
  it('shows the chart and its version, the repository, and the revision chart@version@sha256 short', () => {
    const digest = 'c'.repeat(64);
    const gs = readySource('apps', 'ingress');
    gs.spec = {
      ...gs.spec,
      url: undefined,
      chart: {
        repository: 'https://charts.example.com',
        name: 'ingress-nginx',
        version: '4.x',
        passCredentials: false,
      },
    } as typeof gs.spec;
    gs.status = {
      ...gs.status,
      revision: `ingress-nginx@4.11.3@sha256:${digest}`,
      lastAppliedRevision: `ingress-nginx@4.11.3@sha256:${digest}`,
    };
    const detail = detailOf(gs, []);
    expect(detail.spec.slice(0, 2)).toEqual([
      ['Chart', 'ingress-nginx@4.x'],
      ['Chart repository', 'https://charts.example.com'],
    ]);
    expect(detail.spec.map(([k]) => k)).not.toContain('URL');
    expect(detail.row.revision).toEqual({
      short: 'ingress-nginx@4.11.3@sha256:ccccccc',
      full: `ingress-nginx@4.11.3@sha256:${digest}`,
      commitUrl: undefined,
    });
  });
});
