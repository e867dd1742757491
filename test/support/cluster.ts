// Helpers for cluster tests: real kubectl against the shared control plane, a namespace per test.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { promisify } from 'node:util';
import { inject } from 'vitest';

const run = promisify(execFile);

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

let ownKubeconfig: string | undefined;

/**
 * For a test file that runs its own control plane (test/e2e/real-node.test.ts): kubectl and every
 * helper built on it (applyGitSource, waitForCondition, …) then use this admin kubeconfig.
 */
export function useOwnCluster(kubeconfig: string | undefined): void {
  ownKubeconfig = kubeconfig;
}

/** The admin kubeconfig kubectl() uses. */
export function adminKubeconfig(): string {
  return ownKubeconfig ?? inject('kubeconfig');
}

/** Runs real kubectl with the test cluster's admin kubeconfig; never throws, returns the exit code. */
export async function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      inject('kubectl'),
      ['--kubeconfig', adminKubeconfig(), ...args],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ stdout, stderr, code });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** kubectl that must succeed. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Creates a fresh namespace for one test and returns its name; deletion is left to the caller's afterEach. */
export async function createNamespace(prefix = 't'): Promise<string> {
  const name = uniqueName(prefix);
  await kubectlOk(['create', 'namespace', name]);
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}

/** Polls `check` every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  { timeoutMs = 20_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export { run as execFileAsync };

/**
 * A kubeconfig file in `dir` with the admin one's server and CA, whose only user is a TokenRequest
 * token of ServiceAccount `namespace/serviceAccount` (`kubectl create token` is that API).
 */
export async function serviceAccountKubeconfig(
  dir: string,
  namespace: string,
  serviceAccount: string,
  duration = '1h',
): Promise<string> {
  const token = (
    await kubectlOk(['create', 'token', serviceAccount, '-n', namespace, `--duration=${duration}`])
  ).trim();
  if (token.split('.').length !== 3)
    throw new Error(`kubectl create token gave no JWT: ${token.slice(0, 20)}…`);
  const admin = yaml.load(readFileSync(inject('kubeconfig'), 'utf8')) as {
    clusters: Array<{ cluster: Record<string, unknown> }>;
  };
  const path = join(dir, `${namespace}-${serviceAccount}.kubeconfig`);
  writeFileSync(
    path,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: admin.clusters[0]!.cluster }],
      users: [{ name: serviceAccount, user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'test', user: serviceAccount } }],
      'current-context': 'sa',
    }),
    { mode: 0o600 },
  );
  return path;
}
