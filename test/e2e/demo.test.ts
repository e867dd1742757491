// `npm run demo` end to end, on its own embedded control plane, asserting on what it narrates.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

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
    if (inject('podsRun')) {
      // wait: true on fake nodes: each rollout is narrated, and finishes before its Converged event.
      const rolledOut = (ready: number, converged: number) => {
        const at = plain.indexOf(`deployment/web: ${ready}/${ready} pods Ready`);
        return at >= 0 && at < converged;
      };
      const convergedAt = [...plain.matchAll(/Converged\s+Applied revision/g)].map((m) => m.index);
      expect(convergedAt.length, plain).toBeGreaterThanOrEqual(2);
      expect(rolledOut(2, convergedAt[0]!), plain).toBe(true);
      expect(rolledOut(3, convergedAt[1]!), plain).toBe(true);
      expect(plain.indexOf('deployment/web: 3/3 pods Ready')).toBeGreaterThan(convergedAt[0]!);
    }
  }, 120_000);
});
