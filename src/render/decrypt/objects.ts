// Rendered documents with SOPS metadata, and Secret data fields holding SOPS files, decrypted as Flux does.
import { ANNOTATION_DECRYPT, ConvergeError } from '../../api/index.ts';
import type { SourceDocument } from '../yaml.ts';
import { extractNested, formatForPath, parseYamlBranches, type SopsFormat } from './formats.ts';
import { decryptLoaded, decryptSops, plaintextFile, type Decryption } from './sops.ts';
import { toPlain, type Branch } from './tree.ts';

/** Per-object opt-out: Flux's annotation, and Converge's own name for it. Value `disabled`, any case. */
export const FLUX_ANNOTATION_DECRYPT = 'kustomize.toolkit.fluxcd.io/decrypt';

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Flux's isSOPSEncryptedResource: a top-level `sops` mapping with a non-empty `mac`. */
export function hasSopsMetadata(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const sops = value['sops'];
  return isRecord(sops) && sops['mac'] !== undefined && sops['mac'] !== null && sops['mac'] !== '';
}

export function decryptionDisabled(value: unknown): boolean {
  if (!isRecord(value) || !isRecord(value['metadata'])) return false;
  const annotations = value['metadata']['annotations'];
  if (!isRecord(annotations)) return false;
  return [ANNOTATION_DECRYPT, FLUX_ANNOTATION_DECRYPT].some(
    (a) => typeof annotations[a] === 'string' && annotations[a].toLowerCase() === 'disabled',
  );
}

function describe(value: unknown, doc: SourceDocument): string {
  const meta = isRecord(value) && isRecord(value['metadata']) ? value['metadata'] : {};
  const kind = isRecord(value) && typeof value['kind'] === 'string' ? value['kind'] : 'object';
  const name = [meta['namespace'], meta['name']].filter((x) => typeof x === 'string').join('/');
  return `${kind}${name ? ` ${name}` : ''} in ${doc.source} (document ${doc.index})`;
}

/**
 * Decrypts the documents parsed from `text`. `wholeFile` (a plain file of the repository): when the
 * first document carries SOPS metadata the file is one SOPS file, every document under one MAC, as
 * `sops --decrypt` reads it. Otherwise (kustomize or helm output, as Flux does) each document with
 * metadata is decrypted on its own. Documents opting out keep their form; Secrets whose data fields
 * hold SOPS files get those fields decrypted.
 */
export async function decryptDocuments(
  docs: SourceDocument[],
  text: string,
  source: string,
  decryption: Decryption,
  opts: { wholeFile?: boolean } = {},
): Promise<SourceDocument[]> {
  const encrypted = docs.filter((d) => hasSopsMetadata(d.value));
  let out = docs;
  if (encrypted.length > 0)
    out = await decryptEncryptedDocuments(docs, text, source, decryption, opts.wholeFile ?? false);
  for (const doc of out) await decryptSecretFields(doc, decryption);
  return out;
}

async function decryptEncryptedDocuments(
  docs: SourceDocument[],
  text: string,
  source: string,
  decryption: Decryption,
  file: boolean,
): Promise<SourceDocument[]> {
  const first = docs.find((d) => d.value !== null && d.value !== undefined);
  if (file && first !== undefined && isOneSopsFile(docs.map((d) => d.value))) {
    const file = await decryptSops(text, 'yaml', source, decryption);
    return file.branches.map((b, i) => ({ source, index: i + 1, value: b.items.length ? toPlain(b) : null }));
  }
  // Per document: pair the k-th document with metadata in both parses (js-yaml's and sops's).
  let ordered: Branch[];
  try {
    ordered = parseYamlBranches(text).filter((b) =>
      hasSopsMetadata({ sops: toPlain(b.get('sops') ?? null) }),
    );
  } catch (err) {
    throw new ConvergeError(
      'DecryptionFailed',
      `${source}: cannot read the SOPS documents: ${(err as Error).message}`,
    );
  }
  const out: SourceDocument[] = [];
  let k = 0;
  for (const doc of docs) {
    if (!hasSopsMetadata(doc.value)) {
      out.push(doc);
      continue;
    }
    const branch = ordered[k++];
    if (decryptionDisabled(doc.value)) {
      out.push(doc);
      continue;
    }
    const what = describe(doc.value, doc);
    if (!branch) throw new ConvergeError('DecryptionFailed', `${what}: cannot find the SOPS document again`);
    const file = await decryptLoaded(extractNested([branch]), 'yaml', what, decryption);
    out.push({ ...doc, value: toPlain(file.branches[0]!) });
  }
  return out;
}

/**
 * Whether documents are one file `sops --encrypt` wrote (every document carries the first one's
 * metadata, one MAC over all) rather than documents encrypted one by one and put together, and no
 * document opts out.
 */
export function isOneSopsFile(values: readonly unknown[]): boolean {
  const present = values.filter((v) => v !== null && v !== undefined);
  const first = present[0];
  if (!hasSopsMetadata(first) || present.some(decryptionDisabled)) return false;
  const mac = (v: unknown) =>
    ((v as Record<string, Record<string, unknown>>)['sops']?.['mac'] as unknown) ?? null;
  return present.every((v) => !hasSopsMetadata(v) || mac(v) === mac(first));
}

/**
 * A YAML file whose documents were encrypted one by one: each document with SOPS metadata is
 * decrypted on its own, in its file order; the result is the plaintext YAML file.
 */
export async function decryptYamlDocuments(
  text: string,
  what: string,
  decryption: Decryption,
): Promise<Buffer> {
  let branches: Branch[];
  try {
    branches = parseYamlBranches(text);
  } catch (err) {
    throw new ConvergeError(
      'DecryptionFailed',
      `${what}: cannot read the SOPS documents: ${(err as Error).message}`,
    );
  }
  const out: Branch[] = [];
  for (const [i, branch] of branches.entries()) {
    const sops = branch.get('sops');
    if (!hasSopsMetadata({ sops: sops === undefined ? null : toPlain(sops) })) {
      out.push(branch);
      continue;
    }
    const file = await decryptLoaded(
      extractNested([branch]),
      'yaml',
      `${what} (document ${i + 1})`,
      decryption,
    );
    out.push(file.branches[0]!);
  }
  return plaintextFile({ branches: out, format: 'yaml' });
}

/** Which format a Secret data field's SOPS file is in, by its markers (Flux's detectFormatFromMarkerBytes). */
function markerFormat(text: string): SopsFormat | undefined {
  if (text.includes('sops_mac=ENC[')) return 'dotenv';
  if (text.includes('"mac": "ENC[')) return 'json';
  if (/^\[sops\]/m.test(text)) return 'ini';
  if (text.includes('mac: ENC[')) return 'yaml';
  return undefined;
}

/** Flux's second case: a Secret whose data fields are whole SOPS files (a generator fed an encrypted file). */
async function decryptSecretFields(doc: SourceDocument, decryption: Decryption): Promise<void> {
  const value = doc.value;
  if (!isRecord(value) || value['kind'] !== 'Secret' || decryptionDisabled(value) || !isRecord(value['data']))
    return;
  const data = value['data'];
  for (const [key, encoded] of Object.entries(data)) {
    if (typeof encoded !== 'string') continue;
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const input = markerFormat(text);
    if (!input) continue;
    const output = key.endsWith('.dockerconfigjson') ? 'json' : formatForPath(key);
    const file = await decryptSops(text, input, `${describe(value, doc)}, data field ${key}`, decryption);
    data[key] = plaintextFile(file, output === 'binary' && input !== 'json' ? input : output).toString(
      'base64',
    );
  }
}
