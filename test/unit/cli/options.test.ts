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
});
