// The real cosign (built once by scripts/go-tool.sh, cached) signing test artifacts offline: keyed,
// no transparency log, the classic `sha256-<digest>.sig` tag.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Registry } from './registry.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

let binary: Promise<string> | undefined;

/** Path of the cosign binary (built on first use when setup.sh has not built it yet). */
export function cosignBinary(): Promise<string> {
  binary ??= run(
    join(root, 'scripts', 'go-tool.sh'),
    ['cosign', 'github.com/sigstore/cosign/v3/cmd/cosign', '3.1.3'],
    {
      maxBuffer: 1 << 20,
    },
  ).then((r) => r.stdout.trim().split('\n').pop()!);
  return binary;
}

// An empty password: the key never leaves the test's temp dir. No Sigstore service is reached.
const ENV = { ...process.env, COSIGN_PASSWORD: '', COSIGN_YES: 'true', HOME: process.env.HOME ?? '/root' };

/** cosign.key + cosign.pub (ECDSA P-256) in `dir`; returns their paths. */
export async function generateKeyPair(dir: string): Promise<{ key: string; pub: string }> {
  await run(await cosignBinary(), ['generate-key-pair'], { cwd: dir, env: ENV });
  return { key: join(dir, 'cosign.key'), pub: join(dir, 'cosign.pub') };
}

/** Signs `repo@digest` on the registry with `key`, offline, as the `.sig` tag (the classic layout). */
export async function signArtifact(reg: Registry, repo: string, digest: string, key: string): Promise<void> {
  const args = [
    'sign',
    '--key',
    key,
    '--tlog-upload=false',
    '--new-bundle-format=false',
    '--use-signing-config=false',
    '--allow-insecure-registry',
    '--allow-http-registry',
    `${reg.host}/${repo}@${digest}`,
  ];
  // Registry credentials, when it has auth, through cosign's docker config (never argv).
  await run(await cosignBinary(), args, { env: ENV, maxBuffer: 1 << 22 });
}

/** The reference cosign verify (for comparing our answer with cosign's own). */
export async function cosignVerify(
  reg: Registry,
  repo: string,
  digest: string,
  pub: string,
): Promise<boolean> {
  try {
    await run(
      await cosignBinary(),
      [
        'verify',
        '--key',
        pub,
        '--insecure-ignore-tlog',
        '--allow-insecure-registry',
        '--allow-http-registry',
        `${reg.host}/${repo}@${digest}`,
      ],
      { env: ENV, maxBuffer: 1 << 22 },
    );
    return true;
  } catch {
    return false;
  }
}
