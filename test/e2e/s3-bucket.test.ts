// Journey: desired state from an S3 bucket (versitygw, AWS Signature V4, path-style): the prefix is
// applied with Flux's Bucket revision, a changed object converges on the next pass, an excluded one
// never reaches the cluster (keys that could leave the prefix: test/unit/source/bucket).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap } from '../support/apps.ts';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import {
  applyGitSource,
  condition,
  getGitSource,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';

let ns: string;
let s3: S3Server;
let operator: OperatorProcess;
const ro = { timeoutMs: 10_000 };
const data = async (name: string) =>
  (await getObject<{ data?: Record<string, string> }>(ns, 'configmap', name))?.data;

beforeAll(async () => {
  ns = await createNamespace('s3');
  s3 = await startS3Server();
  operator = await startOperator({ namespace: ns });
  const secret = s3.secretData();
  await kubectlOk([
    'create',
    'secret',
    'generic',
    's3-creds',
    '-n',
    ns,
    ...Object.entries(secret).map(([k, v]) => `--from-literal=${k}=${v}`),
  ]);
  await s3.client.createBucket('fleet', ro);
  await s3.client.putObject('fleet', 'prod/web.yaml', configMap('web', { v: '1' }), ro);
  await s3.client.putObject('fleet', 'prod/test/scratch.yaml', configMap('scratch', { v: '1' }), ro);
}, 600_000);

afterAll(async () => {
  await operator?.stop();
  await s3?.close();
  await deleteNamespace(ns);
});

describe('S3 buckets', () => {
  it('applies the prefix; a changed object converges; excluded objects never do', async () => {
    await applyGitSource(ns, 'bucket', {
      url: 's3://fleet/prod',
      s3: { endpoint: s3.endpoint, region: s3.region, insecure: true },
      secretRef: { name: 's3-creds' },
      exclude: ['test/**'],
      interval: '1h',
      targetNamespace: ns,
      wait: false,
    });
    const first = await waitForCondition(ns, 'bucket', 'Ready', 'True');
    expect(first.status?.lastAppliedRevision).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await data('web')).toEqual({ v: '1' });
    expect(await getObject(ns, 'configmap', 'scratch')).toBeUndefined();

    await s3.client.putObject('fleet', 'prod/web.yaml', configMap('web', { v: '2' }), ro);
    await requestReconcile(ns, 'bucket');
    const moved = await eventually(
      async () => {
        const gs = await getGitSource(ns, 'bucket');
        const rev = gs?.status?.lastAppliedRevision;
        return condition(gs, 'Ready')?.status === 'True' && rev && rev !== first.status?.lastAppliedRevision
          ? gs
          : undefined;
      },
      { timeoutMs: 30_000, what: 'the new bucket revision applied' },
    );
    expect(moved.status?.lastAppliedRevision).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await data('web')).toEqual({ v: '2' });
  });
});
