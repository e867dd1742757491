// The registry client against a real registry (Debian's docker-registry): tag pages, digests by HEAD,
// anonymous, htpasswd (Basic) and token (Bearer) access, and the failures a user must be told about.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../src/api/index.ts';
import { createRegistryClient } from '../../../src/images/index.ts';
import { freePort } from '../../support/git-server.ts';
import { startRegistry, type TestRegistry } from '../../support/image-registry.ts';

/**
 * Passes every request to the registry at `upstream`, paging tag lists as the OCI distribution
 * spec says (`n`, `last`, a Link header to the next page): the tags are the real registry's.
 */
async function pagingFront(upstream: string): Promise<{ host: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${upstream}`);
      const listing = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
      const headers = { ...(req.headers.accept ? { accept: req.headers.accept } : {}) };
      const up = await fetch(`http://${upstream}${url.pathname}`, { method: req.method, headers });
      if (!listing || !up.ok) {
        const out: Record<string, string> = {};
        up.headers.forEach((v, k) => (out[k] = v));
        res.writeHead(up.status, out).end(Buffer.from(await up.arrayBuffer()));
        return;
      }
      const all = ((await up.json()) as { tags: string[] }).tags.sort();
      const n = Number(url.searchParams.get('n') ?? all.length);
      const last = url.searchParams.get('last');
      const rest = last === null ? all : all.filter((t) => t > last);
      const page = rest.slice(0, n);
      const more = rest.length > n;
      res
        .writeHead(200, {
          'content-type': 'application/json',
          ...(more ? { link: `</v2/${listing[1]}/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"` } : {}),
        })
        .end(JSON.stringify({ name: listing[1], tags: page }));
    })().catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('registry client (real docker-registry)', () => {
  const registries: Record<string, TestRegistry> = {};
  beforeAll(async () => {
    const [open, basic, token] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: 'htpasswd' }),
      startRegistry({ auth: 'token' }),
    ]);
    Object.assign(registries, { open, basic, token });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(Object.values(registries).map((r) => r.close()));
  });

  it('lists every tag across Link-paginated pages and resolves a digest by HEAD', async () => {
    const reg = registries.open!;
    const digests: Record<string, string> = {};
    for (const tag of ['1.0.0', '1.1.0', '1.2.0', '2.0.0-rc.1', 'latest'])
      digests[tag] = await reg.push('team/web', tag);
    // distribution 2.8 answers a tag list in one page; registries that page it (distribution 3, GHCR,
    // Harbor) do as the OCI spec says, which the paging front over the real registry does here.
    const front = await pagingFront(reg.host);
    try {
      const requests: string[] = [];
      const client = createRegistryClient({
        pageSize: 2,
        fetch: (url, init) => {
          requests.push(`${init.method} ${new URL(url).pathname}${new URL(url).search}`);
          return fetch(url, init);
        },
      });
      const req = { image: `${front.host}/team/web`, insecure: true };
      expect((await client.listTags(req)).sort()).toEqual([
        '1.0.0',
        '1.1.0',
        '1.2.0',
        '2.0.0-rc.1',
        'latest',
      ]);
      expect(requests).toEqual([
        'GET /v2/team/web/tags/list?n=2',
        'GET /v2/team/web/tags/list?n=2&last=1.1.0',
        'GET /v2/team/web/tags/list?n=2&last=2.0.0-rc.1',
      ]);
      requests.length = 0;
      expect(await client.digestOf(req, '1.2.0')).toBe(digests['1.2.0']);
      expect(requests).toEqual(['HEAD /v2/team/web/manifests/1.2.0']);
      expect(await client.digestOf(req, 'nope')).toBeUndefined();
    } finally {
      await front.close();
    }
  });

  it('answers a Basic challenge with the credentials, and names a wrong or missing password', async () => {
    const reg = registries.basic!;
    const digest = await reg.push('team/api', '3.1.4');
    const client = createRegistryClient();
    const image = reg.image('team/api');
    const credentials = { username: reg.username, password: reg.password };
    expect(await client.listTags({ image, insecure: true, credentials })).toEqual(['3.1.4']);
    expect(await client.digestOf({ image, insecure: true, credentials }, '3.1.4')).toBe(digest);
    const wrong = await client
      .listTags({ image, insecure: true, credentials: { ...credentials, password: 'wrong' } })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ConvergeError);
    expect(wrong).toMatchObject({ reason: 'AuthenticationFailed' });
    expect((wrong as Error).message).toBe(
      `registry ${reg.host} rejected the credentials for ${reg.host} in spec.secretRef (HTTP 401)`,
    );
    expect((wrong as Error).message).not.toContain(reg.password);
    await expect(client.listTags({ image, insecure: true })).rejects.toThrow(
      /asks for credentials \(HTTP 401\): set spec.secretRef to a kubernetes.io\/dockerconfigjson Secret/,
    );
  });

  it('gets a Bearer token from the realm the registry names, and reuses it', async () => {
    const reg = registries.token!;
    const digest = await reg.push('team/jobs', 'v7');
    const client = createRegistryClient();
    const req = {
      image: reg.image('team/jobs'),
      insecure: true,
      credentials: { username: reg.username, password: reg.password },
    };
    const before = reg.tokenRequests();
    expect(await client.listTags(req)).toEqual(['v7']);
    expect(await client.digestOf(req, 'v7')).toBe(digest);
    expect(await client.listTags(req)).toEqual(['v7']);
    expect(reg.tokenRequests() - before).toBe(1);
    await expect(
      createRegistryClient().listTags({ ...req, credentials: { username: reg.username, password: 'nope' } }),
    ).rejects.toMatchObject({ reason: 'AuthenticationFailed' });
  });

  it('says when the image does not exist or the registry cannot be reached', async () => {
    const client = createRegistryClient({ requestTimeoutMs: 2000 });
    await expect(
      client.listTags({ image: registries.open!.image('no/such'), insecure: true }),
    ).rejects.toThrow(
      /image 127\.0\.0\.1:\d+\/no\/such was not found in registry 127\.0\.0\.1:\d+ \(HTTP 404\)/,
    );
    const closed = await freePort();
    await expect(client.listTags({ image: `127.0.0.1:${closed}/x/y`, insecure: true })).rejects.toThrow(
      new RegExp(`registry 127\\.0\\.0\\.1:${closed} could not be reached: ECONNREFUSED`),
    );
  });
});
