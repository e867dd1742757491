// The source stage against a real OpenSSH server: key auth, strict host keys, and what leaks (nothing).
import { readdirSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { createGitSource, credentialsFromSecret, type GitSource } from '../../../../src/source/git/index.ts';
import {
  commitFiles,
  createTag,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type SshGitServer,
} from '../../../support/git-server.ts';
import { captureLog, type CapturedLog } from '../../../support/git-log.ts';

const run = promisify(execFile);
const T = 15_000;
let fixture: GitFixture;
let ssh: SshGitServer;
let repo: GitRepo;
let first: string;
let second: string;
let log: CapturedLog;
let source: GitSource;
let tmpDir: string;
const messages: string[] = [];

async function expectFailure(promise: Promise<unknown>, reason: string): Promise<ConvergeError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConvergeError);
    const e = err as ConvergeError;
    messages.push(e.message);
    expect(e.reason, e.message).toBe(reason);
    return e;
  }
  throw new Error(`expected ${reason}, but it succeeded`);
}

/** PIDs of processes whose command line mentions `text` (an SSH master keeps its ControlPath there). */
async function pgrep(text: string): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-f', text]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

const keyBody = (pem: string) => pem.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----'));

beforeAll(async () => {
  fixture = await startGitFixture();
  ssh = await fixture.serveSsh();
  repo = await fixture.createRepo('fleet');
  first = await commitFiles(repo, { 'app.yaml': 'v: 1\n', 'gone.yaml': 'x\n' }, 'first');
  await createTag(repo, 'v1.0.0', first, { annotated: true });
  second = await commitFiles(repo, { 'app.yaml': 'v: 2\n', 'gone.yaml': null }, 'second');
  log = captureLog('debug');
  tmpDir = await mkdtemp(join(fixture.root, 'tmp-'));
  source = createGitSource({ workDir: join(fixture.root, 'work'), logger: log.logger, tmpDir });
});

afterAll(async () => {
  await fixture?.close();
});

describe('ssh', () => {
  const good = () =>
    credentialsFromSecret({ identity: ssh.identity, known_hosts: ssh.knownHosts }, 'git-ssh');

  it('clones a branch with a key and strict host key checking, then polls with one ls-remote', async () => {
    const req = { key: 'ssh-branch', url: ssh.url('fleet'), credentials: good(), timeoutMs: T };
    const r = await source.fetchRevision(req);
    expect(r).toMatchObject({ revision: `main@sha1:${second}`, fetched: true });
    expect(readFileSync(join(r.dir, 'app.yaml'), 'utf8')).toBe('v: 2\n');
    expect(readdirSync(r.dir)).toEqual(['app.yaml']);
    const before = source.stats().processes;
    expect((await source.fetchRevision(req)).fetched).toBe(false);
    expect(source.stats().processes - before).toBe(1);
  });

  it('checks out a tag and a pinned commit over ssh', async () => {
    const tag = await source.fetchRevision({
      key: 'ssh-tag',
      url: ssh.url('fleet'),
      ref: { tag: 'v1.0.0' },
      credentials: good(),
      timeoutMs: T,
    });
    expect(tag.revision).toBe(`v1.0.0@sha1:${first}`);
    const pinned = await source.fetchRevision({
      key: 'ssh-commit',
      url: ssh.url('fleet'),
      ref: { commit: first },
      credentials: good(),
      timeoutMs: T,
    });
    expect(pinned.revision).toBe(`sha1:${first}`);
    expect(readFileSync(join(pinned.dir, 'gone.yaml'), 'utf8')).toBe('x\n');
  });

  it('passes scp-like user@host:path URLs to ssh (which cannot carry a port, so port 22 is tried)', async () => {
    const url = `${ssh.user}@127.0.0.1:${repo.path}`;
    const e = await expectFailure(
      source.resolveRevision({ key: 'scp', url, credentials: good(), timeoutMs: 5_000 }),
      'FetchFailed',
    );
    expect(e.message).toMatch(/ssh: connect to host 127\.0\.0\.1 port 22/);
  });

  it('a key the server does not authorize is AuthenticationFailed', async () => {
    const wrong = credentialsFromSecret(
      { identity: ssh.wrongIdentity, known_hosts: ssh.knownHosts },
      'git-ssh',
    );
    const e = await expectFailure(
      source.fetchRevision({ key: 'ssh-wrong-key', url: ssh.url('fleet'), credentials: wrong, timeoutMs: T }),
      'AuthenticationFailed',
    );
    expect(e.message).toMatch(/permission denied/i);
  });

  it('an unknown host key is rejected as AuthenticationFailed', async () => {
    const spoofed = credentialsFromSecret(
      { identity: ssh.identity, known_hosts: ssh.wrongKnownHosts },
      'git-ssh',
    );
    const e = await expectFailure(
      source.fetchRevision({ key: 'ssh-spoofed', url: ssh.url('fleet'), credentials: spoofed, timeoutMs: T }),
      'AuthenticationFailed',
    );
    expect(e.message).toMatch(/known_hosts/);
    const unrelated = credentialsFromSecret(
      {
        identity: ssh.identity,
        known_hosts:
          'other.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n',
      },
      'git-ssh',
    );
    await expectFailure(
      source.fetchRevision({
        key: 'ssh-unknown',
        url: ssh.url('fleet'),
        credentials: unrelated,
        timeoutMs: T,
      }),
      'AuthenticationFailed',
    );
  });

  it('an ssh URL without a secret, or with only a password, is InvalidSpec before git runs', async () => {
    const fresh = createGitSource({ workDir: join(fixture.root, 'work-fresh'), logger: log.logger, tmpDir });
    await expectFailure(
      fresh.fetchRevision({ key: 'n', url: ssh.url('fleet'), timeoutMs: T }),
      'InvalidSpec',
    );
    const basic = credentialsFromSecret({ username: 'u', password: 'p-secret-value' }, 'git-auth');
    await expectFailure(
      fresh.fetchRevision({ key: 'n', url: ssh.url('fleet'), credentials: basic, timeoutMs: T }),
      'InvalidSpec',
    );
    expect(fresh.stats().processes).toBe(0);
  });

  it('reuses one SSH connection across polls, and closes it when the source is forgotten', async () => {
    const muxTmp = await mkdtemp(join(fixture.root, 'mux-'));
    const reusing = createGitSource({
      workDir: join(fixture.root, 'work-mux'),
      logger: log.logger,
      tmpDir: muxTmp,
    });
    const req = { key: 'ssh-mux', url: ssh.url('fleet'), credentials: good(), timeoutMs: T };
    const loginsBefore = ssh.logins();
    await reusing.fetchRevision(req);
    for (let i = 0; i < 5; i++) await reusing.resolveRevision(req);
    // A fetch and five polls over one login (a second may race in while the first master starts).
    expect(ssh.logins() - loginsBefore).toBeLessThanOrEqual(2);
    const masters = () => pgrep(muxTmp);
    expect(await masters()).not.toEqual([]);
    // A rotated key gets its own connection, never the one the old key opened.
    const rotated = credentialsFromSecret(
      { identity: ssh.identity, known_hosts: `${ssh.knownHosts}\n` },
      'git-ssh',
    );
    const beforeRotation = ssh.logins();
    await reusing.resolveRevision({ ...req, credentials: rotated });
    expect(ssh.logins()).toBe(beforeRotation + 1);

    await reusing.forget('ssh-mux');
    expect(await masters()).toEqual([]);
    await reusing.close();
    expect(readdirSync(muxTmp)).toEqual([]);
  });

  it('logs and messages hold no private key material, and key files are removed', async () => {
    const everything = log.text() + messages.join('\n');
    expect(log.lines.length).toBeGreaterThan(5);
    for (const line of [...keyBody(ssh.identity), ...keyBody(ssh.wrongIdentity)]) {
      expect(everything).not.toContain(line);
    }
    expect(everything).not.toMatch(/PRIVATE KEY/);
    await source.close();
    expect(readdirSync(tmpDir)).toEqual([]);
    expect(await pgrep(tmpDir)).toEqual([]);
  });
});
