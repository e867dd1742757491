// sops's stores: YAML, JSON, dotenv, INI and binary files to ordered trees (and back to plaintext files), as sops reads them.
import * as YAML from 'yaml';
import { Branch, Bytes, Float, formatFloat, toInteger, type TreeValue } from './tree.ts';

export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

/** sops's formats.FormatForPath: by extension, binary for anything else. */
export function formatForPath(file: string): SopsFormat {
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  if (/\.json$/i.test(file)) return 'json';
  if (/\.env$/i.test(file)) return 'dotenv';
  if (/\.ini$/i.test(file)) return 'ini';
  return 'binary';
}

/** Bytes that show a file of that format is SOPS-encrypted (Flux's sopsFormatToMarkerBytes). */
const MARKERS: Record<SopsFormat, string> = {
  binary: '"mac": "ENC[',
  json: '"mac": "ENC[',
  dotenv: 'sops_mac=ENC[',
  ini: '[sops]',
  yaml: 'mac: ENC[',
};

export function hasSopsMarker(text: string, format: SopsFormat): boolean {
  return text.includes(MARKERS[format]);
}

/** A file of some format as branches, and the raw metadata it carries (flat for dotenv and INI). */
export interface LoadedFile {
  branches: Branch[];
  metadata: Branch | undefined;
  /** Whether the metadata keys are flattened (`age__list_0__map_enc`) and must be unflattened. */
  flat: boolean;
}

export class FormatError extends Error {}

/** sops's Store.LoadEncryptedFile, without turning the metadata into keys yet. */
export function loadFile(text: string, format: SopsFormat): LoadedFile {
  switch (format) {
    case 'yaml':
      return extractNested(parseYamlBranches(text));
    case 'json':
    case 'binary':
      return extractNested([jsonTopLevel(text)]);
    case 'dotenv':
      return extractFlat(parseDotenv(text), 'sops_');
    case 'ini': {
      const branch = parseIni(text);
      const i = branch.items.findIndex(([k]) => k === 'sops');
      const metadata = i < 0 ? undefined : (branch.items.splice(i, 1)[0]![1] as Branch);
      // INI metadata escapes newlines (the age and PGP armour) as \n.
      if (metadata)
        for (const item of metadata.items)
          if (typeof item[1] === 'string') item[1] = item[1].replaceAll('\\n', '\n');
      return { branches: [branch], metadata, flat: true };
    }
  }
}

/** The `sops` key of the first document is the metadata; it is removed from every document. */
export function extractNested(branches: Branch[]): LoadedFile {
  let metadata: Branch | undefined;
  branches.forEach((b, i) => {
    const at = b.items.findIndex(([k]) => k === 'sops');
    if (at < 0) return;
    const [, value] = b.items.splice(at, 1)[0]!;
    if (i === 0) {
      if (!(value instanceof Branch)) throw new FormatError('the sops entry is not a mapping');
      metadata = value;
    }
  });
  return { branches, metadata, flat: false };
}

function extractFlat(branch: Branch, prefix: string): LoadedFile {
  const metadata = new Branch();
  const rest = new Branch();
  for (const [k, v] of branch.items) {
    if (k.startsWith(prefix)) metadata.items.push([k.slice(prefix.length), v]);
    else rest.items.push([k, v]);
  }
  return { branches: [rest], metadata: metadata.items.length ? metadata : undefined, flat: true };
}

// ---- YAML, as go.yaml.in/yaml/v3 decodes into interface{} ----

export function parseYamlBranches(text: string): Branch[] {
  const docs = YAML.parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: true, merge: false });
  const list = Array.isArray(docs) ? docs : [];
  const out: Branch[] = [];
  for (const doc of list) {
    if (doc.errors.length) throw new FormatError(`invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const root = doc.contents;
    if (
      root === null ||
      (YAML.isScalar(root) && root.value === null) ||
      (YAML.isScalar(root) && root.value === '' && !root.type?.startsWith('QUOTE'))
    ) {
      out.push(new Branch());
      continue;
    }
    const value = yamlNode(root, doc, 0, { nodes: 0 });
    if (!(value instanceof Branch))
      throw new FormatError('YAML documents that are not mappings are not supported by sops');
    out.push(value);
  }
  return out;
}

/** Aliases are copied out as sops does; the count bounds what a billion-laughs document could become. */
const MAX_NODES = 1_000_000;

function yamlNode(node: unknown, doc: YAML.Document, depth: number, seen: { nodes: number }): TreeValue {
  if (depth > 200) throw new FormatError('YAML nested too deeply');
  if (++seen.nodes > MAX_NODES) throw new FormatError(`YAML expands to more than ${MAX_NODES} nodes`);
  if (YAML.isAlias(node)) return yamlNode(node.resolve(doc), doc, depth + 1, seen);
  if (YAML.isMap(node)) {
    const branch = new Branch();
    for (const pair of node.items) {
      const key = yamlNode(pair.key, doc, depth + 1, seen);
      if (key === null || typeof key === 'object') throw new FormatError('a mapping key is not a scalar');
      branch.items.push([String(key), yamlNode(pair.value, doc, depth + 1, seen)]);
    }
    return branch;
  }
  if (YAML.isSeq(node)) return node.items.map((item) => yamlNode(item, doc, depth + 1, seen));
  if (YAML.isScalar(node)) {
    const raw = node.value === null || node.value === undefined ? '' : String(node.value);
    const tag = node.tag?.replace(/^tag:yaml\.org,2002:/, '!!');
    if (tag === '!!str' || tag === '!!binary') return raw;
    if (node.type === 'PLAIN' || tag !== undefined) return resolvePlain(raw);
    return raw;
  }
  if (node === null || node === undefined) return null;
  throw new FormatError('unsupported YAML node');
}

const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const TIMESTAMP =
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?[ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?)?)?$/;
const SPECIAL: Record<string, TreeValue> = {
  '': null,
  '~': null,
  null: null,
  Null: null,
  NULL: null,
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
  '.nan': new Float(NaN),
  '.NaN': new Float(NaN),
  '.NAN': new Float(NaN),
};
for (const inf of ['.inf', '.Inf', '.INF']) {
  SPECIAL[inf] = new Float(Infinity);
  SPECIAL[`+${inf}`] = new Float(Infinity);
  SPECIAL[`-${inf}`] = new Float(-Infinity);
}

/** yaml.v3's resolve for a plain scalar decoded into interface{} (timestamps stay strings). */
export function resolvePlain(s: string): TreeValue {
  if (Object.hasOwn(SPECIAL, s)) return SPECIAL[s]!;
  const first = s[0] ?? '';
  if (first === '.') {
    const f = Number(s);
    return Number.isNaN(f) ? s : new Float(f);
  }
  if (!/[-+0-9]/.test(first)) return s;
  if (TIMESTAMP.test(s)) return s;
  const plain = s.replaceAll('_', '');
  const int = parseGoInt(plain);
  if (int !== undefined) return int;
  if (YAML_FLOAT.test(plain)) return new Float(Number(plain));
  return s;
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** strconv.ParseInt(s, 0, 64), then ParseUint: 0x, 0o, 0b and leading-0 octal prefixes. */
function parseGoInt(s: string): number | bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const [, sign, body] = m as unknown as [string, string, string];
  let n: bigint;
  if (/^0[oO]/.test(body)) n = BigInt(`0o${body.slice(2)}`);
  else if (/^0[0-7]+$/.test(body)) n = BigInt(`0o${body.slice(1)}`);
  else n = BigInt(body);
  if (sign === '-') n = -n;
  if (n < INT64_MIN || n > UINT64_MAX || (sign === '-' && n < INT64_MIN)) return undefined;
  return toInteger(n);
}

// ---- JSON, in key order ----

function jsonTopLevel(text: string): Branch {
  const value = new JsonReader(text).document();
  if (!(value instanceof Branch)) throw new FormatError('the JSON document is not an object');
  return value;
}

/** A small JSON reader that keeps key order and every digit of an integer (encoding/json with Number). */
class JsonReader {
  private i = 0;
  constructor(private readonly s: string) {}

  document(): TreeValue {
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail('trailing characters');
    return v;
  }

  private fail(what: string): never {
    throw new FormatError(`invalid JSON at offset ${this.i}: ${what}`);
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i]!)) this.i++;
  }

  private value(depth: number): TreeValue {
    if (depth > 200) this.fail('nested too deeply');
    this.ws();
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      const branch = new Branch();
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return branch;
      }
      for (;;) {
        this.ws();
        if (this.s[this.i] !== '"') this.fail('expected a key');
        const key = this.string();
        this.ws();
        if (this.s[this.i++] !== ':') this.fail('expected ":"');
        branch.items.push([key, this.value(depth + 1)]);
        this.ws();
        const next = this.s[this.i++];
        if (next === '}') return branch;
        if (next !== ',') this.fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      this.i++;
      const list: TreeValue[] = [];
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return list;
      }
      for (;;) {
        list.push(this.value(depth + 1));
        this.ws();
        const next = this.s[this.i++];
        if (next === ']') return list;
        if (next !== ',') this.fail('expected "," or "]"');
      }
    }
    if (c === '"') return this.string();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail('unexpected character');
    this.i += m[0].length;
    // sops's normalizeJSONNumber: an int64 when it is one, else a float64.
    if (!m[2] && !m[3]) {
      const n = BigInt(m[0]);
      if (n >= INT64_MIN && n < 2n ** 63n) return toInteger(n);
    }
    return new Float(Number(m[0]));
  }

  private string(): string {
    const start = this.i;
    this.i++;
    while (this.i < this.s.length && this.s[this.i] !== '"') {
      if (this.s[this.i] === '\\') this.i++;
      this.i++;
    }
    if (this.i >= this.s.length) this.fail('unterminated string');
    this.i++;
    try {
      return JSON.parse(this.s.slice(start, this.i)) as string;
    } catch {
      this.i = start;
      this.fail('invalid string');
    }
  }
}

// ---- dotenv ----

function parseDotenv(text: string): Branch {
  const branch = new Branch();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new FormatError(`a dotenv line has no "=" (line ${branchLine(text, line)})`);
    branch.items.push([line.slice(0, eq), line.slice(eq + 1).replaceAll('\\n', '\n')]);
  }
  return branch;
}

function branchLine(text: string, line: string): number {
  return text.split('\n').indexOf(line) + 1;
}

// ---- INI, as gopkg.in/ini.v1 reads it for sops ----

function parseIni(text: string): Branch {
  const root = new Branch();
  // go-ini always has a DEFAULT section first (sops walks it, empty or not).
  let section = new Branch();
  root.items.push(['DEFAULT', section]);
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const end = line.indexOf(']');
      if (end < 0) throw new FormatError('an INI section header has no "]"');
      const name = line.slice(1, end).trim();
      const existing = name === 'DEFAULT' ? section : undefined;
      section = existing ?? new Branch();
      if (!existing) root.items.push([name, section]);
      continue;
    }
    const at = line.search(/[=:]/);
    if (at < 0) {
      section.items.push([line, '']);
      continue;
    }
    let value = line.slice(at + 1).trim();
    if (
      value.length >= 2 &&
      ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))
    )
      value = value.slice(1, -1);
    section.items.push([line.slice(0, at).trim(), value]);
  }
  return root;
}

// ---- plaintext out, for files a tool reads after decryption ----

/** sops's EmitPlainFile for the format: what `sops --decrypt` would write, up to layout and comments. */
export function emitPlain(branches: readonly Branch[], format: SopsFormat): Buffer {
  switch (format) {
    case 'yaml':
      return Buffer.from(
        branches.map((b) => YAML.stringify(toYaml(b), { indent: 4, lineWidth: 0 })).join('---\n'),
        'utf8',
      );
    case 'json':
      return Buffer.from(`${jsonText(branches[0] ?? new Branch(), '')}\n`, 'utf8');
    case 'dotenv': {
      const lines = (branches[0] ?? new Branch()).items.map(([k, v]) => {
        const text = typeof v === 'string' ? v.replaceAll('\n', '\\n') : scalarText(v);
        return `${k}=${text}\n`;
      });
      return Buffer.from(lines.join(''), 'utf8');
    }
    case 'ini': {
      const out: string[] = [];
      for (const [name, section] of (branches[0] ?? new Branch()).items) {
        if (!(section instanceof Branch)) continue;
        if (name === 'DEFAULT' && section.items.length === 0) continue;
        if (name !== 'DEFAULT') out.push(`[${name}]`);
        for (const [k, v] of section.items) out.push(`${k} = ${scalarText(v)}`);
        out.push('');
      }
      return Buffer.from(out.join('\n'), 'utf8');
    }
    case 'binary': {
      const data = branches[0]?.get('data');
      if (data instanceof Bytes) return data.value;
      if (typeof data !== 'string') throw new FormatError('a binary file has no data');
      return Buffer.from(data, 'utf8');
    }
  }
}

function scalarText(v: TreeValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Bytes) return v.value.toString('utf8');
  if (v instanceof Float) return formatFloat(v.value);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return '';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  throw new FormatError('a nested value cannot be written to a flat file');
}

function toYaml(v: TreeValue): unknown {
  if (v instanceof Branch) return new Map(v.items.map(([k, x]) => [k, toYaml(x)]));
  if (Array.isArray(v)) return v.map(toYaml);
  if (v instanceof Float) return v.value;
  if (v instanceof Bytes) return v.value.toString('utf8');
  return v;
}

function jsonText(v: TreeValue, indent: string): string {
  const inner = `${indent}    `;
  if (v instanceof Branch) {
    if (v.items.length === 0) return '{}';
    return `{\n${v.items.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${jsonText(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => `${inner}${jsonText(x, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Bytes) return JSON.stringify(v.value.toString('utf8'));
  if (v instanceof Float) return Number.isFinite(v.value) ? formatFloat(v.value) : 'null';
  return String(v);
}
