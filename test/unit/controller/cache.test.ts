// GitSourceCache's change feed (read by the status page): every set and delete is announced, a
// failing listener never disturbs the writer, and unsubscribing stops the calls.
import { describe, expect, it } from 'vitest';
import type { GitSource } from '../../../src/api/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { GitSourceCache } from '../../../src/controller/index.ts';

const gs = (name: string) => ({ metadata: { name, namespace: 'apps', uid: name } }) as GitSource;

describe('GitSourceCache.onChange', () => {
  it('announces sets and deletes by key', () => {
    const cache = new GitSourceCache({} as KubeClient);
    const seen: string[] = [];
    cache.onChange(() => {
      throw new Error('a broken reader');
    });
    const off = cache.onChange((key) => seen.push(`${key}:${cache.has(key)}`));
    cache.set('apps/web', gs('web'));
    cache.delete('apps/web');
    off();
    cache.set('apps/other', gs('other'));
    expect(seen).toEqual(['apps/web:true', 'apps/web:false']);
    expect([...cache.keys()]).toEqual(['apps/other']);
  });
});
