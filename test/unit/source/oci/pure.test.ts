// The pure parts of the OCI source: URLs, challenges, Secrets, Link pages, layer choice, cosign payloads.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { nextLink } from '../../../../src/source/oci/client.ts';
import {
  chooseLayer,
  keysFromSecret,
  parseChallenge,
  parseOciUrl,
  payloadDigest,
  registryCredentialsFromSecret,
  signatureTag,
  verifySignatures,
} from '../../../../src/source/oci/index.ts';

const D = `sha256:${'a'.repeat(64)}`;
const E = `sha256:${'b'.repeat(64)}`;

describe('parseOciUrl', () => {
  it.each([
    ['oci://ghcr.io/org/fleet', { registry: 'ghcr.io', repository: 'org/fleet' }],
    ['oci://127.0.0.1:5000/a/b/c/', { registry: '127.0.0.1:5000', repository: 'a/b/c' }],
    ['oci://Registry.Example.com/x', { registry: 'registry.example.com', repository: 'x' }],
  ])('%s', (url, want) => expect(parseOciUrl(url)).toEqual(want));

  it.each([
    ['oci://ghcr.io', /names no repository/],
    ['oci://ghcr.io/org/fleet:v1', /carries a tag or digest; give it in spec.ref/],
    ['oci://ghcr.io/org/fleet@sha256:abc', /carries a tag or digest/],
    ['oci://ghcr.io/Org/Fleet', /is not a repository name/],
    ['oci://ghcr.io/../x', /is not a repository name/],
    ['https://ghcr.io/x', /is not an oci:\/\/ URL/],
  ])('refuses %s', (url, why) => {
    expect(() => parseOciUrl(url)).toThrow(why);
  });
});

describe('parseChallenge', () => {
  it('reads a bearer challenge with quoted commas', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:a/b:pull,push',
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      realm: 'Registry Realm',
    });
    expect(parseChallenge('Negotiate')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe('registryCredentialsFromSecret', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('picks the entry of the host from a .dockerconfigjson, docker.io spelled any way', () => {
    const cfg = JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
        'ghcr.io': { username: 'gh', password: 'tok' },
        'acr.example.io': { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'refresh' },
      },
    });
    const data = { '.dockerconfigjson': cfg };
    expect(registryCredentialsFromSecret(data, 'docker.io', 's')).toEqual({
      kind: 'basic',
      username: 'hub',
      password: 'pw:with:colons',
    });
    expect(registryCredentialsFromSecret(data, 'registry-1.docker.io', 's')).toMatchObject({
      username: 'hub',
    });
    expect(registryCredentialsFromSecret(data, 'ghcr.io', 's')).toEqual({
      kind: 'basic',
      username: 'gh',
      password: 'tok',
    });
    expect(registryCredentialsFromSecret(data, 'acr.example.io', 's')).toMatchObject({
      kind: 'identity',
      token: 'refresh',
    });
    expect(registryCredentialsFromSecret(data, 'quay.io', 's')).toBeUndefined();
  });
  it('reads username+password and bearerToken, and names the Secret on bad input (never the value)', () => {
    expect(registryCredentialsFromSecret({ username: 'u', password: 'p' }, 'h', 's')).toEqual({
      kind: 'basic',
      username: 'u',
      password: 'p',
    });
    expect(registryCredentialsFromSecret({ bearerToken: 't\n' }, 'h', 's')).toEqual({
      kind: 'bearer',
      token: 't',
    });
    expect(() => registryCredentialsFromSecret({ '.dockerconfigjson': '{secret-ish' }, 'h', 'pull')).toThrow(
      /Secret pull: .dockerconfigjson is not JSON/,
    );
    expect(() => registryCredentialsFromSecret({ other: 'x' }, 'h', 'pull')).toThrow(
      /Secret pull has none of/,
    );
  });
});

describe('nextLink', () => {
  it('follows rel="next" on the same registry', () => {
    expect(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"', '/v2/a/tags/list?n=2')).toBe(
      '/v2/a/tags/list?last=b&n=2',
    );
    expect(nextLink('<https://evil.example/v2/a/tags/list?last=c>; rel="next"', '/v2/a/tags/list')).toBe(
      '/v2/a/tags/list?last=c',
    );
    expect(nextLink('</v2/a/tags/list?last=b>; rel="prev"', '/v2/a/tags/list')).toBeUndefined();
    expect(nextLink(null, '/x')).toBeUndefined();
  });
});

describe('chooseLayer', () => {
  const layer = (mediaType: string, extra = {}) => ({ mediaType, digest: D, size: 1, ...extra });
  it('prefers Flux content, then a single tar+gzip; copy takes the title annotation', () => {
    expect(
      chooseLayer(
        { layers: [layer('text/plain'), layer('application/vnd.cncf.flux.content.v1.tar+gzip')] },
        'x',
      ).layer.mediaType,
    ).toBe('application/vnd.cncf.flux.content.v1.tar+gzip');
    expect(
      chooseLayer({ layers: [layer('application/vnd.oci.image.layer.v1.tar+gzip')] }, 'x').operation,
    ).toBe('extract');
    const copy = chooseLayer(
      {
        layers: [
          layer('application/yaml', { annotations: { 'org.opencontainers.image.title': 'all.yaml' } }),
        ],
      },
      'x',
      { mediaType: 'application/yaml', operation: 'copy' },
    );
    expect(copy).toMatchObject({ operation: 'copy', fileName: 'all.yaml' });
    const unsafe = chooseLayer(
      {
        layers: [layer('application/yaml', { annotations: { 'org.opencontainers.image.title': '../../x' } })],
      },
      'x',
      { mediaType: 'application/yaml', operation: 'copy' },
    );
    expect(unsafe.fileName).toBe(`sha256-${'a'.repeat(64)}`);
  });
  it('refuses an index, no layers, and an ambiguous artifact with what it found', () => {
    expect(() =>
      chooseLayer({ mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }, 'r'),
    ).toThrow(/is an image index/);
    expect(() => chooseLayer({ layers: [] }, 'r')).toThrow(/no layers/);
    expect(() => chooseLayer({ layers: [layer('a/b'), layer('c/d')] }, 'r')).toThrow(
      /2 layers: a\/b, c\/d.*layerSelector/,
    );
    expect(() => chooseLayer({ layers: [layer('a/b')] }, 'r', { mediaType: 'x/y' })).toThrow(
      /no layer of media type x\/y/,
    );
  });
});

describe('cosign', () => {
  const payload = (digest: string) =>
    Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': 'r/x' },
          image: { 'docker-manifest-digest': digest },
          type: 'cosign container image signature',
        },
        optional: null,
      }),
    );
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (k: import('node:crypto').KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
  const layerFor = (digest: string, signWith: import('node:crypto').KeyObject, ed25519 = false) => {
    const p = payload(digest);
    const sig = sign(ed25519 ? null : 'sha256', p, signWith).toString('base64');
    return {
      descriptor: {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        digest: E,
        size: p.length,
        annotations: { 'dev.cosignproject.cosign/signature': sig },
      },
      payload: p,
    };
  };

  it('verifies with any matching key, ECDSA P-256 or Ed25519, and says which', () => {
    const keys = keysFromSecret(
      {
        'a-other.pub': pem(other.publicKey),
        'b-ec.pub': pem(ec.publicKey),
        'c-ed.pub': pem(ed.publicKey),
        'x.txt': 'ignored',
      },
      's',
    );
    expect(keys.map((k) => k.name)).toEqual(['a-other.pub', 'b-ec.pub', 'c-ed.pub']);
    expect(verifySignatures(D, [layerFor(D, ec.privateKey)], keys, 'r').name).toBe('b-ec.pub');
    expect(verifySignatures(D, [layerFor(D, ed.privateKey, true)], keys, 'r').name).toBe('c-ed.pub');
  });

  it('fails for another digest, a wrong key, or no signature', () => {
    const keys = keysFromSecret({ 'cosign.pub': pem(ec.publicKey) }, 's');
    const fail = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ConvergeError);
        expect((err as ConvergeError).reason).toBe('VerificationFailed');
        return (err as ConvergeError).message;
      }
      throw new Error('verified');
    };
    expect(fail(() => verifySignatures(D, [layerFor(E, ec.privateKey)], keys, 'r'))).toMatch(
      /found a signature for sha256:bbbbbbbbbbbb/,
    );
    expect(fail(() => verifySignatures(D, [layerFor(D, other.privateKey)], keys, 'r'))).toMatch(
      /not verified with cosign.pub \(found a signature that none of the keys verifies\)/,
    );
    expect(fail(() => verifySignatures(D, [], keys, 'r'))).toMatch(/no cosign signature found/);
  });

  it('refuses keys cosign does not make, and a Secret without *.pub', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => keysFromSecret({ 'k.pub': pem(rsa.publicKey) }, 's')).toThrow(/k.pub is a rsa key/);
    expect(() => keysFromSecret({ 'k.pub': pem(p384.publicKey) }, 's')).toThrow(/secp384r1/);
    expect(() => keysFromSecret({ 'k.pub': 'not pem' }, 's')).toThrow(/k.pub is not a PEM public key/);
    expect(() => keysFromSecret({ 'cosign.key': 'x' }, 'sigs')).toThrow(/Secret sigs has no \*.pub key/);
  });

  it('reads the digest of a simple-signing payload only', () => {
    expect(payloadDigest(payload(D))).toBe(D);
    expect(
      payloadDigest(Buffer.from('{"critical":{"type":"other","image":{"docker-manifest-digest":"x"}}}')),
    ).toBeUndefined();
    expect(signatureTag(D)).toBe(`sha256-${'a'.repeat(64)}.sig`);
  });
});
