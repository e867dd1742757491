// Decryption keys (age identities, OpenPGP private keys) and how a file's data key is recovered with them.
import { armor, Decrypter, identityToRecipient } from 'age-encryption';
import * as openpgp from 'openpgp';
import type { KeyGroup, SopsMetadata } from './metadata.ts';
import { combineShares } from './shamir.ts';

/** The keys one render may decrypt with. Never printed: only recipients and fingerprints are. */
export interface Keyring {
  age: Array<{ identity: string; recipient: string }>;
  pgp: Array<{ key: openpgp.PrivateKey; fingerprints: string[] }>;
  /** Where the keys came from, for messages (`secret apps/sops-keys`, `--decryption-key k.txt`). */
  origin: string;
}

export class KeyError extends Error {}

export function emptyKeyring(origin: string): Keyring {
  return { age: [], pgp: [], origin };
}

/** Adds the age identities of a key file (`AGE-SECRET-KEY-1…` lines; `#` comments and blank lines skipped). */
export async function addAgeKeys(ring: Keyring, text: string, source: string): Promise<void> {
  let line = 0;
  for (const raw of text.split(/\r?\n/)) {
    line++;
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) continue;
    if (!/^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(s))
      throw new KeyError(`${source}: line ${line} is not an age identity (AGE-SECRET-KEY-1…)`);
    let recipient: string;
    try {
      recipient = await identityToRecipient(s);
    } catch {
      throw new KeyError(`${source}: line ${line} is not a valid age identity`);
    }
    ring.age.push({ identity: s, recipient });
  }
}

/** Adds the OpenPGP private keys of an armoured `.asc` file (keys without a passphrase). */
export async function addPgpKeys(ring: Keyring, text: string, source: string): Promise<void> {
  let keys: openpgp.PrivateKey[];
  try {
    keys = await openpgp.readPrivateKeys({ armoredKeys: text });
  } catch {
    throw new KeyError(`${source}: not an armoured OpenPGP private key`);
  }
  for (const key of keys) {
    if (!key.isDecrypted())
      throw new KeyError(
        `${source}: the key ${fingerprint(key)} is protected by a passphrase; export it without one`,
      );
    const fingerprints = [fingerprint(key), ...key.getSubkeys().map((s) => s.getFingerprint().toUpperCase())];
    ring.pgp.push({ key, fingerprints });
  }
}

function fingerprint(key: openpgp.PrivateKey): string {
  return key.getFingerprint().toUpperCase();
}

/**
 * The keys of a `spec.decryption.secretRef` Secret, as Flux reads it: entries ending `.agekey`
 * (age identities) and `.asc` (OpenPGP private keys); other entries are ignored.
 */
export async function keyringFromSecret(data: Record<string, Buffer>, where: string): Promise<Keyring> {
  const ring = emptyKeyring(`secret ${where}`);
  const names = Object.keys(data).sort();
  for (const name of names) {
    if (name.endsWith('.agekey'))
      await addAgeKeys(ring, data[name]!.toString('utf8'), `secret ${where} key ${name}`);
    else if (name.endsWith('.asc'))
      await addPgpKeys(ring, data[name]!.toString('utf8'), `secret ${where} key ${name}`);
  }
  if (ring.age.length === 0 && ring.pgp.length === 0)
    throw new KeyError(
      `secret ${where} holds no key: name its entries *.agekey (age identities) or *.asc (OpenPGP private keys)`,
    );
  return ring;
}

/** What the keyring can decrypt for, for messages: `age1…, PGP 0123…`. */
export function describeKeyring(ring: Keyring): string {
  const names = [...ring.age.map((a) => a.recipient), ...ring.pgp.map((p) => `PGP ${p.fingerprints[0]}`)];
  return names.length ? names.join(', ') : 'no keys';
}

/**
 * sops's GetDataKeyWithKeyServices: each group's key is tried in order until one decrypts; one
 * group gives the data key, several give Shamir shares of it. Errors name the recipients the file
 * was encrypted for and the keys at hand, never a key.
 */
export async function recoverDataKey(meta: SopsMetadata, ring: Keyring): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const group of meta.groups) {
    const part = await decryptGroup(group, ring);
    if (part) parts.push(part);
  }
  if (meta.groups.length > 1) {
    const threshold = meta.shamirThreshold || meta.groups.length;
    if (parts.length >= threshold) return combineShares(parts);
  } else if (parts.length === 1) {
    return parts[0]!;
  }
  const usable = meta.groups.some((g) => g.age.length > 0 || g.pgp.length > 0);
  if (!usable) {
    const kinds = [...new Set(meta.groups.flatMap((g) => g.other))];
    throw new KeyError(
      `key type not supported: encrypted only for ${kinds.join(', ') || 'no key at all'}; Converge decrypts with age and OpenPGP keys`,
    );
  }
  const recipients = [
    ...meta.groups.flatMap((g) => g.age.map((a) => a.recipient)),
    ...meta.groups.flatMap((g) => g.pgp.map((p) => `PGP ${p.fp.toUpperCase()}`)),
  ];
  const groups =
    meta.groups.length > 1
      ? ` (${parts.length} of the ${meta.shamirThreshold || meta.groups.length} key groups needed)`
      : '';
  throw new KeyError(
    `no key matches${groups}: the file is encrypted for ${recipients.join(', ')}; ${ring.origin} holds ${describeKeyring(ring)}`,
  );
}

async function decryptGroup(group: KeyGroup, ring: Keyring): Promise<Buffer | undefined> {
  for (const stanza of group.age) {
    const mine = ring.age.filter((a) => a.recipient === stanza.recipient);
    // The recipient line is not authenticated: every identity gets a try if none is named.
    for (const { identity } of mine.length ? mine : ring.age) {
      const key = await ageDecrypt(stanza.enc, identity);
      if (key) return key;
    }
  }
  for (const stanza of group.pgp) {
    const fp = stanza.fp.toUpperCase();
    const mine = ring.pgp.filter((p) => p.fingerprints.some((f) => f === fp || f.endsWith(fp)));
    for (const { key } of mine.length ? mine : ring.pgp) {
      const out = await pgpDecrypt(stanza.enc, key);
      if (out) return out;
    }
  }
  return undefined;
}

async function ageDecrypt(enc: string, identity: string): Promise<Buffer | undefined> {
  try {
    const d = new Decrypter();
    d.addIdentity(identity);
    const file = enc.includes('-----BEGIN AGE ENCRYPTED FILE-----')
      ? armor.decode(enc)
      : Buffer.from(enc, 'utf8');
    return Buffer.from(await d.decrypt(file));
  } catch {
    return undefined;
  }
}

async function pgpDecrypt(enc: string, key: openpgp.PrivateKey): Promise<Buffer | undefined> {
  try {
    const message = await openpgp.readMessage({ armoredMessage: enc });
    const { data } = await openpgp.decrypt({ message, decryptionKeys: key, format: 'binary' });
    return Buffer.from(data as Uint8Array);
  } catch {
    return undefined;
  }
}
