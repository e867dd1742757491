// Starts the real operator (`converge run`) as a child process for the demo, benchmarks and tests:
// loopback-only ports, its own work dir, JSON logs captured line by line, and a stop that cleans up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface OperatorProcessOptions {
  kubeconfig: string;
  kubectl: string;
  helm: string;
  /** Extra `converge run` flags, after the defaults (default: `--leader-elect=false`). */
  args?: string[];
  /** Environment of the process (default: PATH and HOME only). */
  env?: Record<string, string>;
  logLevel?: string;
  /** Run bin/converge.js from dist/ instead of the TypeScript sources. */
  built?: boolean;
  /** Node flags, e.g. --max-old-space-size=160; default OPERATOR_NODE_FLAGS (as the image runs it). */
  nodeOptions?: string[];
  /** Each log line as it arrives. */
  onLine?: (line: string) => void;
  /** How long to wait for the "converge starting" line (default 30 s). */
  startTimeoutMs?: number;
}

export interface OperatorProcess {
  child: ChildProcess;
  /** Every log line so far (JSON). */
  logs: string[];
  metricsPort: number;
  healthPort: number;
  /** Port of the push webhook receiver; undefined when it is off (no secret configured). */
  webhookPort?: number;
  workDir: string;
  /** Signals the process, waits for it (SIGKILL after 25 s), removes its work dir; the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The node flags the image runs the operator with (Dockerfile ENTRYPOINT): a small young generation
 * and V8's size-optimised mode keep the peak RSS of 1,000 GitSources near 130 MiB instead of 240.
 */
export const OPERATOR_NODE_FLAGS = ['--max-semi-space-size=2', '--optimize-for-size'];

/**
 * The environment the image adds (Dockerfile ENV): two glibc malloc arenas instead of 8 per core, so
 * native memory freed after a burst of hostile renders is reused rather than spread over arenas
 * (bench/abuse.ts: +11 MiB after a 36-source burst instead of +22).
 */
export const OPERATOR_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

export async function startOperatorProcess(opts: OperatorProcessOptions): Promise<OperatorProcess> {
  const workDir = mkdtempSync(join(tmpdir(), 'converge-op-'));
  const entry = opts.built
    ? [join(root, 'bin', 'converge.js')]
    : // One process (no tsx CLI wrapper), so its memory and CPU are the operator's own.
      ['--import', 'tsx', join(root, 'src', 'main.ts')];
  const args = [
    ...(opts.nodeOptions ?? OPERATOR_NODE_FLAGS),
    ...entry,
    'run',
    '--kubeconfig',
    opts.kubeconfig,
    '--metrics-addr',
    '127.0.0.1:0',
    '--health-addr',
    '127.0.0.1:0',
    // Push webhooks: served only when a secret flag is added; loopback and a free port then.
    '--webhook-addr',
    '127.0.0.1:0',
    '--work-dir',
    join(workDir, 'cache'),
    '--allow-file-urls',
    '--log-format',
    'json',
    '--log-level',
    opts.logLevel ?? 'debug',
    '--kubectl',
    opts.kubectl,
    '--helm',
    opts.helm,
    ...(opts.args ?? ['--leader-elect=false']),
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...OPERATOR_ENV,
      ...(opts.env ?? { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const logs: string[] = [];
  let buf = '';
  const onData = (b: Buffer) => {
    buf += b.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      logs.push(line);
      opts.onLine?.(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const code = await exited;
    clearTimeout(timer);
    rmSync(workDir, { recursive: true, force: true });
    return code;
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    const line = logs.find((l) => l.includes('converge starting'));
    if (line) {
      const { metricsPort, healthPort, webhookPort } = JSON.parse(line) as {
        metricsPort: number;
        healthPort: number;
        webhookPort?: number;
      };
      return { child, logs, metricsPort, healthPort, webhookPort, workDir, stop };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(
        `operator ${child.exitCode !== null ? `exited (${child.exitCode})` : 'did not start'}:\n${logs.join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
