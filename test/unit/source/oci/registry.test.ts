// The registry client against a real registry (Debian's docker-registry): open, htpasswd basic auth,
// and token auth (the WWW-Authenticate: Bearer dance); tags with Link pagination; blobs refused by
// declared size before download, on a digest mismatch, and on a registry that stops sending.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { RegistryClient, registryCredentialsFromSecret } from '../../../../src/source/oci/index.ts';
import {
  FLUX_CONTENT,
  pushArtifact,
  startHostileProxy,
  startRegistry,
  type Registry,
} from '../../../support/registry.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'converge-oci-client-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<ConvergeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConvergeError);
  return err as ConvergeError;
}

describe('open registry', () => {
  let reg: Registry;
  let digest: string;
  const layer = Buffer.from('layer bytes '.repeat(100));
  beforeAll(async () => {
    reg = await startRegistry();
    digest = await pushArtifact(reg, 'fleet/app', 'v1.0.0', {
      layers: [{ mediaType: FLUX_CONTENT, data: layer }],
    });
    for (const t of ['v1.1.0', 'v1.2.0', 'v2.0.0-rc.1', 'latest']) {
      await pushArtifact(reg, 'fleet/app', t, {
        layers: [{ mediaType: FLUX_CONTENT, data: Buffer.from(t) }],
      });
    }
  });
  afterAll(() => reg.close());

  it('resolves a tag with one HEAD, reads the manifest by digest', async () => {
    const client = new RegistryClient({ host: reg.host, insecure: true });
    reg.resetRequests();
    const head = await client.headManifest('fleet/app', 'v1.0.0');
    expect(head.digest).toBe(digest);
    expect(head.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(reg.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      'HEAD /v2/fleet/app/manifests/v1.0.0',
    ]);
    const { manifest } = await client.getManifest('fleet/app', digest);
    expect(manifest.layers?.[0]?.size).toBe(layer.length);
  });

  it('lists tags (distribution 2.8 answers in one page; Link pages are followed: see nextLink)', async () => {
    const client = new RegistryClient({ host: reg.host, insecure: true, limits: { tagsPageSize: 2 } });
    reg.resetRequests();
    const tags = await client.listTags('fleet/app');
    expect(tags.sort()).toEqual(['latest', 'v1.0.0', 'v1.1.0', 'v1.2.0', 'v2.0.0-rc.1']);
    expect(reg.requests().map((r) => r.path)).toEqual(['/v2/fleet/app/tags/list?n=2']);
    const bounded = new RegistryClient({
      host: reg.host,
      insecure: true,
      limits: { tagsPageSize: 2, maxTags: 3 },
    });
    expect((await failure(bounded.listTags('fleet/app'))).message).toMatch(
      /more than 3 tags; pin a tag or a digest/,
    );
  });

  it('names a missing tag RefNotFound', async () => {
    const client = new RegistryClient({ host: reg.host, insecure: true });
    const err = await failure(client.headManifest('fleet/app', 'v9.9.9'));
    expect(err.reason).toBe('RefNotFound');
    expect(err.message).toContain('fleet/app:v9.9.9');
  });

  it('downloads a blob with its digest checked, and refuses a size over the limit before any byte moves', async () => {
    const client = new RegistryClient({ host: reg.host, insecure: true });
    const { manifest } = await client.getManifest('fleet/app', digest);
    const desc = manifest.layers![0]!;
    await client.downloadBlob('fleet/app', desc, join(dir, 'ok.blob'), 1024 * 1024);
    expect(await readFile(join(dir, 'ok.blob'))).toEqual(layer);

    reg.resetRequests();
    const huge = { ...desc, size: 10 * 1024 ** 3 };
    const err = await failure(
      client.downloadBlob('fleet/app', huge, join(dir, 'huge.blob'), 256 * 1024 * 1024),
    );
    expect(err.message).toMatch(/declares 10\.0 GiB, over the 256\.0 MiB limit; not downloaded/);
    expect(reg.requests().filter((r) => r.path.includes('/blobs/'))).toEqual([]);
    await expect(stat(join(dir, 'huge.blob'))).rejects.toThrow();
  });

  it('refuses a blob whose bytes do not match its digest (tampered on the wire) and keeps nothing', async () => {
    const proxy = await startHostileProxy(reg, 'corrupt-blobs');
    try {
      const client = new RegistryClient({ host: proxy.host, insecure: true });
      const { manifest } = await client.getManifest('fleet/app', digest);
      const err = await failure(
        client.downloadBlob('fleet/app', manifest.layers![0]!, join(dir, 'bad.blob'), 1 << 20),
      );
      expect(err.reason).toBe('VerificationFailed');
      expect(err.message).toMatch(/has the digest sha256:[0-9a-f]{12}; refused/);
      await expect(stat(join(dir, 'bad.blob'))).rejects.toThrow();
    } finally {
      await proxy.close();
    }
  });

  it('names the step when a registry stops sending (slow loris)', async () => {
    const proxy = await startHostileProxy(reg, 'hang');
    try {
      const client = new RegistryClient({ host: proxy.host, insecure: true, limits: { blobTimeoutMs: 500 } });
      const { manifest } = await client.getManifest('fleet/app', digest);
      const err = await failure(
        client.downloadBlob('fleet/app', manifest.layers![0]!, join(dir, 'slow.blob'), 1 << 20),
      );
      expect(err.reason).toBe('FetchFailed');
      expect(err.message).toMatch(
        /downloading the layer sha256:[0-9a-f]{12} of fleet\/app: no complete answer from 127\.0\.0\.1:\d+ within 0\.5s/,
      );
    } finally {
      await proxy.close();
    }
  });
});

describe('htpasswd basic auth', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'basic' });
    await pushArtifact(reg, 'private/app', 'v1', {
      layers: [{ mediaType: FLUX_CONTENT, data: Buffer.from('x') }],
    });
  });
  afterAll(() => reg.close());

  it('is AuthenticationFailed without or with wrong credentials, and pulls with them', async () => {
    const anonymous = new RegistryClient({ host: reg.host, insecure: true });
    const err = await failure(anonymous.headManifest('private/app', 'v1'));
    expect(err.reason).toBe('AuthenticationFailed');
    expect(err.message).toContain('no credentials given: set spec.secretRef');

    const wrong = new RegistryClient({
      host: reg.host,
      insecure: true,
      credentials: { kind: 'basic', username: reg.username, password: 'nope' },
    });
    const wrongErr = await failure(wrong.headManifest('private/app', 'v1'));
    expect(wrongErr.reason).toBe('AuthenticationFailed');
    expect(wrongErr.message).not.toContain('nope');

    const dockerconfig = JSON.stringify({
      auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString('base64') } },
    });
    const credentials = registryCredentialsFromSecret(
      { '.dockerconfigjson': dockerconfig },
      reg.host,
      'pull-secret',
    );
    const client = new RegistryClient({ host: reg.host, insecure: true, credentials });
    reg.resetRequests();
    await client.headManifest('private/app', 'v1');
    await client.headManifest('private/app', 'v1');
    // One 401 to learn the scheme, then credentials up front.
    expect(reg.requests().map((r) => r.status)).toEqual([401, 200, 200]);
  });
});

describe('token auth (WWW-Authenticate: Bearer)', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token' });
    await pushArtifact(reg, 'private/app', 'v1', {
      layers: [{ mediaType: FLUX_CONTENT, data: Buffer.from('x') }],
    });
  });
  afterAll(() => reg.close());

  it('trades credentials for a pull token once and reuses it', async () => {
    const client = new RegistryClient({
      host: reg.host,
      insecure: true,
      credentials: { kind: 'basic', username: reg.username, password: reg.password },
    });
    await client.headManifest('private/app', 'v1');
    await client.headManifest('private/app', 'v1');
    expect(client.stats).toMatchObject({ head: 3, token: 1 });
  });

  it('is AuthenticationFailed when the token grants no access', async () => {
    const anonymous = new RegistryClient({ host: reg.host, insecure: true });
    const err = await failure(anonymous.headManifest('private/app', 'v1'));
    expect(err.reason).toBe('AuthenticationFailed');
    const wrong = new RegistryClient({
      host: reg.host,
      insecure: true,
      credentials: { kind: 'basic', username: reg.username, password: 'nope' },
    });
    expect((await failure(wrong.headManifest('private/app', 'v1'))).message).toMatch(
      /token service 127\.0\.0\.1:\d+ of .* answered 401/,
    );
  });
});
