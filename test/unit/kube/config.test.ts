import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KubeConfigError, clusterAccessFromKubeConfig, loadClusterAccess } from '../../../src/kube/config.ts';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
}

function kubeconfig(path: string, doc: object): string {
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

const ctx = (name: string, cluster: string, user: string, namespace?: string) => ({
  name,
  context: { cluster, user, ...(namespace ? { namespace } : {}) },
});

describe('loadClusterAccess', () => {
  it('reads the current context: server, CA data, token and namespace', async () => {
    const d = dir();
    const file = kubeconfig(join(d, 'config'), {
      'current-context': 'dev',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: 'https://10.0.0.1:6443',
            'certificate-authority-data': Buffer.from('CA').toString('base64'),
          },
        },
      ],
      users: [{ name: 'u', user: { token: 's3cret' } }],
      contexts: [ctx('dev', 'c', 'u', 'team-a')],
    });
    const access = loadClusterAccess({ path: file, env: {} });
    expect(access.server.href).toBe('https://10.0.0.1:6443/');
    expect(access.ca?.toString()).toBe('CA');
    expect(access.namespace).toBe('team-a');
    expect(access.context).toBe('dev');
    expect(await access.auth()).toEqual({ headers: { Authorization: 'Bearer s3cret' }, basic: undefined });
  });

  it('merges a $KUBECONFIG list: the first file naming an entry or current-context wins', () => {
    const d = dir();
    const a = kubeconfig(join(d, 'a'), {
      'current-context': 'one',
      clusters: [{ name: 'c', cluster: { server: 'https://first:1' } }],
      contexts: [ctx('one', 'c', '')],
    });
    const b = kubeconfig(join(d, 'b'), {
      'current-context': 'two',
      clusters: [
        { name: 'c', cluster: { server: 'https://second:1' } },
        { name: 'd', cluster: { server: 'https://other:2' } },
      ],
      contexts: [ctx('two', 'd', '')],
    });
    const env = { KUBECONFIG: [a, join(d, 'missing'), b].join(':') };
    expect(loadClusterAccess({ env }).server.host).toBe('first:1');
    expect(loadClusterAccess({ env, context: 'two' }).server.host).toBe('other:2');
  });

  it('resolves relative certificate paths against the kubeconfig file, and re-reads token files', async () => {
    const d = dir();
    mkdirSync(join(d, 'certs'));
    writeFileSync(join(d, 'certs', 'ca.crt'), 'CA-FILE');
    writeFileSync(join(d, 'certs', 'client.crt'), 'CERT');
    writeFileSync(join(d, 'certs', 'client.key'), 'KEY');
    writeFileSync(join(d, 'token'), 'first\n');
    const file = kubeconfig(join(d, 'config'), {
      'current-context': 'x',
      clusters: [{ name: 'c', cluster: { server: 'https://h:1', 'certificate-authority': 'certs/ca.crt' } }],
      users: [
        {
          name: 'u',
          user: {
            'client-certificate': 'certs/client.crt',
            'client-key': 'certs/client.key',
            tokenFile: 'token',
          },
        },
      ],
      contexts: [ctx('x', 'c', 'u')],
    });
    const access = loadClusterAccess({ path: file, env: {} });
    expect([access.ca?.toString(), access.cert?.toString(), access.key?.toString()]).toEqual([
      'CA-FILE',
      'CERT',
      'KEY',
    ]);
    expect((await access.auth()).headers.Authorization).toBe('Bearer first');
    writeFileSync(join(d, 'token'), 'rotated\n');
    expect((await access.auth()).headers.Authorization).toBe('Bearer rotated');
  });

  it('sends basic auth and honours insecure-skip-tls-verify and tls-server-name', async () => {
    const d = dir();
    const file = kubeconfig(join(d, 'config'), {
      'current-context': 'x',
      clusters: [
        {
          name: 'c',
          cluster: { server: 'https://h:1', 'insecure-skip-tls-verify': true, 'tls-server-name': 'api' },
        },
      ],
      users: [{ name: 'u', user: { username: 'admin', password: 'pw' } }],
      contexts: [ctx('x', 'c', 'u')],
    });
    const access = loadClusterAccess({ path: file, env: {} });
    expect(access.insecureSkipTlsVerify).toBe(true);
    expect(access.tlsServerName).toBe('api');
    expect(await access.auth()).toEqual({ headers: {}, basic: 'admin:pw' });
  });

  it('uses the mounted service account in a cluster, reading the rotating token each time', async () => {
    const sa = dir();
    writeFileSync(join(sa, 'token'), 'sa-token-1');
    writeFileSync(join(sa, 'ca.crt'), 'SA-CA');
    writeFileSync(join(sa, 'namespace'), 'converge-system\n');
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443', HOME: dir() };
    const access = loadClusterAccess({ env, preferInCluster: true, serviceAccountDir: sa });
    expect(access.server.href).toBe('https://[fd00::1]/');
    expect(access.namespace).toBe('converge-system');
    expect(access.ca?.toString()).toBe('SA-CA');
    expect((await access.auth()).headers.Authorization).toBe('Bearer sa-token-1');
    writeFileSync(join(sa, 'token'), 'sa-token-2');
    expect((await access.auth()).headers.Authorization).toBe('Bearer sa-token-2');
  });

  it('names the file, context, cluster or field that is wrong', () => {
    const d = dir();
    const file = kubeconfig(join(d, 'config'), {
      'current-context': 'x',
      clusters: [{ name: 'c', cluster: { server: 'https://h:1', 'certificate-authority': 'nope.crt' } }],
      users: [],
      contexts: [ctx('x', 'c', ''), ctx('y', 'gone', '')],
    });
    expect(() => loadClusterAccess({ path: file, env: {}, context: 'z' })).toThrow(
      `context "z" not found in kubeconfig ${file}`,
    );
    expect(() => loadClusterAccess({ path: file, env: {}, context: 'y' })).toThrow(
      'cluster "gone" not found',
    );
    expect(() => loadClusterAccess({ path: file, env: {} })).toThrow(
      /certificate-authority: cannot read .*nope\.crt: ENOENT/,
    );
    writeFileSync(join(d, 'bad'), 'clusters: [unclosed');
    expect(() => loadClusterAccess({ path: join(d, 'bad'), env: {} })).toThrow(
      /kubeconfig .*bad is not valid YAML/,
    );
    expect(() => loadClusterAccess({ env: { HOME: dir() } })).toThrow(KubeConfigError);
  });

  it('hands exec plugins (cloud logins) to client-node, loaded on first use', async () => {
    const d = dir();
    const plugin = join(d, 'login.sh');
    writeFileSync(
      plugin,
      '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}\'\n',
      { mode: 0o755 },
    );
    const file = kubeconfig(join(d, 'config'), {
      'current-context': 'cloud',
      clusters: [{ name: 'c', cluster: { server: 'https://h:1' } }],
      users: [
        {
          name: 'u',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: plugin,
              interactiveMode: 'Never',
            },
          },
        },
      ],
      contexts: [ctx('cloud', 'c', 'u')],
    });
    const access = loadClusterAccess({ path: file, env: {} });
    expect((await access.auth()).headers.Authorization).toBe('Bearer from-exec');
  });
});

describe('clusterAccessFromKubeConfig (a kubeconfig from a Secret)', () => {
  const where = 'secret apps/prod key value';
  const deny = { allowExec: false, allowFiles: false };
  const doc = (user: Record<string, unknown>, cluster: Record<string, unknown> = {}) =>
    JSON.stringify({
      'current-context': 'prod',
      clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.9:6443', ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [ctx('prod', 'c', 'u')],
    });

  it('reads inline data: server, context and a bearer token', async () => {
    const access = clusterAccessFromKubeConfig(
      doc({ token: 't0ken' }, { 'certificate-authority-data': Buffer.from('CA').toString('base64') }),
      where,
      deny,
    );
    expect(access.server.href).toBe('https://10.0.0.9:6443/');
    expect(access.context).toBe('prod');
    expect(access.ca?.toString()).toBe('CA');
    expect((await access.auth()).headers.Authorization).toBe('Bearer t0ken');
  });

  it.each([
    [
      'an exec plugin',
      doc({ exec: { command: '/bin/sh', args: ['-c', 'id'] } }),
      /user\.exec.*--allow-kubeconfig-exec/,
    ],
    ['an auth provider', doc({ 'auth-provider': { name: 'oidc' } }), /user\.auth-provider/],
    [
      'a tokenFile',
      doc({ tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' }),
      /user\.tokenFile.*--allow-kubeconfig-files/,
    ],
    [
      'a client certificate file',
      doc({ 'client-certificate': '/etc/cert', 'client-key': '/etc/key' }),
      /user\.client-certificate.*user\.client-key/,
    ],
    [
      'a CA file',
      doc({ token: 't' }, { 'certificate-authority': '/etc/ca' }),
      /cluster\.certificate-authority/,
    ],
  ])('refuses %s by default, naming the Secret and the field', (_what, text, message) => {
    expect(() => clusterAccessFromKubeConfig(text, where, deny)).toThrow(KubeConfigError);
    expect(() => clusterAccessFromKubeConfig(text, where, deny)).toThrow(message);
    expect(() => clusterAccessFromKubeConfig(text, where, deny)).toThrow(
      /secret apps\/prod key value, context "prod"/,
    );
  });

  it('accepts them when the operator allows them', () => {
    const exec = doc({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } });
    expect(clusterAccessFromKubeConfig(exec, where, { allowExec: true, allowFiles: false }).context).toBe(
      'prod',
    );
    const d = dir();
    writeFileSync(join(d, 'token'), 'from-file\n');
    const file = doc({ tokenFile: join(d, 'token') });
    expect(() => clusterAccessFromKubeConfig(file, where, deny)).toThrow(/tokenFile/);
    expect(clusterAccessFromKubeConfig(file, where, { allowExec: false, allowFiles: true }).server.host).toBe(
      '10.0.0.9:6443',
    );
  });

  it('never quotes the kubeconfig in its errors', () => {
    const bad = 'users:\n- name: u\n  user: { token: SUPERSECRET\n';
    let message = '';
    try {
      clusterAccessFromKubeConfig(bad, where, deny);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/secret apps\/prod key value is not valid YAML/);
    expect(message).not.toContain('SUPERSECRET');
    const noContext = JSON.stringify({ users: [{ name: 'u', user: { token: 'SUPERSECRET' } }] });
    expect(() => clusterAccessFromKubeConfig(noContext, where, deny)).toThrow(/has no current-context/);
  });
});
