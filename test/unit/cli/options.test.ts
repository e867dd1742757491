// `converge run` flags: defaults, env, and errors that name the flag.
import { describe, expect, it } from 'vitest';
import { parseRunOptions } from '../../../src/cli/options.ts';

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
});
