// Runs the real converge CLI process (`node --import tsx src/main.ts …`) against the test cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Leave out --kubeconfig (for commands that need no cluster). */
  noKubeconfig?: boolean;
  env?: Record<string, string>;
  timeoutMs?: number;
}

function cliArgs(args: string[], opts: CliOptions): string[] {
  return [
    '--import',
    'tsx',
    join(root, 'src', 'main.ts'),
    ...args,
    ...(opts.noKubeconfig ? [] : ['--kubeconfig', inject('kubeconfig')]),
  ];
}

function cliEnv(opts: CliOptions): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    // Render with the same pinned kubectl/helm the operator under test uses.
    CONVERGE_KUBECTL: inject('kubectl'),
    CONVERGE_HELM: inject('helm'),
    ...opts.env,
  };
}

/** `converge <args>` to completion; never throws, returns the exit code and output. */
export function converge(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(args, opts), {
      cwd: root,
      env: cliEnv(opts),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running `converge <args>` (e.g. get -w) whose output is read while it runs. */
export function startConverge(
  args: string[],
  opts: CliOptions = {},
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, cliArgs(args, opts), {
    cwd: root,
    env: cliEnv(opts),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return { child, output: () => out };
}
