// The real sops (built once by scripts/go-tool.sh), Debian's age and gnupg: keys and files encrypted as users make them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
export const SOPS_VERSION = '3.13.3';

let sopsPath: Promise<string> | undefined;
/** Path of the sops binary, built on first use (scripts/setup.sh builds it ahead). */
export function sopsBinary(): Promise<string> {
  sopsPath ??= run(
    join(ROOT, 'scripts/go-tool.sh'),
    ['sops', 'github.com/getsops/sops/v3/cmd/sops', SOPS_VERSION],
    { maxBuffer: 64 * 1024 * 1024 },
  ).then((r) => r.stdout.trim().split('\n').pop()!);
  return sopsPath;
}

export interface AgeKey {
  /** The key file as age-keygen writes it (comments and the AGE-SECRET-KEY line). */
  identity: string;
  recipient: string;
}

export async function ageKey(): Promise<AgeKey> {
  const { stdout } = await run('age-keygen', []);
  const recipient = /public key: (age1[0-9a-z]+)/.exec(stdout)![1]!;
  return { identity: stdout, recipient };
}

export interface PgpKey {
  fingerprint: string;
  /** Armoured private key, no passphrase (`gpg --export-secret-keys --armor`). */
  armored: string;
  home: string;
}

/** A fresh GnuPG home with one key (ed25519 + cv25519, no passphrase). */
export async function pgpKey(name = 'converge-test'): Promise<PgpKey> {
  const home = await mkdtemp(join(tmpdir(), 'converge-gpg-'));
  const env = { ...process.env, GNUPGHOME: home };
  await run(
    'gpg',
    [
      '--batch',
      '--passphrase',
      '',
      '--quick-gen-key',
      `${name} <${name}@example.com>`,
      'default',
      'default',
      'never',
    ],
    { env },
  );
  const { stdout } = await run('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env });
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)![1]!;
  const armored = (await run('gpg', ['--batch', '--armor', '--export-secret-keys', fingerprint], { env }))
    .stdout;
  return { fingerprint, armored, home };
}

export async function removePgpHome(key: PgpKey): Promise<void> {
  await rm(key.home, { recursive: true, force: true });
}

/**
 * `sops --encrypt` of `plaintext` as a file named `name` (its extension picks the format, as for
 * users), with `args` such as `--age R`, `--pgp FP`, `--encrypted-regex …`. Returns the encrypted text.
 */
export async function sopsEncrypt(
  name: string,
  plaintext: string | Buffer,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'converge-sops-'));
  try {
    const file = join(dir, name);
    await writeFile(file, plaintext);
    const { stdout } = await run(await sopsBinary(), ['--encrypt', ...args, file], {
      env: { ...process.env, SOPS_DISABLE_VERSION_CHECK: '1', ...env },
      cwd: dir,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `sops --decrypt` with the age key, for comparing with Converge's own decryption. */
export async function sopsDecrypt(
  name: string,
  encrypted: string,
  age: AgeKey,
  args: string[] = [],
): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'converge-sops-'));
  try {
    const file = join(dir, name);
    await writeFile(file, encrypted);
    const keyFile = join(dir, 'keys.txt');
    await writeFile(keyFile, age.identity, { mode: 0o600 });
    const { stdout } = await run(await sopsBinary(), ['--decrypt', ...args, file], {
      env: { ...process.env, SOPS_DISABLE_VERSION_CHECK: '1', SOPS_AGE_KEY_FILE: keyFile },
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export { readFile };
