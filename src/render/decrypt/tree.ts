// The SOPS tree as sops walks it: ordered branches, per-value AES-256-GCM with the path as additional data, and the MAC.
import { createDecipheriv, createHash } from 'node:crypto';

/** A mapping in file order (JS objects would move integer-like keys first and break the MAC's order). */
export class Branch {
  constructor(readonly items: Array<[string, TreeValue]> = []) {}
  get(key: string): TreeValue | undefined {
    return this.items.find(([k]) => k === key)?.[1];
  }
}

/** A value of the tree; `Float` keeps a float's type where its number reads as an integer (1.0). */
export type TreeValue = string | number | bigint | boolean | null | Float | Bytes | Branch | TreeValue[];

/** A float64 value: written by Go's FormatFloat(f, 'f', -1), even when it is whole. */
export class Float {
  constructor(readonly value: number) {}
}

/** A `type:bytes` plaintext. */
export class Bytes {
  constructor(readonly value: Buffer) {}
}

/** What decides which values sops encrypted (sops.Metadata's crypt rules). */
export interface CryptRules {
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: string;
  encryptedRegex?: string;
  macOnlyEncrypted?: boolean;
}

/** sops.MACOnlyEncryptedInitialization: the MAC of a mac_only_encrypted file starts with these bytes. */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from([
  0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97,
  0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
]);

/** A value that failed to decrypt, with the path of keys that leads to it (never the value). */
export class ValueError extends Error {
  constructor(
    readonly path: string[],
    message: string,
  ) {
    super(message);
  }
}

/** sops's Tree.shouldBeEncrypted without the comment rules (refused when the metadata sets them). */
export function shouldBeEncrypted(path: readonly string[], rules: CryptRules): boolean {
  let encrypted = true;
  if (rules.unencryptedSuffix && path.some((p) => p.endsWith(rules.unencryptedSuffix!))) encrypted = false;
  if (rules.encryptedSuffix) encrypted = path.some((p) => p.endsWith(rules.encryptedSuffix!));
  // Go's regexp.Match is an unanchored search, as RegExp.test is.
  if (rules.unencryptedRegex && path.some((p) => new RegExp(rules.unencryptedRegex!, 'u').test(p)))
    encrypted = false;
  if (rules.encryptedRegex) encrypted = path.some((p) => new RegExp(rules.encryptedRegex!, 'u').test(p));
  return encrypted;
}

/**
 * sops's Tree.Decrypt: every value the rules say is encrypted is decrypted with `key` (the path
 * joined with `:` plus a trailing `:` is the GCM additional data), and the MAC is computed over the
 * plaintext values in file order (only the encrypted ones with mac_only_encrypted). Returns the new
 * branches and the MAC as sops writes it (upper-case hex SHA-512).
 */
export function decryptTree(
  branches: readonly Branch[],
  rules: CryptRules,
  key: Buffer,
): { branches: Branch[]; mac: string; plaintexts: Set<string> } {
  const hash = createHash('sha512');
  const plaintexts = new Set<string>();
  if (rules.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const leaf = (value: TreeValue, path: string[]): TreeValue => {
    const encrypted = shouldBeEncrypted(path, rules);
    let out = value;
    if (encrypted) {
      if (typeof value !== 'string') throw new ValueError(path, 'an encrypted value is not a string');
      out = decryptValue(value, key, path.join(':') + ':', path);
      if (out !== null && !(out instanceof Branch) && !Array.isArray(out))
        plaintexts.add(toBytes(out).toString('utf8'));
    }
    if (!rules.macOnlyEncrypted || encrypted) hash.update(toBytes(out));
    return out;
  };
  const walkValue = (value: TreeValue, path: string[]): TreeValue => {
    if (value instanceof Branch) return walkBranch(value, path);
    // A list's items share their list's path, as in sops's walkSlice.
    if (Array.isArray(value)) return value.map((item) => walkValue(item, path));
    if (value === null) return null;
    return leaf(value, path);
  };
  const walkBranch = (branch: Branch, path: string[]): Branch =>
    new Branch(branch.items.map(([k, v]) => [k, walkValue(v, [...path, k])]));
  const out = branches.map((b) => walkBranch(b, []));
  return { branches: out, mac: hash.digest('hex').toUpperCase(), plaintexts };
}

const ENC = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/s;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether a string is a sops-encrypted value. */
export function isEncryptedValue(value: unknown): boolean {
  return typeof value === 'string' && ENC.test(value);
}

/** sops's aes.Cipher.Decrypt: one `ENC[AES256_GCM,…]` value to its typed plaintext. */
export function decryptValue(
  text: string,
  key: Buffer,
  additionalData: string,
  path: string[] = [],
): TreeValue {
  if (text === '') return '';
  const m = ENC.exec(text);
  if (!m) throw new ValueError(path, 'a value that should be encrypted is not in sops format');
  const [data, iv, tag] = [m[1]!, m[2]!, m[3]!].map((b64) => {
    if (!BASE64.test(b64) || b64.length % 4 !== 0)
      throw new ValueError(path, 'an encrypted value is not valid base64');
    return Buffer.from(b64, 'base64');
  }) as [Buffer, Buffer, Buffer];
  const type = m[4]!;
  let plain: Buffer;
  try {
    if (iv.length === 0 || tag.length !== 16) throw new Error('bad iv or tag');
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(additionalData, 'utf8'));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    // The tag binds the value to its path and the data key: a moved, swapped or edited value lands here.
    throw new ValueError(
      path,
      'a value does not authenticate (edited, moved to another key, or from another file)',
    );
  }
  const s = plain.toString('utf8');
  switch (type) {
    case 'str':
      // Go strings are bytes: a binary file's data is not UTF-8, and the MAC needs it as it was.
      return Buffer.byteLength(s) === plain.length && Buffer.from(s, 'utf8').equals(plain)
        ? s
        : new Bytes(plain);
    case 'int': {
      if (!/^[+-]?[0-9]+$/.test(s)) throw new ValueError(path, 'an int value is not an integer');
      return toInteger(BigInt(s));
    }
    case 'float': {
      const f = parseGoFloat(s);
      if (f === undefined) throw new ValueError(path, 'a float value is not a number');
      return new Float(f);
    }
    case 'bool': {
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
      throw new ValueError(path, 'a bool value is not a boolean');
    }
    case 'bytes':
      return new Bytes(plain);
    case 'time':
      return s;
    case 'comment':
      // Comments are not part of the tree this module builds; a value of this type is out of place.
      throw new ValueError(path, 'a comment stands where a value should be');
    default:
      throw new ValueError(path, `unknown value type "${type}"`);
  }
}

/** A safe integer as a number, a larger one as a bigint (so it keeps every digit). */
export function toInteger(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function parseGoFloat(s: string): number | undefined {
  const t = s.replace(/^\+/, '');
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t.replaceAll('_', ''))) return undefined;
  return Number(t.replaceAll('_', ''));
}

/** sops.ToBytes: the bytes a value adds to the MAC. */
export function toBytes(value: TreeValue): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (typeof value === 'bigint') return Buffer.from(value.toString());
  if (typeof value === 'number')
    return Buffer.from(Number.isInteger(value) ? String(value) : formatFloat(value));
  if (value instanceof Float) return Buffer.from(formatFloat(value.value));
  if (typeof value === 'boolean') return Buffer.from(value ? 'True' : 'False');
  if (value instanceof Bytes) return value.value;
  throw new Error('only leaves have bytes');
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest digits that read back, never an exponent. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (Object.is(f, -0)) return '-0';
  const s = String(f);
  const m = /^(-?)([0-9])(?:\.([0-9]+))?e([+-][0-9]+)$/.exec(s);
  if (!m) return s;
  const [, sign, head, tail = '', exp] = m;
  const digits = head! + tail;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A decrypted tree as plain JSON-like values (mappings as objects), e.g. for a Kubernetes object. */
export function toPlain(value: TreeValue): unknown {
  if (value instanceof Branch) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value.items) out[k] = toPlain(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Float) return value.value;
  if (value instanceof Bytes) return value.value.toString('utf8');
  if (typeof value === 'bigint') return Number(value);
  return value;
}
