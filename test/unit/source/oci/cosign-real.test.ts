// Signatures made by the real cosign (keyed, offline) against a real registry, checked by the OCI
// source: signed verifies (and cosign's own verify agrees), unsigned, wrong key and a signature moved
// to another digest are VerificationFailed, and nothing is unpacked for them.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { createOciSource, keysFromSecret, type OciSource } from '../../../../src/source/oci/index.ts';
import { cosignVerify, generateKeyPair, signArtifact } from '../../../support/cosign.ts';
import {
  FLUX_CONTENT,
  pushArtifact,
  pushManifest,
  startRegistry,
  tarGz,
  type Registry,
} from '../../../support/registry.ts';

let reg: Registry;
let work: string;
let source: OciSource;
let keys: { key: string; pub: string };
let other: { key: string; pub: string };

beforeAll(async () => {
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'converge-cosign-'));
  await Promise.all([rm(join(work, 'a'), { force: true })]);
  const [a, b] = [join(work, 'keys-a'), join(work, 'keys-b')];
  await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(a), fs.mkdir(b)]));
  [keys, other] = await Promise.all([generateKeyPair(a), generateKeyPair(b)]);
  source = createOciSource({ workDir: join(work, 'cache'), logger: pino({ level: 'silent' }) });
}, 900_000);
afterAll(async () => {
  await reg?.close();
  await rm(work, { recursive: true, force: true });
});

const push = (repo: string, tag: string, text: string) =>
  pushArtifact(reg, repo, tag, {
    layers: [{ mediaType: FLUX_CONTENT, data: tarGz([{ name: 'cm.yaml', data: text }]) }],
  });

async function verifyKeys(...pubs: string[]) {
  const data: Record<string, Buffer> = {};
  for (const [i, p] of pubs.entries()) data[i === 0 ? 'cosign.pub' : `extra-${i}.pub`] = await readFile(p);
  return keysFromSecret(data, 'cosign-pub');
}

async function failure(p: Promise<unknown>): Promise<ConvergeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConvergeError);
  return err as ConvergeError;
}

// cosign is a separate process per signature: seconds each on a loaded 2-core machine.
describe('cosign signatures', { timeout: 60_000 }, () => {
  it('a signed artifact verifies with the right key (any key may match), as cosign verify agrees', async () => {
    const digest = await push('signed/app', 'v1', 'a: 1\n');
    await signArtifact(reg, 'signed/app', digest, keys.key);
    expect(await cosignVerify(reg, 'signed/app', digest, keys.pub)).toBe(true);
    const fetched = await source.fetchRevision({
      key: 'signed',
      url: `oci://${reg.host}/signed/app`,
      ref: { tag: 'v1' },
      insecure: true,
      verify: { keys: await verifyKeys(other.pub, keys.pub) },
      timeoutMs: 20_000,
    });
    expect(fetched.verifiedBy).toBe('extra-1.pub');
    expect(await readdir(fetched.dir)).toEqual(['cm.yaml']);
    fetched.release();
  });

  it('unsigned, signed with another key, or a signature copied to another digest: VerificationFailed, nothing unpacked', async () => {
    const unsigned = await push('signed/bad', 'unsigned', 'b: 1\n');
    const wrongKey = await push('signed/bad', 'wrong-key', 'b: 2\n');
    await signArtifact(reg, 'signed/bad', wrongKey, other.key);
    const moved = await push('signed/bad', 'moved', 'b: 3\n');
    // The valid signature of `wrongKey`'s sibling, pushed as the signature of `moved`.
    const donor = await push('signed/bad', 'donor', 'b: 4\n');
    await signArtifact(reg, 'signed/bad', donor, keys.key);
    const sig = await fetch(`${reg.base}/v2/signed/bad/manifests/${donor.replace(':', '-')}.sig`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    }).then((r) => r.json() as Promise<object>);
    await pushManifest(reg, 'signed/bad', `${moved.replace(':', '-')}.sig`, sig);

    const verify = { keys: await verifyKeys(keys.pub) };
    const cases: Array<[string, string, RegExp]> = [
      ['unsigned', unsigned, /no cosign signature \(tag sha256-[0-9a-f]{64}\.sig not found\)/],
      [
        'wrong-key',
        wrongKey,
        /not verified with cosign\.pub \(found a signature that none of the keys verifies\)/,
      ],
      ['moved', moved, /found a signature for sha256:[0-9a-f]{12}/],
    ];
    for (const [tag, digest, why] of cases) {
      const req = {
        key: `bad-${tag}`,
        url: `oci://${reg.host}/signed/bad`,
        ref: { tag },
        insecure: true,
        verify,
        timeoutMs: 20_000,
      };
      const err = await failure(source.fetchRevision(req));
      expect(err.reason).toBe('VerificationFailed');
      expect(err.message).toMatch(why);
      expect(err.rejectedRevision).toEqual({ revision: `${tag}@${digest}`, commit: digest });
      expect(await readdir(join(work, 'cache', req.key)).catch(() => [])).toEqual([]);
    }
    expect(await cosignVerify(reg, 'signed/bad', moved, keys.pub)).toBe(false);
  });
});
