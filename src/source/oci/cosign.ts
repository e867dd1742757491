// Keyed cosign verification (pure once the signature manifest and payloads are fetched): a layer of the
// `sha256-<digest>.sig` artifact whose simple-signing payload names this digest and whose
// dev.cosignproject.cosign/signature annotation verifies with one of the given public keys.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { ConvergeError } from '../../api/index.ts';
import type { Descriptor } from './client.ts';
import { shortDigest } from './reference.ts';

export const SIMPLE_SIGNING_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface VerificationKey {
  /** The Secret key it came from (cosign.pub), named in status. */
  name: string;
  key: KeyObject;
}

/** `*.pub` keys of a Secret: PEM public keys, ECDSA P-256 or Ed25519 (others refused by name). */
export function keysFromSecret(data: Record<string, Buffer | string>, secretName: string): VerificationKey[] {
  const keys: VerificationKey[] = [];
  for (const [name, value] of Object.entries(data).sort(([a], [b]) => a.localeCompare(b))) {
    if (!name.endsWith('.pub')) continue;
    let key: KeyObject;
    try {
      key = createPublicKey(Buffer.isBuffer(value) ? value : Buffer.from(value));
    } catch {
      throw new ConvergeError('InvalidSpec', `Secret ${secretName}: ${name} is not a PEM public key`);
    }
    const type = key.asymmetricKeyType;
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (!(type === 'ed25519' || (type === 'ec' && curve === 'prime256v1'))) {
      throw new ConvergeError(
        'InvalidSpec',
        `Secret ${secretName}: ${name} is a ${type}${curve ? ` ${curve}` : ''} key; cosign keys must be ECDSA P-256 or Ed25519`,
      );
    }
    keys.push({ name, key });
  }
  if (keys.length === 0) {
    throw new ConvergeError('InvalidSpec', `Secret ${secretName} has no *.pub key for cosign verification`);
  }
  return keys;
}

export interface SignatureLayer {
  descriptor: Descriptor;
  payload: Buffer;
}

/** The key that verified, or a VerificationFailed saying why none did. */
export function verifySignatures(
  digest: string,
  layers: SignatureLayer[],
  keys: VerificationKey[],
  where: string,
): VerificationKey {
  const problems: string[] = [];
  for (const { descriptor, payload } of layers) {
    const sig = descriptor.annotations?.[SIGNATURE_ANNOTATION];
    if (descriptor.mediaType !== SIMPLE_SIGNING_TYPE || !sig) continue;
    const named = payloadDigest(payload);
    if (named !== digest) {
      problems.push(
        named ? `a signature for ${shortDigest(named)}` : 'a payload that is not cosign simple signing',
      );
      continue;
    }
    const signature = Buffer.from(sig, 'base64');
    for (const k of keys) {
      const ok =
        k.key.asymmetricKeyType === 'ed25519'
          ? verify(null, payload, k.key, signature)
          : verify('sha256', payload, k.key, signature);
      if (ok) return k;
    }
    problems.push('a signature that none of the keys verifies');
  }
  throw new ConvergeError(
    'VerificationFailed',
    problems.length === 0
      ? `${where}@${shortDigest(digest)}: no cosign signature found`
      : `${where}@${shortDigest(digest)}: not verified with ${keys.map((k) => k.name).join(', ')} (found ${[...new Set(problems)].join('; ')})`,
  );
}

/** critical.image.docker-manifest-digest of a simple-signing payload; undefined if not one. */
export function payloadDigest(payload: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as {
      critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } };
    };
    const digest = parsed.critical?.image?.['docker-manifest-digest'];
    if (parsed.critical?.type !== 'cosign container image signature' || typeof digest !== 'string')
      return undefined;
    return digest;
  } catch {
    return undefined;
  }
}
