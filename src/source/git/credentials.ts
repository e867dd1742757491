// Turns a Secret's data into git credentials, and hands them to git via env and 0600 temp files only.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConvergeError } from '../../api/index.ts';
import type { GitTransport } from './validate.ts';

/** Credentials read from a GitSource's secret; which part is used depends on the URL's transport. */
export interface GitCredentials {
  /** The Secret they came from, for messages. */
  secretName: string;
  basic?: { username: string; password: string };
  bearerToken?: string;
  ssh?: { identity: string; knownHosts: string };
}

/**
 * Reads the keys Converge understands from a Secret's data: `username`+`password`, `bearerToken`,
 * or `identity`+`known_hosts`. Throws InvalidSpec naming the missing key when a pair is incomplete.
 */
export function credentialsFromSecret(
  data: Record<string, Buffer | string>,
  secretName: string,
): GitCredentials {
  const get = (key: string): string | undefined => {
    const value = data[key];
    if (value === undefined) return undefined;
    const text = typeof value === 'string' ? value : value.toString('utf8');
    return text.length > 0 ? text : undefined;
  };
  const missing = (key: string, because: string) =>
    new ConvergeError('InvalidSpec', `secret ${secretName} has ${because} but no "${key}" key: add it`);
  const username = get('username');
  const password = get('password');
  const bearerToken = get('bearerToken');
  const identity = get('identity');
  const knownHosts = get('known_hosts');
  const creds: GitCredentials = { secretName };
  if (username !== undefined || password !== undefined) {
    if (username === undefined) throw missing('username', '"password"');
    if (password === undefined) throw missing('password', '"username"');
    if (/[\r\n]/.test(username) || username.includes(':')) {
      throw new ConvergeError(
        'InvalidSpec',
        `secret ${secretName}: "username" must not contain ':' or line breaks`,
      );
    }
    creds.basic = { username, password };
  }
  if (bearerToken !== undefined) {
    if (/[\r\n]/.test(bearerToken.trim())) {
      throw new ConvergeError(
        'InvalidSpec',
        `secret ${secretName}: "bearerToken" must not contain line breaks`,
      );
    }
    creds.bearerToken = bearerToken.trim();
  }
  if (identity !== undefined || knownHosts !== undefined) {
    if (identity === undefined) throw missing('identity', '"known_hosts"');
    if (knownHosts === undefined)
      throw missing('known_hosts', 'an "identity" (host keys are always checked)');
    creds.ssh = { identity, knownHosts };
  }
  if (!creds.basic && creds.bearerToken === undefined && !creds.ssh) {
    throw new ConvergeError(
      'InvalidSpec',
      `secret ${secretName} has none of the keys username+password, bearerToken or identity+known_hosts`,
    );
  }
  return creds;
}

/** What one git invocation needs to authenticate; call cleanup() when git is done. */
export interface PreparedAuth {
  extraConfig: Array<[string, string]>;
  sshCommand?: string;
  /** Values to scrub from anything git prints. */
  secrets: string[];
  cleanup(): Promise<void>;
}

export interface PrepareAuthInput {
  transport: GitTransport;
  credentials?: GitCredentials;
  /** Parent of the private temp dir for SSH key files. */
  tmpDir: string;
  timeoutMs: number;
  /**
   * Reuse one SSH connection across calls: the ControlPath of a master that stays up for
   * `persistSeconds` after the last use. Keyed by the credentials, so a rotated key never rides on a
   * connection the old key opened.
   */
  connection?: { controlPath: string; persistSeconds: number };
}

/**
 * HTTP credentials go into an `http.extraHeader` passed through GIT_CONFIG_* env: nothing in argv or
 * .git/config, and one round trip per request instead of a 401 and an askpass retry. SSH keys go into
 * 0600 files in a 0700 temp dir that cleanup() removes.
 */
export async function prepareAuth(input: PrepareAuthInput): Promise<PreparedAuth> {
  const { transport, credentials } = input;
  const none: PreparedAuth = { extraConfig: [], secrets: [], cleanup: async () => {} };
  if (transport === 'file') return none;
  if (transport === 'http' || transport === 'https') {
    if (!credentials) return none;
    if (credentials.bearerToken !== undefined) {
      const token = credentials.bearerToken;
      return {
        ...none,
        extraConfig: [['http.extraHeader', `Authorization: Bearer ${token}`]],
        secrets: [token],
      };
    }
    if (credentials.basic) {
      const { username, password } = credentials.basic;
      const encoded = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
      return {
        ...none,
        extraConfig: [['http.extraHeader', `Authorization: Basic ${encoded}`]],
        secrets: [password, encoded],
      };
    }
    throw new ConvergeError(
      'InvalidSpec',
      `secret ${credentials.secretName} holds an SSH identity but spec.url is ${transport}: use an ssh URL or username+password`,
    );
  }
  // ssh: host keys are always verified, so known_hosts (and a key) are required.
  if (!credentials?.ssh) {
    throw new ConvergeError(
      'InvalidSpec',
      credentials
        ? `secret ${credentials.secretName} has no "identity" and "known_hosts" keys, needed for an ssh URL`
        : 'an ssh URL needs spec.secretRef naming a secret with "identity" and "known_hosts" keys',
    );
  }
  const dir = await mkdtemp(join(input.tmpDir, 'converge-ssh-'));
  try {
    const keyFile = join(dir, 'identity');
    const knownHostsFile = join(dir, 'known_hosts');
    const identity = credentials.ssh.identity.endsWith('\n')
      ? credentials.ssh.identity
      : `${credentials.ssh.identity}\n`;
    await writeFile(keyFile, identity, { mode: 0o600 });
    await writeFile(knownHostsFile, credentials.ssh.knownHosts, { mode: 0o600 });
    const connectTimeout = Math.max(1, Math.ceil(input.timeoutMs / 1000));
    const sshCommand = [
      'ssh',
      '-F /dev/null',
      `-i ${shellQuote(keyFile)}`,
      `-o UserKnownHostsFile=${shellQuote(knownHostsFile)}`,
      '-o GlobalKnownHostsFile=/dev/null',
      '-o StrictHostKeyChecking=yes',
      '-o IdentitiesOnly=yes',
      '-o IdentityAgent=none',
      '-o BatchMode=yes',
      '-o PasswordAuthentication=no',
      '-o KbdInteractiveAuthentication=no',
      `-o ConnectTimeout=${connectTimeout}`,
      '-o LogLevel=ERROR',
      ...(input.connection
        ? [
            '-o ControlMaster=auto',
            `-o ControlPath=${shellQuote(input.connection.controlPath)}`,
            `-o ControlPersist=${input.connection.persistSeconds}s`,
          ]
        : []),
    ].join(' ');
    const secrets = credentials.ssh.identity
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length >= 16 && !l.startsWith('-----'));
    return { extraConfig: [], sshCommand, secrets, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
