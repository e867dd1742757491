// Decryption as a render step, with files the real sops encrypted: plain directories, Flux's kustomize
// layout (secretGenerator envs and files that are SOPS files), Helm valuesFiles, the opt-out annotations,
// and the refusals; nothing decrypted is left on disk.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addAgeKeys,
  emptyKeyring,
  newDecryption,
  renderManifests,
  type ClientTools,
  type Keyring,
} from '../../../src/render/index.ts';
import { scrubSecrets } from '../../../src/render/sandbox.ts';
import { ageKey, sopsBinary, sopsEncrypt, type AgeKey } from '../../support/sops.ts';
import { clientTools } from './support.ts';

let tools: ClientTools;
let age: AgeKey;
let ring: Keyring;
let tmp: string;
const roots: string[] = [];

beforeAll(async () => {
  [tools, age] = await Promise.all([clientTools(), ageKey(), sopsBinary()]);
  ring = emptyKeyring('secret apps/sops-keys');
  await addAgeKeys(ring, age.identity, 'identity.agekey');
  // The render's own temporary directories go here, so the test can see that none is left.
  tmp = await mkdtemp(path.join(tmpdir(), 'converge-decrypt-test-'));
}, 900_000);

afterAll(async () => {
  await Promise.all([...roots, tmp].map((r) => rm(r, { recursive: true, force: true })));
});

async function repo(files: Record<string, string | Buffer>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'converge-render-'));
  roots.push(root);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
  return root;
}

const encrypt = (name: string, text: string | Buffer, args: string[] = []) =>
  sopsEncrypt(name, text, ['--age', age.recipient, ...args]);

const secretYaml = (name: string, data: Record<string, string>, annotations = '') =>
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n${annotations}type: Opaque\nstringData:\n${Object.entries(
    data,
  )
    .map(([k, v]) => `  ${k}: ${v}\n`)
    .join('')}`;

const render = (root: string, keys: Keyring | undefined, extra: object = {}) =>
  renderManifests({
    root,
    tools,
    targetNamespace: 'apps',
    decryption: newDecryption(keys, 'the GitSource sets no spec.decryption'),
    ...extra,
  });

const decode = (o: { data?: Record<string, string> }, k: string) =>
  Buffer.from(o.data![k]!, 'base64').toString();

describe('plain directories', () => {
  it('an encrypted Secret is decrypted whole; other files are untouched', async () => {
    const root = await repo({
      'secret.yaml': await encrypt('secret.yaml', secretYaml('db', { password: 'plain-dir-pass-1' }), [
        '--encrypted-regex',
        '^(data|stringData)$',
      ]),
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n',
    });
    const objects = await render(root, ring);
    const secret = objects.find((o) => o.kind === 'Secret')!;
    expect(secret).toMatchObject({
      metadata: { name: 'db', namespace: 'apps' },
      stringData: { password: 'plain-dir-pass-1' },
    });
    expect(secret).not.toHaveProperty('sops');
  });

  it('a multi-document file encrypted whole decrypts under its one MAC', async () => {
    const text = `${secretYaml('one', { a: 'multi-doc-1' })}---\n${secretYaml('two', { b: 'multi-doc-2' })}`;
    const root = await repo({
      'secrets.yaml': await encrypt('secrets.yaml', text, ['--encrypted-regex', '^stringData$']),
    });
    const objects = await render(root, ring);
    expect(objects.map((o) => (o as { stringData?: object }).stringData)).toEqual([
      { a: 'multi-doc-1' },
      { b: 'multi-doc-2' },
    ]);
  });

  it('documents encrypted one by one and put in one file are each decrypted on their own, in plain directories and kustomize resources', async () => {
    const one = await encrypt('a.yaml', secretYaml('one', { a: 'apart-1' }), [
      '--encrypted-regex',
      '^stringData$',
    ]);
    const two = await encrypt('b.yaml', secretYaml('two', { b: 'apart-2' }), [
      '--encrypted-regex',
      '^stringData$',
    ]);
    const joined = `${one}---\n${two}`;
    const plain = await repo({ 'both.yaml': joined });
    expect(
      (await render(plain, ring)).map((o) => (o as unknown as { stringData: object }).stringData),
    ).toEqual([{ a: 'apart-1' }, { b: 'apart-2' }]);
    const kustomized = await repo({
      'kustomization.yaml': 'resources: [both.yaml]\nnamespace: apps\n',
      'both.yaml': joined,
    });
    const objects = await render(kustomized, ring);
    expect(objects.map((o) => (o as unknown as { stringData: object }).stringData)).toEqual([
      { a: 'apart-1' },
      { b: 'apart-2' },
    ]);
  });

  it('without spec.decryption the render fails with DecryptionFailed naming every encrypted file, never applying ciphertext', async () => {
    const root = await repo({
      'a/secret.yaml': await encrypt('secret.yaml', secretYaml('a', { p: 'no-keys-1' })),
      'b/secret.yaml': await encrypt('secret.yaml', secretYaml('b', { p: 'no-keys-2' })),
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n',
    });
    const err = await render(root, undefined).catch((e: Error) => e);
    expect(err).toMatchObject({ reason: 'DecryptionFailed' });
    expect((err as Error).message).toBe(
      '2 files are SOPS-encrypted and the GitSource sets no spec.decryption: a/secret.yaml; b/secret.yaml',
    );
  });

  it('the decrypt: disabled annotations (Flux’s and Converge’s) leave an object as it is', async () => {
    for (const annotation of ['kustomize.toolkit.fluxcd.io/decrypt', 'gitops.converge.dev/decrypt']) {
      const text = secretYaml('kept', { p: 'left-alone' }, `  annotations:\n    ${annotation}: Disabled\n`);
      const root = await repo({
        's.yaml': await encrypt('s.yaml', text, ['--encrypted-regex', '^stringData$']),
      });
      const [obj] = await render(root, undefined);
      expect(obj).toHaveProperty('sops');
      expect((obj as unknown as { stringData: { p: string } }).stringData.p).toMatch(/^ENC\[AES256_GCM/);
    }
  });

  it('a Secret whose data field holds a whole SOPS file gets that field decrypted (Flux’s second case)', async () => {
    const inner = await encrypt('app.env', 'KEY=field-secret-1\n');
    const root = await repo({
      's.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: f\ndata:\n  app.env: ${Buffer.from(inner).toString('base64')}\n  plain: ${Buffer.from('x').toString('base64')}\n`,
    });
    const [obj] = await render(root, ring);
    expect(decode(obj as unknown as { data: Record<string, string> }, 'app.env')).toBe(
      'KEY=field-secret-1\n',
    );
    expect(decode(obj as unknown as { data: Record<string, string> }, 'plain')).toBe('x');
  });

  it('a tampered file is refused by name', async () => {
    const enc = await encrypt('s.yaml', secretYaml('t', { p: 'tamper-me' }), [
      '--encrypted-regex',
      '^stringData$',
    ]);
    const root = await repo({ 'x/s.yaml': enc.replace('name: t', 'name: u') });
    await expect(render(root, ring)).rejects.toThrow('x/s.yaml: tampered: the MAC does not match');
  });
});

describe('kustomize: Flux’s layout with a secretGenerator fed by SOPS files', () => {
  let root: string;
  beforeAll(async () => {
    root = await repo({
      'base/kustomization.yaml': 'resources:\n  - secret.enc.yaml\n',
      'base/secret.enc.yaml': await encrypt(
        'secret.yaml',
        secretYaml('app-secret', { token: 'base-token-1' }),
        ['--encrypted-regex', '^(data|stringData)$'],
      ),
      'prod/kustomization.yaml': [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        '  - ../base',
        'secretGenerator:',
        '  - name: ldap-credentials',
        '    envs:',
        '      - ldap.env',
        '  - name: files',
        '    files:',
        '      - config.yaml',
        '      - settings.json',
        '      - app.ini',
        '      - token=token.encrypted',
        '      - plain.txt',
        '',
      ].join('\n'),
      'prod/ldap.env': await encrypt('ldap.env', 'LDAP_USER=cn=admin\nLDAP_PASS=ldap-env-pass\n'),
      'prod/config.yaml': await encrypt('config.yaml', 'db:\n  password: yaml-file-pass\n'),
      'prod/settings.json': await encrypt('settings.json', '{"apiKey": "json-file-key"}'),
      'prod/app.ini': await encrypt('app.ini', '[auth]\nsecret = ini-file-secret\n'),
      'prod/token.encrypted': await sopsEncrypt('token', 'binary-token-value\n', [
        '--age',
        age.recipient,
        '--input-type',
        'binary',
        '--output-type',
        'json',
      ]),
      'prod/plain.txt': 'not encrypted\n',
    });
  });

  it('the generator sources are decrypted before the build, the Secret objects after it', async () => {
    const objects = await render(root, ring, { path: 'prod', tmpdir: tmp });
    const byName = (prefix: string) =>
      objects.find((o) => o.metadata.name.startsWith(prefix)) as {
        data?: Record<string, string>;
        stringData?: Record<string, string>;
      };
    expect(byName('app-secret').stringData).toEqual({ token: 'base-token-1' });
    const ldap = byName('ldap-credentials-');
    expect(decode(ldap, 'LDAP_USER')).toBe('cn=admin');
    expect(decode(ldap, 'LDAP_PASS')).toBe('ldap-env-pass');
    const files = byName('files-');
    expect(decode(files, 'config.yaml')).toMatch(/db:\n +password: yaml-file-pass\n/);
    expect(JSON.parse(decode(files, 'settings.json'))).toEqual({ apiKey: 'json-file-key' });
    expect(decode(files, 'app.ini')).toContain('secret = ini-file-secret');
    expect(decode(files, 'token')).toBe('binary-token-value\n');
    expect(decode(files, 'plain.txt')).toBe('not encrypted\n');
  });

  it('the private copy is gone after the build, and the checkout still holds only ciphertext', async () => {
    await render(root, ring, { path: 'prod' });
    const left = (await readdir(tmpdir())).filter(
      (n) => n.startsWith('converge-decrypt-') && !n.startsWith('converge-decrypt-test-'),
    );
    expect(left).toEqual([]);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(path.join(root, 'prod/ldap.env'), 'utf8')).toContain('sops_mac=ENC[');
  });

  it('without keys: every encrypted source is named', async () => {
    const err = await render(root, undefined, { path: 'prod' }).catch((e: Error) => e);
    expect(err).toMatchObject({ reason: 'DecryptionFailed' });
    for (const f of [
      'prod/ldap.env',
      'prod/config.yaml',
      'prod/settings.json',
      'prod/app.ini',
      'prod/token.encrypted',
    ])
      expect((err as Error).message).toContain(f);
    expect((err as Error).message).toContain('base/secret.enc.yaml');
    expect((err as Error).message).toMatch(/^6 files are SOPS-encrypted/);
  });

  it('tool messages are scrubbed of every value decrypted in the render', () => {
    const secrets = new Set(['ldap-env-pass', 'ldap-env-pass-longer', 'ab']);
    expect(scrubSecrets('line "X=ldap-env-pass-longer" and ldap-env-pass; ab', secrets)).toBe(
      'line "X=<decrypted>" and <decrypted>; ab',
    );
  });
});

describe('examples/sops', () => {
  it('encrypted by its own .sops.yaml rules and encrypt.sh, renders the Secrets the README walks to', async () => {
    const { cp, readFile } = await import('node:fs/promises');
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const example = path.join(import.meta.dirname, '..', '..', '..', 'examples', 'sops');
    const root = await mkdtemp(path.join(tmpdir(), 'converge-render-'));
    roots.push(root);
    await cp(example, root, { recursive: true });
    const rules = await readFile(path.join(root, '.sops.yaml'), 'utf8');
    await writeFile(path.join(root, '.sops.yaml'), rules.replace(/age1[0-9a-z]+/g, age.recipient));
    const sops = await sopsBinary();
    await promisify(execFile)(path.join(root, 'encrypt.sh'), [], {
      cwd: root,
      env: {
        ...process.env,
        PATH: `${path.dirname(sops)}:${process.env.PATH}`,
        SOPS_DISABLE_VERSION_CHECK: '1',
      },
    });
    expect(await readFile(path.join(root, 'apps/ldap.env'), 'utf8')).toContain('sops_mac=ENC[');
    const objects = await render(root, ring, { path: 'apps' });
    const ldap = objects.find((o) => o.metadata.name === 'ldap-credentials') as unknown as {
      data: Record<string, string>;
    };
    expect(decode(ldap, 'LDAP_PASS')).toBe('change-me');
    expect(objects.find((o) => o.metadata.name === 'db')).toMatchObject({
      stringData: { password: 'change-me' },
    });
  });
});

describe('Helm valuesFiles', () => {
  it('a SOPS-encrypted values file is decrypted into helm’s private home; spec values still win', async () => {
    const root = await repo({
      'chart/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 0.1.0\n',
      'chart/templates/secret.yaml':
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\nstringData:\n  password: {{ .Values.db.password | quote }}\n  user: {{ .Values.db.user | quote }}\n',
      'chart/values.yaml': 'db:\n  user: default\n  password: none\n',
      'chart/secrets.enc.yaml': await encrypt(
        'secrets.yaml',
        'db:\n  password: helm-values-pass\n  user: from-file\n',
      ),
    });
    const objects = await render(root, ring, {
      path: 'chart',
      helm: {
        releaseName: 'web',
        namespace: 'apps',
        valuesFiles: ['secrets.enc.yaml'],
        values: { db: { user: 'from-spec' } },
      },
    });
    expect((objects[0] as unknown as { stringData: object }).stringData).toEqual({
      password: 'helm-values-pass',
      user: 'from-spec',
    });
    await expect(
      render(root, undefined, {
        path: 'chart',
        helm: { releaseName: 'web', namespace: 'apps', valuesFiles: ['secrets.enc.yaml'] },
      }),
    ).rejects.toThrow(
      'a file is SOPS-encrypted and the GitSource sets no spec.decryption: chart/secrets.enc.yaml',
    );
  });
});
