// The Event recorder against the real API server: every note is made safe where it is written, whoever
// built it (a Notifier's delivery failure quotes a service; a GitSource's quotes git, tools, the API).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../../src/report/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { createNamespace, deleteNamespace } from '../../support/cluster.ts';
import { captureLog } from '../../support/git-log.ts';
import { testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
beforeAll(async () => {
  client = await testClient();
  ns = await createNamespace('recorder');
});
afterAll(async () => {
  await deleteNamespace(ns);
  client.close();
});

describe('EventRecorder', () => {
  it('writes notes without bidi overrides, controls or escape sequences, and bounded', async () => {
    const recorder = new EventRecorder(client, 'test', captureLog().logger);
    const seen: string[] = [];
    recorder.onRecorded((e) => seen.push(e.note));
    const hostile = `evil \u202egnp.exe\u202c \u2066x\u2069 \x1b[31mred\x1b[0m \x1b]0;title\x07 \x9b2Jend ${'y'.repeat(2000)}`;
    await recorder.record({ name: 'nf', namespace: ns, uid: 'uid-nf', kind: 'Notifier' }, [
      { type: 'Warning', reason: 'DeliveryFailed', note: hostile },
    ]);
    const list = await client.request<{ items: Array<{ note: string; reason: string }> }>(
      'GET',
      `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
    );
    expect(list.items).toHaveLength(1);
    const note = list.items[0]!.note;
    expect(note).toMatch(/^evil gnp\.exe x red +end y+…$/);
    // eslint-disable-next-line no-control-regex -- control characters are what is checked
    expect(note).not.toMatch(/[\u202a-\u202e\u2066-\u2069\x00-\x09\x0b-\x1f\x7f-\x9f]|\[31m|\]0;/);
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
    expect(seen).toEqual([note]);
  });
});
