// Runs the real operator (`tsx src/main.ts run`) as a child process against the test cluster,
// capturing its JSON log lines so tests can assert on them (and grep them for secrets).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface OperatorProcess {
  logs: string[];
  child: ChildProcess;
  healthPort(): Promise<number>;
  metricsPort(): Promise<number>;
  /** Port of the push webhook receiver; undefined when it is off (no secret configured). */
  webhookPort(): Promise<number | undefined>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startOperator(
  opts: {
    namespace?: string;
    args?: string[];
    env?: Record<string, string>;
    kubeconfig?: string;
  } = {},
): Promise<OperatorProcess> {
  const workDir = mkdtempSync(join(tmpdir(), 'converge-op-'));
  const args = [
    join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
    join(root, 'src', 'main.ts'),
    'run',
    '--kubeconfig',
    opts.kubeconfig ?? inject('kubeconfig'),
    '--metrics-addr',
    '127.0.0.1:0',
    '--health-addr',
    '127.0.0.1:0',
    // Loopback and a free port: several operators run at once (served only with a secret).
    '--webhook-addr',
    '127.0.0.1:0',
    '--work-dir',
    workDir,
    '--allow-file-urls',
    '--log-format',
    'json',
    '--log-level',
    'debug',
    '--kubectl',
    inject('kubectl'),
    '--helm',
    inject('helm'),
    ...(opts.namespace ? ['--namespace', opts.namespace] : []),
    ...(opts.args ?? ['--leader-elect=false']),
  ];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const logs: string[] = [];
  let buf = '';
  const onData = (b: Buffer) => {
    buf += b.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    logs.push(...lines.filter(Boolean));
    if (process.env.CONVERGE_TEST_LOGS)
      for (const l of lines) if (l) process.stderr.write(`[operator] ${l}\n`);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  const started = (async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const line = logs.find((l) => l.includes('converge starting'));
      if (line) return JSON.parse(line) as { metricsPort: number; healthPort: number; webhookPort?: number };
      if (child.exitCode !== null)
        throw new Error(`operator exited (${child.exitCode}):\n${logs.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`operator did not start:\n${logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await started;
  return {
    logs,
    child,
    healthPort: async () => (await started).healthPort,
    metricsPort: async () => (await started).metricsPort,
    webhookPort: async () => (await started).webhookPort,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
      const code = await exited;
      clearTimeout(timer);
      rmSync(workDir, { recursive: true, force: true });
      return code;
    },
  };
}
