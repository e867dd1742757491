// `converge run` flags: defaults, env, and errors that name the flag.
import { describe, expect, it } from 'vitest';
import { parseRunOptions, USAGE } from '../../../src/cli/options.ts';

describe('parseRunOptions', () => {
  it('defaults: leader election on in-cluster, off outside', () => {
    expect(
      parseRunOptions(
        [],
        { KUBERNETES_SERVICE_HOST: '10.0.0.1', POD_NAME: 'p', POD_NAMESPACE: 'converge-system' },
        false,
      ),
    ).toMatchObject({
      leaderElect: true,
      identity: 'p',
      leaseNamespace: 'converge-system',
      concurrency: 4,
      logFormat: 'json',
    });
    expect(parseRunOptions(['--kubeconfig', '/k'], {}, true)).toMatchObject({
      leaderElect: false,
      logFormat: 'pretty',
      kubeconfig: '/k',
    });
  });
  it('accepts --leader-elect alone and =false', () => {
    expect(parseRunOptions(['--leader-elect'], {}, false).leaderElect).toBe(true);
    expect(
      parseRunOptions(['--leader-elect=false'], { KUBERNETES_SERVICE_HOST: 'x' }, false).leaderElect,
    ).toBe(false);
  });
  it('remote clusters: exec plugins and file references off unless allowed; bounds per cluster', () => {
    expect(parseRunOptions([], {}, false)).toMatchObject({
      allowKubeconfigExec: false,
      allowKubeconfigFiles: false,
      clusterTimeoutMs: 10_000,
    });
    expect(
      parseRunOptions(
        [
          '--allow-kubeconfig-exec',
          '--allow-kubeconfig-files',
          '--cluster-timeout-ms',
          '3000',
          '--cluster-concurrency',
          '2',
        ],
        {},
        false,
      ),
    ).toMatchObject({
      allowKubeconfigExec: true,
      allowKubeconfigFiles: true,
      clusterTimeoutMs: 3000,
      clusterConcurrency: 2,
    });
    expect(() => parseRunOptions(['--cluster-timeout-ms', '10'], {}, false)).toThrow(
      /^--cluster-timeout-ms:/,
    );
    expect(USAGE).toMatch(/--allow-kubeconfig-exec/);
  });
  it('names the bad flag', () => {
    expect(() => parseRunOptions(['--concurrency', '0'], {}, false)).toThrow(/^--concurrency:/);
    expect(() => parseRunOptions(['--log-level', 'loud'], {}, false)).toThrow(/^--log-level:/);
    expect(() => parseRunOptions(['--bogus'], {}, false)).toThrow(/bogus/);
  });
  it('status page: off by default; --ui-addr turns it on, --ui-token-file needs it', () => {
    expect(parseRunOptions([], {}, false).uiAddr).toBeUndefined();
    expect(
      parseRunOptions(['--ui-addr', '127.0.0.1:9090', '--ui-token-file', '/etc/ui/token'], {}, false),
    ).toMatchObject({ uiAddr: '127.0.0.1:9090', uiTokenFile: '/etc/ui/token' });
    expect(parseRunOptions(['--ui-addr=:9090'], {}, false).uiAddr).toBe(':9090');
    expect(parseRunOptions(['--ui-addr=[::1]:9090'], {}, false).uiAddr).toBe('[::1]:9090');
    expect(() => parseRunOptions(['--ui-addr', '9090'], {}, false)).toThrow(/^--ui-addr: must be host:port/);
    expect(() => parseRunOptions(['--ui-token-file', '/t'], {}, false)).toThrow(
      /^--ui-token-file:.*--ui-addr/,
    );
  });
  it('push webhook flags: :9292 by default, "off" or "" disables, secrets only as a file or Secret name', () => {
    expect(parseRunOptions([], {}, false)).toMatchObject({ webhookAddr: ':9292' });
    expect(parseRunOptions(['--webhook-addr', 'off'], {}, false).webhookAddr).toBe('');
    expect(parseRunOptions(['--webhook-addr='], {}, false).webhookAddr).toBe('');
    expect(
      parseRunOptions(
        [
          '--webhook-addr',
          '127.0.0.1:0',
          '--webhook-secret-file',
          '/s/token',
          '--webhook-namespace-secret',
          'converge-webhook',
        ],
        {},
        false,
      ),
    ).toMatchObject({
      webhookAddr: '127.0.0.1:0',
      webhookSecretFile: '/s/token',
      webhookNamespaceSecret: 'converge-webhook',
    });
    expect(() => parseRunOptions(['--webhook-namespace-secret', 'Bad_Name'], {}, false)).toThrow(
      /^--webhook-namespace-secret:/,
    );
    for (const flag of ['--webhook-addr', '--webhook-secret-file', '--webhook-namespace-secret'])
      expect(USAGE).toContain(flag);
  });
});
