// One SOPS file decrypted as `sops --decrypt` does it: metadata, data key, values, and the MAC checked.
import { ConvergeError } from '../../api/index.ts';
import { emitPlain, FormatError, loadFile, type LoadedFile, type SopsFormat } from './formats.ts';
import { KeyError, recoverDataKey, type Keyring } from './keys.ts';
import { MetadataError, readMetadata, type SopsMetadata } from './metadata.ts';
import { Branch, decryptTree, decryptValue, ValueError } from './tree.ts';

/** What one render decrypts with, and what it has decrypted (so tool errors can be scrubbed of it). */
export interface Decryption {
  /** Undefined: no keys at all; `unconfigured` says why (no spec.decryption, no --decryption-key). */
  keys: Keyring | undefined;
  unconfigured: string;
  /** Every plaintext value decrypted so far in this render. */
  plaintexts: Set<string>;
  /** Without keys: every encrypted file met, so the render's failure can name them all. */
  undecrypted: string[];
}

export function newDecryption(keys: Keyring | undefined, unconfigured: string): Decryption {
  return { keys, unconfigured, plaintexts: new Set(), undecrypted: [] };
}

/** Throws DecryptionFailed naming every encrypted file a render without keys met. */
export function assertNothingUndecrypted(decryption: Decryption): void {
  const files = [...new Set(decryption.undecrypted)];
  if (files.length === 0) return;
  const shown = files.slice(0, 10).join('; ') + (files.length > 10 ? `; and ${files.length - 10} more` : '');
  throw new ConvergeError(
    'DecryptionFailed',
    `${files.length === 1 ? 'a file is' : `${files.length} files are`} SOPS-encrypted and ${decryption.unconfigured}: ${shown}`,
  );
}

export interface DecryptedFile {
  branches: Branch[];
  format: SopsFormat;
}

function fail(what: string, message: string, cause?: unknown): never {
  throw new ConvergeError('DecryptionFailed', `${what}: ${message}`, { cause });
}

/** Parses a file that carries SOPS metadata (no keys needed), naming `what` on failure. */
export function loadSopsFile(
  text: string,
  format: SopsFormat,
  what: string,
): { branches: Branch[]; meta: SopsMetadata } {
  let loaded;
  try {
    loaded = loadFile(text, format);
  } catch (err) {
    if (err instanceof FormatError)
      fail(what, `cannot read it as a SOPS ${format} file: ${err.message}`, err);
    throw err;
  }
  return withMetadata(loaded, format, what);
}

function withMetadata(
  loaded: LoadedFile,
  format: SopsFormat,
  what: string,
): { branches: Branch[]; meta: SopsMetadata } {
  if (!loaded.metadata) fail(what, `no sops metadata in this ${format} file`);
  let meta: SopsMetadata;
  try {
    meta = readMetadata(loaded.metadata, loaded.flat);
  } catch (err) {
    if (err instanceof MetadataError) fail(what, `invalid sops metadata: ${err.message}`, err);
    throw err;
  }
  return { branches: loaded.branches, meta };
}

/**
 * Decrypts a SOPS file. Throws ConvergeError('DecryptionFailed') naming `what` (a file, or an
 * object and its file) and never a value: no keys, no matching key (naming the recipients),
 * key type not supported (KMS/Vault only), or tampered (a value or the MAC does not authenticate).
 */
export function decryptSops(
  text: string,
  format: SopsFormat,
  what: string,
  decryption: Decryption,
): Promise<DecryptedFile> {
  return decryptParsed(loadSopsFile(text, format, what), format, what, decryption);
}

/** decryptSops for a file already read into branches (a rendered document, in its order). */
export function decryptLoaded(
  loaded: LoadedFile,
  format: SopsFormat,
  what: string,
  decryption: Decryption,
): Promise<DecryptedFile> {
  return decryptParsed(withMetadata(loaded, format, what), format, what, decryption);
}

async function decryptParsed(
  { branches, meta }: { branches: Branch[]; meta: SopsMetadata },
  format: SopsFormat,
  what: string,
  decryption: Decryption,
): Promise<DecryptedFile> {
  if (!decryption.keys) {
    // Left encrypted (never applied: the render fails at its end, naming every such file).
    decryption.undecrypted.push(what);
    return { branches, format };
  }
  if (meta.commentRules)
    fail(
      what,
      'key type not supported: encrypted_comment_regex and unencrypted_comment_regex are not supported',
    );
  let key: Buffer;
  try {
    key = await recoverDataKey(meta, decryption.keys);
  } catch (err) {
    if (err instanceof KeyError) fail(what, err.message, err);
    fail(what, `cannot recover the data key: ${(err as Error).message}`, err);
  }
  if (key.length !== 32) fail(what, 'the recovered data key is not 256 bits long');
  let result;
  try {
    result = decryptTree(branches, meta, key);
  } catch (err) {
    if (err instanceof ValueError) {
      const where = err.path.length ? ` at ${err.path.join('.')}` : '';
      fail(what, `tampered: ${err.message}${where}`, err);
    }
    throw err;
  }
  let stored: unknown;
  try {
    stored = decryptValue(meta.mac, key, meta.lastModified);
  } catch {
    fail(what, 'tampered: the MAC does not authenticate (edited, or lastmodified changed)');
  }
  if (stored !== result.mac)
    fail(
      what,
      'tampered: the MAC does not match the values (a value was added, removed, reordered or edited)',
    );
  for (const p of result.plaintexts) if (p.length > 0) decryption.plaintexts.add(p);
  return { branches: result.branches, format };
}

/** The decrypted file as sops would write it in `format` (for tools that read files). */
export function plaintextFile(file: DecryptedFile, format: SopsFormat = file.format): Buffer {
  return emitPlain(file.branches, format);
}
