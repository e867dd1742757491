// The `sops` metadata of a file: key groups (age, PGP, and the cloud kinds only named), crypt rules, MAC and date.
import { Branch, Bytes, Float, type CryptRules, type TreeValue } from './tree.ts';

export interface AgeStanza {
  recipient: string;
  enc: string;
}
export interface PgpStanza {
  fp: string;
  enc: string;
}

/** One key group: the data key (or, with several groups, a Shamir share) encrypted for each key. */
export interface KeyGroup {
  age: AgeStanza[];
  pgp: PgpStanza[];
  /** Keys Converge cannot use, by kind: `aws kms`, `gcp kms`, `azure key vault`, `hc vault`, `hckms`. */
  other: string[];
}

export interface SopsMetadata extends CryptRules {
  groups: KeyGroup[];
  shamirThreshold: number;
  mac: string;
  /** The lastmodified date as Go's time.Format(time.RFC3339) writes it back: the MAC's additional data. */
  lastModified: string;
  commentRules: boolean;
}

export class MetadataError extends Error {}

const OTHER_KINDS: Record<string, string> = {
  kms: 'aws kms',
  gcp_kms: 'gcp kms',
  azure_kv: 'azure key vault',
  hc_vault: 'hc vault',
  hckms: 'hckms',
};

/** Reads the metadata branch (nested, or flattened as dotenv and INI files keep it). */
export function readMetadata(raw: Branch, flat: boolean): SopsMetadata {
  const plain = toGo(flat ? unflatten(raw) : raw) as Record<string, unknown>;
  const str = (k: string): string | undefined => {
    const v = plain[k];
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const lastModified = str('lastmodified');
  if (!lastModified) throw new MetadataError('the sops metadata has no lastmodified date');
  const groups: KeyGroup[] = [];
  if (Array.isArray(plain['key_groups']) && plain['key_groups'].length > 0) {
    for (const g of plain['key_groups']) groups.push(keyGroup(g as Record<string, unknown>));
  } else {
    groups.push(keyGroup(plain));
  }
  const rules: CryptRules = {
    unencryptedSuffix: str('unencrypted_suffix'),
    encryptedSuffix: str('encrypted_suffix'),
    unencryptedRegex: str('unencrypted_regex'),
    encryptedRegex: str('encrypted_regex'),
  };
  const commentRules =
    str('unencrypted_comment_regex') !== undefined || str('encrypted_comment_regex') !== undefined;
  const count = Object.values(rules).filter((v) => v !== undefined).length + (commentRules ? 1 : 0);
  if (count > 1)
    throw new MetadataError(
      'the sops metadata sets more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex',
    );
  // sops.DefaultUnencryptedSuffix when the file names no rule.
  if (count === 0) rules.unencryptedSuffix = '_unencrypted';
  const macOnly = plain['mac_only_encrypted'];
  return {
    ...rules,
    macOnlyEncrypted: macOnly === true || (typeof macOnly === 'string' && /^(1|t|true)$/i.test(macOnly)),
    groups,
    shamirThreshold: Number(str('shamir_threshold') ?? 0),
    mac: str('mac') ?? '',
    lastModified: rfc3339(lastModified),
    commentRules,
  };
}

function keyGroup(g: Record<string, unknown>): KeyGroup {
  const list = (k: string) => (Array.isArray(g[k]) ? (g[k] as Array<Record<string, unknown>>) : []);
  const other: string[] = [];
  for (const [k, kind] of Object.entries(OTHER_KINDS)) if (list(k).length > 0) other.push(kind);
  return {
    age: list('age').map((a) => ({ recipient: String(a['recipient'] ?? ''), enc: String(a['enc'] ?? '') })),
    pgp: list('pgp').map((p) => ({ fp: String(p['fp'] ?? ''), enc: String(p['enc'] ?? '') })),
    other,
  };
}

/** time.Parse(time.RFC3339, s).Format(time.RFC3339): fractional seconds go, a zero offset is written Z. */
function rfc3339(s: string): string {
  const m =
    /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})$/i.exec(s);
  if (!m) throw new MetadataError(`the sops lastmodified date "${s.slice(0, 40)}" is not RFC 3339`);
  const zone = /^[-+]00:00$/.test(m[3]!) ? 'Z' : m[3]!.toUpperCase();
  return `${m[1]!.toUpperCase()}${zone}`;
}

function toGo(v: TreeValue): unknown {
  if (v instanceof Branch) return Object.fromEntries(v.items.map(([k, x]) => [k, toGo(x)]));
  if (Array.isArray(v)) return v.map(toGo);
  if (v instanceof Float) return v.value;
  if (v instanceof Bytes) return v.value.toString('utf8');
  return v;
}

/** sops's unflattenTreeBranch: `age__list_0__map_enc` → {age: [{enc}]}. */
function unflatten(flat: Branch): Branch {
  interface Node {
    value?: TreeValue;
    keys?: Map<string, Node>;
    indices?: Map<number, Node>;
  }
  const root: Node = {};
  for (const [path, value] of flat.items) {
    let node = root;
    for (const token of tokenize(path)) {
      if (typeof token === 'string') {
        node.keys ??= new Map();
        if (!node.keys.has(token)) node.keys.set(token, {});
        node = node.keys.get(token)!;
      } else {
        node.indices ??= new Map();
        if (!node.indices.has(token)) node.indices.set(token, {});
        node = node.indices.get(token)!;
      }
    }
    if (node.value !== undefined) throw new MetadataError(`the sops metadata has ${path} twice`);
    node.value = value;
  }
  const convert = (node: Node): TreeValue => {
    if (node.value !== undefined) return node.value;
    if (node.keys) return new Branch([...node.keys].map(([k, n]) => [k, convert(n)]));
    if (node.indices) return [...node.indices].sort(([a], [b]) => a - b).map(([, n]) => convert(n));
    return new Branch();
  };
  return convert(root) as Branch;
}

function tokenize(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  const re = /__(map|list)_/g;
  let last = 0;
  let kind: 'map' | 'list' = 'map';
  for (let m = re.exec(path); m; m = re.exec(path)) {
    const part = path.slice(last, m.index);
    out.push(kind === 'list' ? Number(part) : part);
    kind = m[1] as 'map' | 'list';
    last = m.index + m[0].length;
  }
  const part = path.slice(last);
  out.push(kind === 'list' ? Number(part) : part);
  return out;
}
