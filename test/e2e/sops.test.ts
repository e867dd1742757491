// Journey: Secrets kept in Git encrypted with SOPS. Flux's documented layout (a kustomization with a
// secretGenerator fed by a sops-encrypted env file, and an encrypted Secret) applies unchanged with an age
// key in spec.decryption; without spec.decryption nothing is applied and the files are named; a missing
// key Secret stalls. Then the leak test: every plaintext value is searched for in the operator's logs at
// trace level, Events, GitSource status, Notifier deliveries, the status page, metrics, the CLI's diff
// and every file the operator left on disk.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converge } from '../support/cli.ts';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import { startFakeServices, type FakeServices } from '../support/fake-services.ts';
import { commitFiles, startGitFixture, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { applyGitSource, condition, getGitSource, waitForCondition } from '../support/gitops.ts';
import { startOperator, type OperatorProcess, LOOPBACK_CIDRS } from '../support/operator.ts';
import { ageKey, sopsBinary, sopsEncrypt, type AgeKey } from '../support/sops.ts';

/** Every value that exists only inside the encrypted files. */
const PLAINTEXTS = {
  ldapUser: 'cn=admin,dc=sops-e2e',
  ldapPass: 'ldap-pass-Zq7x9-e2e',
  dbPass: 'db-pass-Hw3k2-e2e',
  apiToken: 'api-token-Rt5m8-e2e',
  dbPassV2: 'db-pass-v2-Lp4j6-e2e',
};

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let operator: OperatorProcess;
let fake: FakeServices;
let age: AgeKey;
let disk: string;
let uiBase: string;

async function encrypt(name: string, text: string, args: string[] = []): Promise<string> {
  return sopsEncrypt(name, text, ['--age', age.recipient, ...args]);
}

/** Flux's guide: a kustomization with a secretGenerator over a sops-encrypted env file, beside an encrypted Secret. */
async function fluxLayout(dir: string, dbPass: string): Promise<Record<string, string>> {
  return {
    [`${dir}/kustomization.yaml`]: [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      '  - db-secret.yaml',
      'secretGenerator:',
      '  - name: ldap-credentials',
      '    envs:',
      '      - ldap.env',
      '  - name: api',
      '    files:',
      '      - token=api-token.txt',
      'generatorOptions:',
      '  disableNameSuffixHash: true',
      '',
    ].join('\n'),
    [`${dir}/ldap.env`]: await encrypt(
      'ldap.env',
      `LDAP_USER=${PLAINTEXTS.ldapUser}\nLDAP_PASS=${PLAINTEXTS.ldapPass}\n`,
    ),
    [`${dir}/api-token.txt`]: await sopsEncrypt('api-token.txt', PLAINTEXTS.apiToken, [
      '--age',
      age.recipient,
      '--input-type',
      'binary',
      '--output-type',
      'json',
    ]),
    [`${dir}/db-secret.yaml`]: await encrypt(
      'db-secret.yaml',
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: ${dbPass}\n`,
      ['--encrypted-regex', '^(data|stringData)$'],
    ),
  };
}

beforeAll(async () => {
  [age, fake] = await Promise.all([
    ageKey(),
    startFakeServices({ token: 't', username: 'u', password: 'p' }),
    sopsBinary(),
  ]);
  ns = await createNamespace('sops');
  fixture = await startGitFixture();
  disk = await mkdtemp(join(tmpdir(), 'converge-sops-e2e-'));
  await mkdir(join(disk, 'tmp'));
  [http, operator] = await Promise.all([
    fixture.serveHttp(),
    startOperator({
      namespace: ns,
      // The Notifier's receiver is a loopback fake: allowed explicitly (the default egress policy denies loopback).
      notifyAllow: LOOPBACK_CIDRS,
      args: [
        '--leader-elect=false',
        '--log-level',
        'trace',
        '--ui-addr',
        '127.0.0.1:0',
        '--work-dir',
        join(disk, 'work'),
      ],
      // Whatever the operator or its tools write to a temporary directory lands here, where the test looks.
      env: { TMPDIR: join(disk, 'tmp') },
    }),
  ]);
  const started = JSON.parse(operator.logs.find((l) => l.includes('converge starting'))!) as {
    uiPort: number;
  };
  uiBase = `http://127.0.0.1:${started.uiPort}`;
}, 900_000);

afterAll(async () => {
  await operator?.stop();
  await fixture?.close();
  await fake?.close();
  if (ns) await deleteNamespace(ns);
  if (disk) await rm(disk, { recursive: true, force: true });
});

const secretData = async (name: string): Promise<Record<string, string>> => {
  const s = JSON.parse(await kubectlOk(['get', 'secret', name, '-n', ns, '-o', 'json'])) as {
    data: Record<string, string>;
  };
  return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
};

describe('SOPS', () => {
  it('Flux’s layout applies unchanged; refusals name the files; nothing decrypted leaks', async () => {
    const repo = await fixture.createRepo('fleet');
    const files: Record<string, string> = {
      ...(await fluxLayout('apps', PLAINTEXTS.dbPass)),
      'nokeys/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n',
    };
    files['nokeys/secret.yaml'] = files['apps/db-secret.yaml']!;
    const sha1 = await commitFiles(repo, files, 'encrypted secrets');

    await kubectlOk([
      'create',
      'secret',
      'generic',
      'sops-keys',
      '-n',
      ns,
      `--from-literal=identity.agekey=${age.identity}`,
    ]);
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'Notifier',
        metadata: { name: 'hook', namespace: ns },
        spec: { type: 'webhook', address: `${fake.url}/hook` },
      }),
    );
    await applyGitSource(ns, 'secrets', {
      url: http.url('fleet'),
      path: 'apps',
      interval: '1h',
      retryInterval: '2s',
      targetNamespace: ns,
      decryption: { provider: 'sops', secretRef: { name: 'sops-keys' } },
    });
    await waitForCondition(ns, 'secrets', 'Ready', 'True', { revision: sha1!, timeoutMs: 90_000 });
    expect(await secretData('ldap-credentials')).toEqual({
      LDAP_USER: PLAINTEXTS.ldapUser,
      LDAP_PASS: PLAINTEXTS.ldapPass,
    });
    expect(await secretData('api')).toEqual({ token: PLAINTEXTS.apiToken });
    expect(await secretData('db')).toEqual({ password: PLAINTEXTS.dbPass });

    // No spec.decryption: Ready=False DecryptionFailed naming the file; nothing of that path is applied.
    await applyGitSource(ns, 'nokeys', {
      url: http.url('fleet'),
      path: 'nokeys',
      interval: '1h',
      targetNamespace: ns,
    });
    const refused = await waitForCondition(ns, 'nokeys', 'Ready', 'False', {
      reason: 'DecryptionFailed',
      timeoutMs: 60_000,
    });
    const message = condition(refused, 'Ready')!.message;
    expect(message).toContain('nokeys/secret.yaml');
    expect(message).toContain('spec.decryption');
    await expect(kubectlOk(['get', 'configmap', 'plain', '-n', ns])).rejects.toThrow(/NotFound/);

    // A key Secret that does not exist: Stalled, MissingSecret.
    await applyGitSource(ns, 'nosecret', {
      url: http.url('fleet'),
      path: 'apps',
      interval: '1h',
      targetNamespace: ns,
      decryption: { provider: 'sops', secretRef: { name: 'absent' } },
    });
    await waitForCondition(ns, 'nosecret', 'Ready', 'False', { reason: 'MissingSecret', timeoutMs: 60_000 });
    expect(condition(await getGitSource(ns, 'nosecret'), 'Stalled')?.status).toBe('True');

    // A second revision changes the encrypted value: status.changes and Events see a change, never the value.
    const sha2 = await commitFiles(
      repo,
      await fluxLayout('apps', PLAINTEXTS.dbPassV2),
      'rotate the db password',
    );
    await kubectlOk([
      'annotate',
      '--overwrite',
      'gitsource/secrets',
      '-n',
      ns,
      `gitops.converge.dev/requested-at=${Date.now()}`,
    ]);
    await waitForCondition(ns, 'secrets', 'Ready', 'True', { revision: sha2!, timeoutMs: 90_000 });
    expect(await secretData('db')).toEqual({ password: PLAINTEXTS.dbPassV2 });

    // The CLI decrypts locally: diff of a third revision (masked), and build says which files are encrypted.
    const keyFile = join(disk, 'keys.txt');
    await writeFile(keyFile, age.identity, { mode: 0o600 });
    // A working copy with the next edit (the first revision's value back), as a user has it before a commit.
    const checkout = join(disk, 'local');
    for (const [rel, text] of Object.entries(await fluxLayout('apps', PLAINTEXTS.dbPass))) {
      await mkdir(dirname(join(checkout, rel)), { recursive: true });
      await writeFile(join(checkout, rel), text);
    }
    const diff = await converge([
      'diff',
      'secrets',
      '-n',
      ns,
      '--path',
      join(checkout, 'apps'),
      '--decryption-key',
      keyFile,
    ]);
    expect(diff.code, diff.stderr).toBe(1);
    expect(diff.stdout).toContain('Secret');
    const build = await converge(['build', '--path', join(checkout, 'apps'), '-n', ns], {
      noKubeconfig: true,
    });
    expect(build.code).not.toBe(0);
    // The working copy has no .git, so names are relative to the directory given.
    expect(build.stderr).toContain('3 files are SOPS-encrypted');
    for (const f of ['ldap.env', 'api-token.txt', 'db-secret.yaml']) expect(build.stderr).toContain(f);
    expect(build.stderr).toContain('--decryption-key');
    const built = await converge(['build', '--path', join(checkout, 'apps'), '-n', ns], {
      noKubeconfig: true,
      env: { SOPS_AGE_KEY_FILE: keyFile },
    });
    expect(built.code).toBe(0);
    expect(built.stdout).toContain('kind: Secret');
    const fromEnv = await converge(['build', '--path', join(checkout, 'apps'), '-n', ns], {
      noKubeconfig: true,
      env: { SOPS_AGE_KEY: age.identity },
    });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout).toBe(built.stdout);

    // The leak test.
    await eventually(() => fake.webhookEvents.length > 0, { timeoutMs: 30_000, what: 'a Notifier delivery' });
    const places: Record<string, string> = {
      'operator log (trace)': operator.logs.join('\n'),
      events: await kubectlOk(['get', 'events', '-n', ns, '-o', 'json']),
      'gitsource status': await kubectlOk(['get', 'gitsources', '-n', ns, '-o', 'json']),
      'notifier deliveries': JSON.stringify(fake.requests) + JSON.stringify(fake.webhookEvents),
      'status page':
        (await (await fetch(`${uiBase}/`)).text()) +
        (await (await fetch(`${uiBase}/gitsources/${ns}/secrets`)).text()),
      metrics: await (await fetch(`http://127.0.0.1:${await operator.metricsPort()}/metrics`)).text(),
      'cli diff': diff.stdout + diff.stderr,
      ...(await filesUnder(join(disk, 'work'))),
      ...(await filesUnder(join(disk, 'tmp'))),
    };
    // Each place holds what it should, so an empty answer cannot pass for a clean one.
    expect(Object.keys(places).some((k) => k.startsWith('file '))).toBe(true);
    expect(places['operator log (trace)']).toContain('"level":20');
    expect(places['status page']).toContain('nokeys');
    expect(places.metrics).toContain('converge_reconcile');
    expect(places['gitsource status']).toContain('DecryptionFailed');
    expect(places.events).toContain('secrets');
    expect(places['cli diff']).toContain('***');
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(places))
      for (const [name, value] of Object.entries(PLAINTEXTS))
        for (const form of [value, Buffer.from(value).toString('base64')])
          if (text.includes(form)) leaks.push(`${name} in ${where}`);
    expect(leaks).toEqual([]);
  });
});

/** Every regular file under `dir`, by path: what the operator left on disk. */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out[`file ${p}`] = (await readFile(p)).toString('latin1');
  }
  return out;
}
