// Journey: desired state from an OCI artifact in a real registry (docker-registry). A semver range
// follows new tags; the registry's own push notification wakes the GitSource at once (interval 1h);
// a hostile layer is refused and nothing is pruned; an unsigned artifact is VerificationFailed and
// Stalled until a cosign-signed one is there, and status names the key that verified.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap } from '../support/apps.ts';
import { converge } from '../support/cli.ts';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import { generateKeyPair, signArtifact } from '../support/cosign.ts';
import {
  applyGitSource,
  condition,
  getGitSource,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { FLUX_CONTENT, pushArtifact, startRegistry, tarGz, type Registry } from '../support/registry.ts';

const SECRET = 'e2e-registry-notify-7d1e';

let ns: string;
let reg: Registry;
let operator: OperatorProcess;
let tmp: string;

const artifact = (files: Record<string, string>) => ({
  layers: [
    { mediaType: FLUX_CONTENT, data: tarGz(Object.entries(files).map(([name, data]) => ({ name, data }))) },
  ],
});
const data = async (name: string) =>
  (await getObject<{ data?: Record<string, string> }>(ns, 'configmap', name))?.data;

beforeAll(async () => {
  ns = await createNamespace('oci');
  tmp = mkdtempSync(join(tmpdir(), 'converge-oci-e2e-'));
  writeFileSync(join(tmp, 'token'), `${SECRET}\n`);
  operator = await startOperator({
    namespace: ns,
    args: ['--leader-elect=false', '--webhook-secret-file', join(tmp, 'token')],
  });
  const port = await operator.webhookPort();
  reg = await startRegistry({
    notify: `http://127.0.0.1:${port}/distribution`,
    notifyHeaders: { Authorization: `Bearer ${SECRET}` },
  });
});

afterAll(async () => {
  await operator?.stop();
  await reg?.close();
  await deleteNamespace(ns);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

let v1: string;

describe('OCI artifacts', () => {
  it('applies a Flux artifact picked by a semver range; revision <tag>@sha256:<digest>', async () => {
    v1 = await pushArtifact(
      reg,
      'fleet/app',
      '1.0.0',
      artifact({ 'deploy/cm.yaml': configMap('web', { v: '1' }) }),
    );
    await applyGitSource(ns, 'app', {
      url: `oci://${reg.host}/fleet/app`,
      ref: { semver: '>=1.0.0' },
      insecure: true,
      path: './deploy',
      interval: '1h',
      targetNamespace: ns,
      wait: false,
    });
    const gs = await waitForCondition(ns, 'app', 'Ready', 'True', { revision: `1.0.0@${v1}` });
    expect(gs.status?.lastAppliedRevision).toBe(`1.0.0@${v1}`);
    expect(await data('web')).toEqual({ v: '1' });
  });

  it("a push wakes it through the registry's notification, not the 1h poll", async () => {
    const started = performance.now();
    const v2 = await pushArtifact(
      reg,
      'fleet/app',
      '1.1.0',
      artifact({ 'deploy/cm.yaml': configMap('web', { v: '2' }) }),
    );
    await waitForCondition(ns, 'app', 'Ready', 'True', { revision: `1.1.0@${v2}` });
    expect(await data('web')).toEqual({ v: '2' });
    process.stderr.write(`[oci e2e] push → Ready ${Math.round(performance.now() - started)} ms\n`);
  });

  it('refuses a hostile layer with a reason; nothing applied, nothing pruned', async () => {
    const bad = await pushArtifact(
      reg,
      'fleet/app',
      '1.2.0',
      artifact({ '../../etc/evil.yaml': configMap('evil', { x: '1' }) }),
    );
    const gs = await waitForCondition(ns, 'app', 'Ready', 'False', { reason: 'FetchFailed' });
    expect(condition(gs, 'Ready')?.message).toMatch(
      /leaves the archive \(path traversal\); refused, nothing applied/,
    );
    expect(gs.status?.lastAppliedRevision).not.toContain(bad);
    expect(await data('web')).toEqual({ v: '2' });
    expect(await getObject(ns, 'configmap', 'evil')).toBeUndefined();
  });
});

describe('the CLI on an artifact', () => {
  it('build refuses the hostile digest; rollback pins the previous digest; resume-tracking restores the range', async () => {
    // The latest fetched digest is the hostile one: build refuses it as the operator did.
    const build = await converge(['build', 'app', '-n', ns]);
    expect(build.code).not.toBe(0);
    expect(build.stderr).toMatch(
      /FetchFailed: layer sha256:[0-9a-f]{12} of .*leaves the archive \(path traversal\)/,
    );
    const rb = await converge(['rollback', 'app', '-n', ns]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toContain(`pinned to digest ${v1.slice(0, 19)}`);
    expect((await getGitSource(ns, 'app'))?.spec.ref).toEqual({ digest: v1 });
    await waitForCondition(ns, 'app', 'Ready', 'True', { revision: v1, timeoutMs: 60_000 });
    expect(await data('web')).toEqual({ v: '1' });
    const built = await converge(['build', 'app', '-n', ns]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/name: web/);
    expect(built.stdout).toMatch(/v: ["']?1["']?\n/);
    const history = await converge(['history', 'app', '-n', ns]);
    expect(history.stdout).toContain(v1.slice(7, 19));
    const back = await converge(['resume-tracking', 'app', '-n', ns]);
    expect(back.code, back.stderr).toBe(0);
    expect((await getGitSource(ns, 'app'))?.spec.ref).toEqual({ semver: '>=1.0.0' });
  });
});

describe('cosign verification', () => {
  it('is VerificationFailed and Stalled for an unsigned artifact, then applies once signed, naming the key', async () => {
    const keys = await generateKeyPair(tmp);
    await kubectlOk([
      'create',
      'secret',
      'generic',
      'cosign-pub',
      '-n',
      ns,
      `--from-file=cosign.pub=${keys.pub}`,
    ]);
    const digest = await pushArtifact(
      reg,
      'fleet/signed',
      'v1',
      artifact({ 'cm.yaml': configMap('signed', { s: '1' }) }),
    );
    await applyGitSource(ns, 'signed', {
      url: `oci://${reg.host}/fleet/signed`,
      ref: { tag: 'v1' },
      insecure: true,
      verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } },
      interval: '1h',
      targetNamespace: ns,
      wait: false,
    });
    const failed = await waitForCondition(ns, 'signed', 'Ready', 'False', { reason: 'VerificationFailed' });
    expect(condition(failed, 'Ready')?.message).toMatch(
      /no cosign signature \(tag sha256-[0-9a-f]{64}\.sig not found\)/,
    );
    expect(condition(failed, 'Stalled')?.status).toBe('True');
    expect(await getObject(ns, 'configmap', 'signed')).toBeUndefined();

    await signArtifact(reg, 'fleet/signed', digest, keys.key);
    await requestReconcile(ns, 'signed');
    const ok = await waitForCondition(ns, 'signed', 'Ready', 'True', { revision: `v1@${digest}` });
    expect(ok.status?.verification).toEqual({
      revision: `v1@${digest}`,
      provider: 'cosign',
      key: 'cosign.pub',
    });
    expect(await data('signed')).toEqual({ s: '1' });
    // The private key never reached the cluster; only the public one is in the Secret.
    expect(readFileSync(keys.pub, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
  });

  it('refuses keyless verification with a clear message', async () => {
    await applyGitSource(ns, 'keyless', {
      url: `oci://${reg.host}/fleet/signed`,
      ref: { tag: 'v1' },
      insecure: true,
      verify: {
        provider: 'cosign',
        matchOIDCIdentity: [{ issuer: 'https://token.actions.githubusercontent.com', subject: 'x' }],
      },
      interval: '1h',
      targetNamespace: ns,
      wait: false,
    });
    const gs = await waitForCondition(ns, 'keyless', 'Ready', 'False', { reason: 'InvalidSpec' });
    expect(condition(gs, 'Ready')?.message).toMatch(
      /keyless cosign verification needs the public Sigstore services/,
    );
    await eventually(async () => condition(await getGitSource(ns, 'keyless'), 'Stalled')?.status === 'True');
  });
});
