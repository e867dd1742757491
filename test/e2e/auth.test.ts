// Journey: private repositories over HTTP basic auth and SSH; a wrong password stalls until the
// secret is fixed, and no credential ever shows up in logs, status or events.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, kubectlOk } from '../support/cluster.ts';
import {
  commitFiles,
  startGitFixture,
  type GitFixture,
  type HttpGitServer,
  type SshGitServer,
} from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

const USER = 'deployer';
const PASSWORD = `right-${randomBytes(8).toString('hex')}`;
const WRONG = `wrong-${randomBytes(8).toString('hex')}`;

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let ssh: SshGitServer;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('auth');
  fixture = await startGitFixture();
  const repo = await fixture.createRepo('private');
  await commitFiles(repo, { 'cm.yaml': configMap('private-config', { from: 'private' }) }, 'first');
  [http, ssh, operator] = await Promise.all([
    fixture.serveHttp({ auth: { username: USER, password: PASSWORD } }),
    fixture.serveSsh(),
    startOperator({ namespace: ns }),
  ]);
});

afterAll(async () => {
  await operator?.stop();
  await fixture?.close();
  await deleteNamespace(ns);
});

async function applySecret(name: string, stringData: Record<string, string>): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns },
      type: 'Opaque',
      stringData,
    }),
  );
}

describe('git authentication', () => {
  it('a wrong password gives AuthenticationFailed and Stalled; fixing the secret recovers', async () => {
    await applySecret('http-auth', { username: USER, password: WRONG });
    await applyGitSource(ns, 'http', {
      url: http.url('private'),
      interval: '5s',
      targetNamespace: ns,
      secretRef: { name: 'http-auth' },
    });
    const failed = await waitForCondition(ns, 'http', 'Ready', 'False', { reason: 'AuthenticationFailed' });
    console.log(`auth: ${condition(failed, 'Ready')?.message}`);
    expect(condition(failed, 'Ready')?.message).toMatch(/credentials/);
    expect(condition(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'AuthenticationFailed' });
    expect(await getObject(ns, 'configmap', 'private-config')).toBeUndefined();

    await applySecret('http-auth', { username: USER, password: PASSWORD });
    const fixedAt = Date.now();
    await requestReconcile(ns, 'http');
    const ok = await waitForCondition(ns, 'http', 'Ready', 'True');
    console.log(`auth: Ready ${Date.now() - fixedAt} ms after the secret was fixed`);
    expect(condition(ok, 'Stalled')).toBeUndefined();
    expect((await getObject(ns, 'configmap', 'private-config'))?.data).toEqual({ from: 'private' });
  });

  it('SSH with an identity and known_hosts', async () => {
    // The same repository as the http source: its objects go to another namespace, since one object
    // has one owning GitSource.
    const target = await createNamespace('auth-ssh');
    try {
      await applySecret('ssh-auth', { identity: ssh.identity, known_hosts: ssh.knownHosts });
      await applyGitSource(ns, 'ssh', {
        url: ssh.url('private'),
        path: '.',
        interval: '5s',
        targetNamespace: target,
        secretRef: { name: 'ssh-auth' },
      });
      const ok = await waitForCondition(ns, 'ssh', 'Ready', 'True');
      expect(ok.status?.lastAppliedRevision).toMatch(/^main@sha1:[0-9a-f]{40}$/);
      expect((await getObject(target, 'configmap', 'private-config'))?.data).toEqual({ from: 'private' });
    } finally {
      await deleteNamespace(target);
    }
  });

  it('no credential appears in operator logs, GitSource status or events', async () => {
    const keyLines = ssh.identity.split('\n').filter((l) => l && !l.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(2);
    const needles = [
      PASSWORD,
      WRONG,
      ...keyLines,
      Buffer.from(PASSWORD).toString('base64'),
      Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
    ];
    const haystacks: Record<string, string> = {
      'operator logs': operator.logs.join('\n'),
      GitSources: await kubectlOk(['get', 'gitsources', '-n', ns, '-o', 'json']),
      events: await kubectlOk(['get', 'events.v1.events.k8s.io', '-n', ns, '-o', 'json']),
      describe: await kubectlOk(['describe', 'gitsources', '-n', ns]),
    };
    expect(operator.logs.length).toBeGreaterThan(10);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const needle of needles) expect(text.includes(needle), `credential found in ${where}`).toBe(false);
    }
  });
});
