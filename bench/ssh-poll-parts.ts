// Benchmark: where an unchanged SSH poll's time goes, against the loopback sshd of the test fixtures:
// ssh's multiplexer alone (-O check), a new session on the reused connection (ssh true), upload-pack
// over it, and git ls-remote (v0 and v2). Run: npx tsx bench/ssh-poll-parts.ts
import { execFileSync, execSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { commitFiles, startGitFixture } from '../test/support/git-server.ts';
const fixture = await startGitFixture();
const repo = await fixture.createRepo('r');
await commitFiles(repo, { 'a.yaml': 'a: 1\n' }, 'x');
const ssh = await fixture.serveSsh();
const dir = mkdtempSync(join(tmpdir(), 'sshexp-'));
writeFileSync(join(dir, 'id'), ssh.identity.endsWith('\n') ? ssh.identity : ssh.identity + '\n', {
  mode: 0o600,
});
writeFileSync(join(dir, 'kh'), ssh.knownHosts);
const ctl = join(dir, 'ctl');
const base = [
  '-F',
  '/dev/null',
  '-i',
  join(dir, 'id'),
  '-o',
  `UserKnownHostsFile=${join(dir, 'kh')}`,
  '-o',
  'StrictHostKeyChecking=yes',
  '-o',
  'BatchMode=yes',
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'LogLevel=ERROR',
  '-o',
  'ControlMaster=auto',
  '-o',
  `ControlPath=${ctl}`,
  '-o',
  'ControlPersist=60s',
  '-p',
  String(ssh.port),
];
const host = `${ssh.user}@127.0.0.1`;
execFileSync('ssh', [...base, host, 'true']);
const time = (label: string, fn: () => void, n = 30) => {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  console.log(label, 'median', t[n >> 1]!.toFixed(1), 'ms');
};
time('ssh -O check', () =>
  execFileSync('ssh', ['-F', '/dev/null', '-o', `ControlPath=${ctl}`, '-O', 'check', 'x'], {
    stdio: 'ignore',
  }),
);
time('ssh mux true (ControlMaster=no)', () =>
  execFileSync('ssh', [
    ...base.map((a) => (a === 'ControlMaster=auto' ? 'ControlMaster=no' : a)),
    host,
    'true',
  ]),
);
time('node spawn true', () => execFileSync('true'));
time('git --version', () => execFileSync('git', ['--version']));
time('ssh mux true', () => execFileSync('ssh', [...base, host, 'true']));
time('ssh mux upload-pack (ls)', () =>
  execFileSync('ssh', [...base, host, `git-upload-pack '${new URL(ssh.url('r')).pathname}'`], {
    input: '0000',
  }),
);
const sshCmd = `ssh ${base.map((a) => `'${a}'`).join(' ')}`;
time('git ls-remote (GIT_SSH_COMMAND)', () =>
  execFileSync('git', ['ls-remote', '--heads', ssh.url('r'), 'main'], {
    env: { PATH: process.env.PATH!, GIT_SSH_COMMAND: sshCmd },
  }),
);
time('git ls-remote v2', () =>
  execFileSync('git', ['-c', 'protocol.version=2', 'ls-remote', '--heads', ssh.url('r'), 'main'], {
    env: { PATH: process.env.PATH!, GIT_SSH_COMMAND: sshCmd },
  }),
);
time('git ls-remote v0', () =>
  execFileSync('git', ['-c', 'protocol.version=0', 'ls-remote', '--heads', ssh.url('r'), 'main'], {
    env: { PATH: process.env.PATH!, GIT_SSH_COMMAND: sshCmd },
  }),
);
execSync(`ssh -F /dev/null -o ControlPath=${ctl} -O exit x 2>/dev/null || true`);
await ssh.close();
await fixture.close();
