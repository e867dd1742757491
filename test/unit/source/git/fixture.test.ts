// The git server fixtures themselves, with the plain git CLI: clone over HTTP with basic auth and over SSH with a key.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, startGitFixture, type GitFixture, type GitRepo } from '../../../support/git-server.ts';

const exec = promisify(execFile);
let fixture: GitFixture;
let repo: GitRepo;
let head: string;

const cleanEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

beforeAll(async () => {
  fixture = await startGitFixture();
  repo = await fixture.createRepo('demo');
  head = await commitFiles(repo, { 'README.md': 'hello\n', 'deploy/app.yaml': 'kind: ConfigMap\n' }, 'init');
});

afterAll(async () => {
  await fixture?.close();
});

describe('git server fixtures', () => {
  it('git clone over HTTP with basic auth works, and fails without it', async () => {
    const http = await fixture.serveHttp({ auth: { username: 'alice', password: 'fixture-pw' } });
    const dest = join(fixture.root, 'http-clone');
    const url = http.url('demo').replace('http://', 'http://alice:fixture-pw@');
    await exec('git', ['clone', '--quiet', url, dest], { env: cleanEnv });
    expect(readFileSync(join(dest, 'deploy/app.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
    expect((await exec('git', ['-C', dest, 'rev-parse', 'HEAD'], { env: cleanEnv })).stdout.trim()).toBe(
      head,
    );
    await expect(
      exec('git', ['clone', '--quiet', http.url('demo'), join(fixture.root, 'http-noauth')], {
        env: cleanEnv,
      }),
    ).rejects.toThrow(/could not read Username|Authentication failed/);
    expect(http.bytesOut()).toBeGreaterThan(0);
    await http.close();
  });

  it('git clone over SSH with a key works, and an unauthorized key is refused', async () => {
    const ssh = await fixture.serveSsh();
    const keyFile = join(fixture.root, 'id_ed25519');
    const wrongFile = join(fixture.root, 'id_wrong');
    const knownHosts = join(fixture.root, 'known_hosts');
    writeFileSync(keyFile, ssh.identity, { mode: 0o600 });
    writeFileSync(wrongFile, ssh.wrongIdentity, { mode: 0o600 });
    writeFileSync(knownHosts, ssh.knownHosts);
    const sshCommand = (key: string) =>
      `ssh -F /dev/null -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts}`;
    const dest = join(fixture.root, 'ssh-clone');
    await exec('git', ['clone', '--quiet', ssh.url('demo'), dest], {
      env: { ...cleanEnv, GIT_SSH_COMMAND: sshCommand(keyFile) },
    });
    expect(readFileSync(join(dest, 'README.md'), 'utf8')).toBe('hello\n');
    await expect(
      exec('git', ['clone', '--quiet', ssh.url('demo'), join(fixture.root, 'ssh-wrong')], {
        env: { ...cleanEnv, GIT_SSH_COMMAND: sshCommand(wrongFile) },
      }),
    ).rejects.toThrow(/Permission denied/);
    await ssh.close();
  });

  it('close() leaves no sshd or http-backend behind', async () => {
    const other = await startGitFixture();
    const ssh = await other.serveSsh();
    await other.serveHttp();
    const config = join(other.root, 'ssh-');
    await other.close();
    const { stdout } = await exec('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(config);
    expect(stdout).not.toContain(`Port ${ssh.port}`);
  });
});
