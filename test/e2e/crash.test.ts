// Journey: the operator is SIGKILLed in the middle of an apply, at a random point, ten times. Every
// object it created is still found and pruned later, when Git drops it: no orphans.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeClient } from '../../src/kube/index.ts';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import { commitFiles, startGitFixture, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { applyGitSource, condition, getGitSource } from '../support/gitops.ts';
import { startOperator } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

const OBJECTS = 40;
const TRIALS = 10;

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let client: KubeClient;
const targets: string[] = [];

beforeAll(async () => {
  ns = await createNamespace('crash');
  fixture = await startGitFixture();
  const [server, repo] = await Promise.all([fixture.serveHttp(), fixture.createRepo('app')]);
  http = server;
  const v1: Record<string, string> = {};
  for (let i = 0; i < OBJECTS; i++) v1[`v1/cm-${i}.yaml`] = configMap(`cm-${i}`, { i: String(i) });
  await commitFiles(repo, { ...v1, 'v2/keep.yaml': configMap('keep', { kept: 'yes' }) }, 'v1 and v2');
  client = await KubeClient.fromFile(inject('kubeconfig'));
});

afterAll(async () => {
  client?.close();
  await fixture?.close();
  await Promise.all([ns, ...targets].map((n) => deleteNamespace(n)));
});

/** ConfigMaps in `target` that carry the ownership label of GitSource `name`. */
async function owned(target: string, name: string): Promise<string[]> {
  const list = await client.request<{ items: { metadata: { name: string } }[] }>(
    'GET',
    `/api/v1/namespaces/${target}/configmaps`,
    { query: { labelSelector: `gitops.converge.dev/name=${name},gitops.converge.dev/namespace=${ns}` } },
  );
  return list.items.map((i) => i.metadata.name).sort();
}

describe('crash during apply', () => {
  it(`leaves no orphans over ${TRIALS} SIGKILLs at random points of an apply`, async () => {
    // Each operator life applies the next source's v1 and is killed mid-apply; the next life also
    // moves the previous source to v2 (dropping all of v1), and may itself be killed while pruning.
    const killedAt: number[] = [];
    let operator = await startOperator({ namespace: ns });
    for (let trial = 0; trial < TRIALS; trial++) {
      const target = await createNamespace(`crash-t${trial}`);
      targets.push(target);
      const name = `t${trial}`;
      const killAfter = 1 + Math.floor(Math.random() * (OBJECTS - 1));
      await applyGitSource(ns, name, {
        url: http.url('app'),
        path: './v1',
        targetNamespace: target,
        interval: '1m',
        wait: false,
      });
      // Kill as soon as `killAfter` of the objects exist: mid-apply, with no chance to record anything after.
      const created = await eventually(
        async () => {
          const n = (await owned(target, name)).length;
          return n >= killAfter ? n : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 5, what: `${killAfter} objects created` },
      );
      await operator.stop('SIGKILL');
      killedAt.push(created);
      operator = await startOperator({ namespace: ns });
      // Git drops every object of v1: whichever operator life runs next must find and prune them all.
      await kubectlOk([
        'patch',
        'gitsource',
        name,
        '-n',
        ns,
        '--type=merge',
        '-p',
        '{"spec":{"path":"./v2"}}',
      ]);
    }
    let orphans = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const name = `t${trial}`;
      await eventually(
        async () => {
          const gs = await getGitSource(ns, name);
          return gs?.status?.observedGeneration === 2 && condition(gs, 'Ready')?.status === 'True'
            ? gs
            : undefined;
        },
        { timeoutMs: 60_000, what: `${name} Ready at path v2` },
      );
      const left = await owned(targets[trial]!, name);
      orphans += left.filter((n) => n !== 'keep').length;
      expect(left).toContain('keep');
    }
    await operator.stop();
    console.log(
      `crash: ${TRIALS} SIGKILLs with ${killedAt.join(', ')} of ${OBJECTS} objects created; orphans left: ${orphans}`,
    );
    expect(killedAt.some((n) => n < OBJECTS)).toBe(true); // at least one kill landed mid-apply
    expect(orphans).toBe(0);
  }, 240_000);
});
