// Runs the real operator as a child process against the test cluster (src/localcluster's
// startOperatorProcess), capturing its JSON log lines so tests can assert on them (and grep them for secrets).
import { inject } from 'vitest';
import { startOperatorProcess, type OperatorProcess as Process } from '../../src/localcluster/index.ts';

export interface OperatorProcess {
  logs: string[];
  child: Process['child'];
  healthPort(): Promise<number>;
  metricsPort(): Promise<number>;
  /** Port of the push webhook receiver; undefined when it is off (no secret configured). */
  webhookPort(): Promise<number | undefined>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The loopback ranges the operator denies Notifiers by default: tests whose fake services listen on
 * loopback opt in to reaching them, as an administrator would with --notify-allow-cidrs.
 */
export const LOOPBACK_CIDRS = ['127.0.0.0/8', '::1/128'];

export async function startOperator(
  opts: {
    namespace?: string;
    args?: string[];
    env?: Record<string, string>;
    kubeconfig?: string;
    /** Ranges Notifiers may reach despite the default deny list (--notify-allow-cidrs). */
    notifyAllow?: string[];
  } = {},
): Promise<OperatorProcess> {
  const op = await startOperatorProcess({
    kubeconfig: opts.kubeconfig ?? inject('kubeconfig'),
    kubectl: inject('kubectl'),
    helm: inject('helm'),
    args: [
      ...(opts.namespace ? ['--namespace', opts.namespace] : []),
      ...(opts.args ?? ['--leader-elect=false']),
      ...(opts.notifyAllow ? [`--notify-allow-cidrs=${opts.notifyAllow.join(',')}`] : []),
    ],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...opts.env },
    onLine: process.env.CONVERGE_TEST_LOGS ? (l) => process.stderr.write(`[operator] ${l}\n`) : undefined,
  });
  return {
    logs: op.logs,
    child: op.child,
    healthPort: async () => op.healthPort,
    metricsPort: async () => op.metricsPort,
    webhookPort: async () => op.webhookPort,
    stop: op.stop,
  };
}
