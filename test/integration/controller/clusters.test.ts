// ClusterRegistry against the real API server: kubeconfig Secrets read in the GitSource's namespace,
// one client per kubeconfig content (shared, replaced on rotation, closed when unused), refusals,
// and the outage breaker on a port nobody listens on.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import * as yaml from 'js-yaml';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { ConvergeError, parseSpec, type GitSource } from '../../../src/api/index.ts';
import { ClusterBusy, ClusterRegistry, DriftWatcher } from '../../../src/controller/index.ts';
import { ApiError, type KubeClient } from '../../../src/kube/index.ts';
import { freePort } from '../../support/git-server.ts';
import { createNamespace, deleteNamespace, kubectlOk } from '../../support/cluster.ts';
import { testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
let clock = 0;
let registry: ClusterRegistry;
const logger = pino({ level: 'silent' });

const adminKubeconfig = () => readFileSync(inject('kubeconfig'), 'utf8');

/** The admin kubeconfig with another server or user. */
function variant(change: { server?: string; user?: Record<string, unknown> }): string {
  const doc = yaml.load(adminKubeconfig()) as {
    clusters: Array<{ cluster: Record<string, unknown> }>;
    users: Array<{ user: Record<string, unknown> }>;
  };
  if (change.server) doc.clusters[0]!.cluster.server = change.server;
  if (change.user) doc.users[0]!.user = change.user;
  return yaml.dump(doc);
}

async function secret(name: string, value: string, key = 'value'): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns },
      stringData: { [key]: value },
    }),
  );
}

function gitSource(
  name: string,
  secretName: string,
  key?: string,
): { gs: GitSource; spec: ReturnType<typeof specOf> } {
  const raw = {
    url: 'https://git.example.com/fleet.git',
    kubeConfig: { secretRef: { name: secretName, ...(key ? { key } : {}) } },
  };
  const gs = {
    apiVersion: 'gitops.converge.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name, namespace: ns, uid: `uid-${name}` },
    spec: raw,
  } as unknown as GitSource;
  return { gs, spec: specOf(raw) };
}

function specOf(raw: unknown) {
  const parsed = parseSpec(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.spec;
}

const reasonOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof ConvergeError ? `${err.reason}: ${err.message}` : String(err);
  }
};

beforeAll(async () => {
  client = await testClient();
  ns = await createNamespace('clusters');
  registry = new ClusterRegistry({
    client,
    localDrift: new DriftWatcher(client, logger),
    logger,
    policy: { allowExec: false, allowFiles: false },
    requestTimeoutMs: 2_000,
    maxInFlight: 1,
    now: () => clock,
  });
});

afterAll(async () => {
  registry?.stop();
  client?.close();
  await deleteNamespace(ns);
});

describe('ClusterRegistry', () => {
  it('shares one client per kubeconfig, moves a GitSource to a rotated one and closes the old', async () => {
    await secret('shared', adminKubeconfig());
    const a = gitSource('a', 'shared');
    const b = gitSource('b', 'shared');
    const ta = await registry.targetFor(a.gs, a.spec);
    const tb = await registry.targetFor(b.gs, b.spec);
    expect(ta).toBe(tb);
    expect(ta.remote).toEqual({ server: `${new URL(client.server).origin}/`, context: 'local' });
    expect(registry.remoteCount).toBe(1);
    // It is a working client of that cluster.
    await expect(ta.client.request('GET', '/version')).resolves.toBeTruthy();

    // Rotation: a changed Secret is a new target at the next call; the old stays while b uses it.
    await secret('shared', `${adminKubeconfig()}\n# rotated\n`);
    const ta2 = await registry.targetFor(a.gs, a.spec);
    expect(ta2).not.toBe(ta);
    expect(registry.remoteCount).toBe(2);
    await registry.targetFor(b.gs, b.spec);
    expect(registry.remoteCount).toBe(1);
    // The last GitSources gone: no client is left open.
    registry.untrack(`${ns}/a`);
    registry.untrack(`${ns}/b`);
    expect(registry.remoteCount).toBe(0);
  });

  it('enforces the in-flight limit per cluster', async () => {
    await secret('limited', adminKubeconfig());
    const { gs, spec } = gitSource('lim', 'limited');
    const t = await registry.targetFor(gs, spec);
    const leave = registry.enter(t);
    expect(leave).toBeTypeOf('function');
    expect(registry.enter(t)).toBeUndefined();
    leave!();
    expect(registry.enter(t)).toBeTypeOf('function');
    registry.untrack(`${ns}/lim`);
  });

  it('names a missing Secret or key, and refuses an exec plugin', async () => {
    const missing = gitSource('m', 'does-not-exist');
    expect(await reasonOf(registry.targetFor(missing.gs, missing.spec))).toBe(
      `MissingSecret: secret ${ns}/does-not-exist (spec.kubeConfig.secretRef.name) not found`,
    );
    await secret('other-key', adminKubeconfig(), 'config');
    const wrongKey = gitSource('k', 'other-key');
    expect(await reasonOf(registry.targetFor(wrongKey.gs, wrongKey.spec))).toBe(
      `InvalidKubeConfig: secret ${ns}/other-key has no key "value" (spec.kubeConfig.secretRef.key)`,
    );
    const rightKey = gitSource('k2', 'other-key', 'config');
    expect(await reasonOf(registry.targetFor(rightKey.gs, rightKey.spec))).toBe('resolved');
    registry.untrack(`${ns}/k2`);

    await secret('exec', variant({ user: { exec: { command: '/bin/sh', args: ['-c', 'echo pwned'] } } }));
    const exec = gitSource('e', 'exec');
    const refused = await reasonOf(registry.targetFor(exec.gs, exec.spec));
    expect(refused).toMatch(
      /^InvalidKubeConfig: spec\.kubeConfig: kubeconfig secret .*\/exec key value, context "local": refused user\.exec/,
    );
    expect(refused).not.toContain(readToken());
  });

  it('fails a down cluster fast during its outage window, then probes once', async () => {
    const port = await freePort();
    await secret('down', variant({ server: `https://127.0.0.1:${port}` }));
    const { gs, spec } = gitSource('d', 'down');
    clock = 1_000_000;
    // Never contacted: the first call probes, and the refused probe opens the window.
    const first = await reasonOf(registry.targetFor(gs, spec));
    expect(first).toMatch(
      new RegExp(
        `^ClusterUnreachable: cluster https://127\\.0\\.0\\.1:${port}/ \\(context local\\) unreachable: GET /version: .*ECONNREFUSED`,
      ),
    );
    // Within the window: the same answer without a request.
    clock += 4_000;
    expect(await reasonOf(registry.targetFor(gs, spec))).toBe(first);
    // A refused request from a reconcile keeps it open; after the (doubled) window a probe asks again.
    clock += 11_000;
    expect(await reasonOf(registry.targetFor(gs, spec))).toMatch(/^ClusterUnreachable/);
    registry.untrack(`${ns}/d`);
    // An answer from the cluster ends the outage (reportOutcome is what the reconciler calls).
    await secret('up', `${adminKubeconfig()}\n# up\n`);
    const up = gitSource('u', 'up');
    const target = await registry.targetFor(up.gs, up.spec);
    registry.reportOutcome(target, new ApiError(0, 'ConnectionFailed', 'reset', [], 'GET', '/'));
    clock += 1_000;
    expect(await reasonOf(registry.targetFor(up.gs, up.spec))).toMatch(/^ClusterUnreachable/);
    clock += 10_000;
    expect(await reasonOf(registry.targetFor(up.gs, up.spec))).toBe('resolved');
    registry.untrack(`${ns}/u`);
  });

  it('a hung cluster: one GitSource waits for the probe (bounded), the others step aside at once', async () => {
    // A server that accepts connections and never answers: what a frozen API server looks like.
    const held: Socket[] = [];
    const hung = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    try {
      const port = (hung.address() as AddressInfo).port;
      await secret('hung', variant({ server: `https://127.0.0.1:${port}` }));
      const one = gitSource('h1', 'hung');
      const two = gitSource('h2', 'hung');
      clock = 5_000_000;
      const first = reasonOf(registry.targetFor(one.gs, one.spec));
      await new Promise((r) => setTimeout(r, 100));
      // The second does not wait out the probe: it is told to come back (ClusterBusy), within ~1 s.
      await expect(registry.targetFor(two.gs, two.spec)).rejects.toBeInstanceOf(ClusterBusy);
      expect(await first).toMatch(/^ClusterUnreachable: .*timed out/);
      registry.untrack(`${ns}/h1`);
      registry.untrack(`${ns}/h2`);
    } finally {
      for (const s of held) s.destroy();
      hung.close();
    }
  });
});

function readToken(): string {
  const doc = yaml.load(adminKubeconfig()) as { users: Array<{ user: { token: string } }> };
  return doc.users[0]!.user.token;
}
