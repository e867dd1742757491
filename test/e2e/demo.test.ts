// `npm run demo` end to end, on its own embedded control plane, asserting on what it narrates.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

describe('npm run demo', () => {
  it('narrates a first sync, a new commit and a corrected hand edit, then exits cleanly', async () => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    const child = spawn('npm', ['run', '--silent', 'demo'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const plain = out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    expect(code, plain).toBe(0);
    expect(plain).toMatch(/control plane ready at https:\/\/127\.0\.0\.1:\d+/);
    expect(plain).toMatch(/Changed\s+<none> → main@sha1:[0-9a-f]{7}/);
    expect(plain).toMatch(/Diverged\s+4 to create: Namespace\/demo created/);
    expect(plain).toMatch(/Converged\s+Applied revision main@sha1:[0-9a-f]{7}/);
    expect(plain).toMatch(/Deployment\/demo\/web configured: \/spec\/replicas 2→3/);
    expect(plain).toMatch(
      /ConfigMap\/demo\/web-config configured: \/data\/greeting "hello from git"→"hello again"/,
    );
    expect(plain).toMatch(/Drift corrected in \d+ ms: replicas back to 3/);
    expect(plain).toMatch(/DriftCorrected\s+Corrected Deployment\/demo\/web/);
    expect(plain).toMatch(/Demo finished/);
  }, 120_000);
});
