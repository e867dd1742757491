// Journey: two operator replicas share a Lease; only the leader writes, and a SIGTERM hands over at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import {
  commitFiles,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
} from '../support/git-server.ts';
import {
  apiWrites,
  applyGitSource,
  metricSum,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;
const operators: Record<string, OperatorProcess> = {};

const holder = async () =>
  (
    JSON.parse(await kubectlOk(['get', 'lease', 'converge-leader', '-n', ns, '-o', 'json'])) as {
      spec: { holderIdentity?: string };
    }
  ).spec.holderIdentity;
const logged = (op: OperatorProcess, msg: string) =>
  op.logs.some((l) => (JSON.parse(l) as { msg?: string }).msg === msg);

beforeAll(async () => {
  ns = await createNamespace('leader');
  fixture = await startGitFixture();
  [http, repo] = await Promise.all([fixture.serveHttp(), fixture.createRepo('app')]);
  const args = ['--leader-elect=true', '--lease-namespace', ns];
  const [one, two] = await Promise.all([
    startOperator({ namespace: ns, args, env: { POD_NAME: 'op-one' } }),
    startOperator({ namespace: ns, args, env: { POD_NAME: 'op-two' } }),
  ]);
  operators['op-one'] = one;
  operators['op-two'] = two;
});

afterAll(async () => {
  await Promise.all(Object.values(operators).map((o) => o.stop()));
  await fixture?.close();
  await deleteNamespace(ns);
});

describe('leader election', () => {
  it('only the Lease holder reconciles; SIGTERM hands over to the standby, which applies the next commit', async () => {
    await commitFiles(repo, { 'cm.yaml': configMap('led', { v: '1' }) }, 'v1');
    await applyGitSource(ns, 'app', { url: http.url('app'), interval: '5s', targetNamespace: ns });
    await waitForCondition(ns, 'app', 'Ready', 'True');

    const leaderId = await eventually(holder, { what: 'a lease holder' });
    expect(['op-one', 'op-two']).toContain(leaderId);
    const standbyId = leaderId === 'op-one' ? 'op-two' : 'op-one';
    const leader = operators[leaderId]!;
    const standby = operators[standbyId]!;
    expect(logged(leader, 'became leader')).toBe(true);
    expect(logged(standby, 'became leader')).toBe(false);
    expect(logged(leader, 'applied')).toBe(true);
    expect(logged(standby, 'applied')).toBe(false);
    const [leaderPort, standbyPort] = [await leader.metricsPort(), await standby.metricsPort()];
    expect(await metricSum(leaderPort, 'converge_leader')).toBe(1);
    expect(await metricSum(standbyPort, 'converge_leader')).toBe(0);
    // The standby only reads (the Lease, the watches): not one mutating request.
    expect(await apiWrites(standbyPort)).toBe(0);
    expect(await metricSum(standbyPort, 'converge_reconcile_total')).toBe(0);
    // Conditions are reported by the leader alone, so a sum over both replicas counts each once.
    expect(await metricSum(leaderPort, 'converge_condition', { type: /^Ready$/, status: /^True$/ })).toBe(1);
    expect(await metricSum(standbyPort, 'converge_condition')).toBe(0);

    const stoppedAt = Date.now();
    const code = await leader.stop('SIGTERM');
    expect(code).toBe(0);
    await eventually(async () => (await holder()) === standbyId && logged(standby, 'became leader'), {
      timeoutMs: 20_000,
      what: 'standby takes over',
    });
    const takeoverMs = Date.now() - stoppedAt;
    console.log(
      `leader-election: standby took over ${takeoverMs} ms after SIGTERM to the leader (exit included)`,
    );
    // Handed over on SIGTERM (the Lease released), not after the 15 s lease expiry.
    expect(takeoverMs).toBeLessThan(15_000);

    const c2 = await commitFiles(repo, { 'cm.yaml': configMap('led', { v: '2' }) }, 'v2');
    await requestReconcile(ns, 'app');
    await waitForCondition(ns, 'app', 'Ready', 'True', { revision: c2 });
    expect(JSON.parse(await kubectlOk(['get', 'configmap', 'led', '-n', ns, '-o', 'json'])).data).toEqual({
      v: '2',
    });
    expect(logged(standby, 'applied')).toBe(true);
  });
});
