// The relist logic of the watch, driven by a scripted client (the cluster test covers the real server).
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/api/index.ts';
import { ApiError, type KubeClient, type WatchEvent } from '../../../src/kube/index.ts';
import { watchResource } from '../../../src/kube/watch.ts';

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'n', resourceVersion: rv },
});

describe('watchResource', () => {
  it('relists after 410 Gone and reports what changed meanwhile; retries after a dropped stream', async () => {
    const lists = [
      { items: [cm('a', '1'), cm('b', '1')], resourceVersion: '10' },
      { items: [cm('a', '5'), cm('c', '6')], resourceVersion: '20' },
    ];
    const streams: ((onLine: (line: unknown) => Promise<void> | void) => Promise<void>)[] = [
      async (onLine) => {
        await onLine({ type: 'BOOKMARK', object: { metadata: { name: '', resourceVersion: '11' } } });
        throw new ApiError(0, 'ConnectionFailed', 'socket hang up');
      },
      async (onLine) => {
        await onLine({
          type: 'ERROR',
          object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' },
        });
      },
      async (onLine) => {
        await onLine({ type: 'MODIFIED', object: cm('c', '21') });
      },
    ];
    const watchedFrom: (string | number | boolean | undefined)[] = [];
    const abort = new AbortController();
    const fake = {
      listPages: async function* () {
        yield lists.shift()!;
      },
      stream: async (
        _path: string,
        query: Record<string, string | number | boolean | undefined>,
        _s: unknown,
        onLine: (l: unknown) => Promise<void>,
      ) => {
        watchedFrom.push(query.resourceVersion);
        const next = streams.shift();
        if (!next) {
          abort.abort();
          throw new Error('aborted');
        }
        await next(onLine);
      },
    } as unknown as KubeClient;
    const events: string[] = [];
    const errors: string[] = [];
    await watchResource(
      fake,
      '/api/v1/namespaces/n/configmaps',
      { signal: abort.signal, retryDelayMs: 1, onError: (e) => errors.push(String(e)) },
      (e: WatchEvent<KubeObject>) => {
        events.push(
          e.type === 'SYNCED' ? `SYNCED@${e.resourceVersion}` : `${e.type} ${e.object.metadata.name}`,
        );
      },
    );
    expect(events).toEqual([
      'ADDED a',
      'ADDED b',
      'SYNCED@10',
      'MODIFIED a',
      'ADDED c',
      'DELETED b',
      'SYNCED@20',
      'MODIFIED c',
    ]);
    // After the dropped stream it resumed from the bookmark; after the 410 from the relist.
    expect(watchedFrom).toEqual(['10', '11', '20', '21']);
    expect(errors).toEqual(['ApiError: socket hang up']);
  });

  it('handles a list a page at a time; without syncedObjects, SYNCED holds none of them', async () => {
    const pages = [
      { items: [cm('a', '1'), cm('b', '1')], resourceVersion: '30' },
      { items: [cm('c', '1')], resourceVersion: '30' },
    ];
    const abort = new AbortController();
    const watchedFrom: unknown[] = [];
    const fake = {
      listPages: async function* () {
        for (const p of pages) yield p;
      },
      stream: async (_path: string, query: Record<string, unknown>) => {
        watchedFrom.push(query.resourceVersion);
        abort.abort();
        throw new Error('aborted');
      },
    } as unknown as KubeClient;
    const events: string[] = [];
    await watchResource(
      fake,
      '/api/v1/namespaces/n/configmaps',
      { signal: abort.signal, retryDelayMs: 1, syncedObjects: false },
      (e: WatchEvent<KubeObject>) => {
        events.push(
          e.type === 'SYNCED'
            ? `SYNCED ${e.objects.length} @${e.resourceVersion}`
            : `${e.type} ${e.object.metadata.name}`,
        );
      },
    );
    expect(events).toEqual(['ADDED a', 'ADDED b', 'ADDED c', 'SYNCED 0 @30']);
    expect(watchedFrom).toEqual(['30']);
  });
});
