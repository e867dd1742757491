// The set of fetchers: a request goes to the kind that handles it, an owner whose spec changes kind
// is forgotten by the kind it left, and the cache key of a git source is what it always was.
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../../src/api/index.ts';
import { cacheKeyOf } from '../../../src/source/git/index.ts';
import {
  combineFetchers,
  secretNamesOf,
  sourceKeyOf,
  sourceOf,
  type Fetcher,
  type SourceRef,
  type SourceRequest,
} from '../../../src/source/index.ts';

function fake(kind: SourceRef['kind'], calls: string[]): Fetcher {
  const owners = new Map<string, string>();
  const revision = async (req: SourceRequest) => {
    owners.set(req.owner ?? req.key, req.key);
    calls.push(`${kind} ${req.key}`);
    return { revision: kind, commit: kind, fetchRef: '' };
  };
  return {
    handles: (ref) => ref.kind === kind,
    checkSecret: () => calls.push(`${kind} check`),
    resolveRevision: revision,
    fetchRevision: async (req) => ({ ...(await revision(req)), dir: '/', fetched: false, release() {} }),
    forget: async (owner) => {
      owners.delete(owner);
      calls.push(`${kind} forget ${owner}`);
    },
    close: async () => {},
    retainOnly: async () => [],
    stats: () => ({ processes: 1, lsRemotes: 2, fetches: 3, collections: 0, reused: 0 }),
    diskUsage: async () => new Map([['k', 10]]),
    owners: () => owners,
    expire: () => {},
    onMoved: () => {},
  };
}

const spec = (raw: Record<string, unknown>) => {
  const parsed = parseSpec(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.spec;
};

describe('combineFetchers', () => {
  it('dispatches by kind and moves an owner between kinds', async () => {
    const calls: string[] = [];
    const set = combineFetchers({ git: fake('git', calls), helm: fake('chart', calls) });
    const git: SourceRef = { kind: 'git', url: 'https://g/x.git' };
    const chart: SourceRef = { kind: 'chart', repository: 'https://c', name: 'a', version: '*' };
    await set.resolveRevision({ key: 'k1', owner: 'uid', source: git, timeoutMs: 1000 });
    await set.resolveRevision({ key: 'k2', owner: 'uid', source: chart, timeoutMs: 1000 });
    set.checkSecret(chart, { where: 'ns/s', data: {} });
    expect(calls).toEqual(['git k1', 'git forget uid', 'chart k2', 'chart check']);
    expect([...set.owners()]).toEqual([['uid', 'k2']]);
    expect(set.stats()).toEqual({ processes: 2, lsRemotes: 4, fetches: 6, collections: 0, reused: 0 });
    expect(await set.diskUsage()).toEqual(new Map([['k', 20]]));
  });
});

describe('sourceOf and sourceKeyOf', () => {
  it('a git spec keeps the cache key it always had', () => {
    const s = spec({ url: 'https://g/x.git', ref: { branch: 'dev' }, secretRef: { name: 'auth' } });
    expect(sourceOf(s)).toEqual({ kind: 'git', url: 'https://g/x.git', ref: { branch: 'dev' } });
    expect(sourceKeyOf('apps', s)).toBe(
      cacheKeyOf({ namespace: 'apps', url: 'https://g/x.git', ref: { branch: 'dev' }, secretName: 'auth' }),
    );
  });

  it('a chart with url has a values source and two Secrets; keys differ by version and Secret', () => {
    const s = spec({
      url: 'https://g/values.git',
      secretRef: { name: 'git-auth' },
      chart: { repository: 'https://c', name: 'a', version: '1.x', secretRef: { name: 'chart-auth' } },
    });
    expect(sourceOf(s)).toMatchObject({
      kind: 'chart',
      name: 'a',
      version: '1.x',
      values: { kind: 'git', url: 'https://g/values.git' },
    });
    expect(secretNamesOf(s)).toEqual({ secret: 'chart-auth', gitSecret: 'git-auth' });
    const only = spec({ secretRef: { name: 'auth' }, chart: { repository: 'https://c', name: 'a' } });
    expect(secretNamesOf(only)).toEqual({ secret: 'auth' });
    const other = spec({ ...s, chart: { ...s.chart, version: '2.x' } });
    expect(sourceKeyOf('apps', other)).not.toBe(sourceKeyOf('apps', s));
    expect(sourceKeyOf('apps', s)).toBe(sourceKeyOf('apps', spec({ ...s })));
  });
});
