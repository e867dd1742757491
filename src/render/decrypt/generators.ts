// kustomize secretGenerator files and envs that are SOPS files: decrypted into a private copy of the tree kustomize reads, removed after.
import { cp, lstat, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { ConvergeError } from '../../api/index.ts';
import { findKustomization } from '../kustomize.ts';
import type { RenderLimits } from '../limits.ts';
import { isInside, type Checkout } from '../paths.ts';
import { formatForPath, hasSopsMarker, type SopsFormat } from './formats.ts';
import { decryptionDisabled, decryptYamlDocuments, hasSopsMetadata, isOneSopsFile } from './objects.ts';
import { decryptSops, plaintextFile, type Decryption } from './sops.ts';

/** A SOPS file a kustomization feeds to a generator or patch. */
interface EncryptedSource {
  abs: string;
  /** Format it is read in, and the format kustomize gets it in (a key's extension decides, as in Flux). */
  input: SopsFormat;
  output: SopsFormat;
  /** A YAML file of documents encrypted one by one (each decrypted on its own). */
  perDocument?: boolean;
}

/** A private copy of the kustomization tree with its SOPS sources decrypted; `dispose` removes it. */
export interface DecryptedTree {
  checkout: Checkout;
  dir: string;
  dispose(): Promise<void>;
}

const DIRECTORY_FIELDS = ['resources', 'bases', 'components'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Finds secretGenerator `files`/`envs` (and patch files) that are SOPS files in the kustomization
 * graph at `dir`. None: undefined, and kustomize reads the checkout as it is. Some: the directories
 * kustomize reads are copied into a private temporary directory (mode 0700, never inside the shared
 * checkout), the files are decrypted there (mode 0600), and the build runs on the copy.
 */
export async function decryptGeneratorSources(
  checkout: Checkout,
  dir: string,
  decryption: Decryption,
  limits: RenderLimits,
  signal?: AbortSignal,
): Promise<DecryptedTree | undefined> {
  const { dirs, sources } = await findSources(checkout, dir, limits, signal);
  if (sources.length === 0) return undefined;
  if (!decryption.keys) {
    // The build runs on the ciphertext, whose output the render then refuses, naming these files.
    decryption.undecrypted.push(...sources.map((s) => checkout.display(s.abs)));
    return undefined;
  }
  const plaintext = new Map<string, Buffer>();
  for (const source of sources) {
    const text = await readFile(source.abs, 'utf8');
    const what = checkout.display(source.abs);
    if (source.perDocument) {
      plaintext.set(source.abs, await decryptYamlDocuments(text, what, decryption));
      continue;
    }
    const file = await decryptSops(text, source.input, what, decryption);
    plaintext.set(source.abs, plaintextFile(file, source.output));
  }
  const temp = await mkdtemp(path.join(tmpdir(), 'converge-decrypt-'));
  const dispose = () => rm(temp, { recursive: true, force: true });
  try {
    const root = await realpath(temp);
    let copied = 0;
    // Only the outermost directories: each kustomization reads nothing outside its own (LoadRestrictionsRootOnly).
    const tops = dirs.filter((d) => !dirs.some((o) => o !== d && isInside(o, d)));
    for (const top of tops) {
      signal?.throwIfAborted();
      await cp(top, path.join(root, path.relative(checkout.root, top)), {
        recursive: true,
        verbatimSymlinks: true,
        filter: async (src) => {
          if (path.basename(src) === '.git') return false;
          const info = await lstat(src);
          copied += info.isFile() ? info.size : 0;
          if (copied > limits.maxTotalBytes)
            throw new ConvergeError(
              'RenderFailed',
              `${checkout.display(top)}: the kustomization tree is over ${limits.maxTotalBytes} bytes, too large to copy for decryption`,
            );
          return true;
        },
      });
    }
    for (const [abs, data] of plaintext) {
      const target = path.join(root, path.relative(checkout.root, abs));
      await rm(target, { force: true });
      await writeFile(target, data, { mode: 0o600 });
    }
    return {
      checkout: {
        root,
        display: (abs) => checkout.display(path.join(checkout.root, path.relative(root, abs))),
      },
      dir: path.join(root, path.relative(checkout.root, dir)),
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function findSources(
  checkout: Checkout,
  start: string,
  limits: RenderLimits,
  signal?: AbortSignal,
): Promise<{ dirs: string[]; sources: EncryptedSource[] }> {
  const dirs: string[] = [];
  const sources = new Map<string, EncryptedSource>();
  const consider = async (base: string, file: string, keyFormat: SopsFormat, env: boolean) => {
    const abs = path.resolve(base, file);
    const real = await realpath(abs).catch(() => undefined);
    // Missing or escaping files are kustomize's and the tree check's to report.
    if (!real || !isInside(checkout.root, real) || sources.has(real)) return;
    const info = await stat(real);
    if (!info.isFile() || info.size > limits.maxFileBytes) return;
    const text = await readFile(real, 'utf8');
    const byPath = formatForPath(real);
    const candidates: SopsFormat[] = env ? ['dotenv', byPath, keyFormat] : [keyFormat, byPath];
    const input = [...candidates, 'json' as const].find((f) => hasSopsMarker(text, f));
    if (!input) return;
    const output = env ? 'dotenv' : keyFormat === 'binary' && input !== 'json' ? input : keyFormat;
    sources.set(real, { abs: real, input, output });
  };
  const considerResource = async (base: string, file: string) => {
    const real = await realpath(path.resolve(base, file)).catch(() => undefined);
    if (!real || !isInside(checkout.root, real) || sources.has(real)) return;
    const info = await stat(real);
    if (!info.isFile() || info.size > limits.maxFileBytes) return;
    const text = await readFile(real, 'utf8');
    const format = formatForPath(real) === 'json' ? 'json' : 'yaml';
    if (!hasSopsMarker(text, format)) return;
    let docs: unknown[];
    try {
      docs = yaml.loadAll(text);
    } catch {
      return;
    }
    // Nothing in it may opt out; one SOPS file is decrypted whole, documents encrypted one by one each on their own.
    if (!docs.some(hasSopsMetadata) || docs.some((d) => decryptionDisabled(d))) return;
    sources.set(real, {
      abs: real,
      input: format,
      output: format,
      perDocument: format === 'yaml' && !isOneSopsFile(docs),
    });
  };
  const visit = async (dir: string): Promise<void> => {
    if (dirs.includes(dir) || dirs.length > 1000) return;
    dirs.push(dir);
    signal?.throwIfAborted();
    const file = await findKustomization(dir);
    if (!file) return;
    let doc: unknown;
    try {
      doc = yaml.load(await readFile(file, 'utf8'));
    } catch {
      return; // kustomize reports a broken kustomization with its own words
    }
    if (!isRecord(doc)) return;
    for (const gen of Array.isArray(doc['secretGenerator']) ? doc['secretGenerator'] : []) {
      if (!isRecord(gen)) continue;
      for (const entry of Array.isArray(gen['files']) ? gen['files'] : []) {
        if (typeof entry !== 'string') continue;
        const eq = entry.indexOf('=');
        const key = eq < 0 ? path.basename(entry) : entry.slice(0, eq);
        await consider(
          dir,
          eq < 0 ? entry : entry.slice(eq + 1),
          key.endsWith('.dockerconfigjson') ? 'json' : formatForPath(key),
          false,
        );
      }
      const envs = [
        ...(Array.isArray(gen['envs']) ? gen['envs'] : []),
        ...(typeof gen['env'] === 'string' ? [gen['env']] : []),
      ];
      for (const env of envs) if (typeof env === 'string') await consider(dir, env, 'dotenv', true);
    }
    // Resource files that are SOPS files are decrypted whole before the build too: kustomize writes
    // fields in its own order, and the MAC is over the file's order (Flux decrypts after its build,
    // in memory, where the order still holds).
    for (const ref of Array.isArray(doc['resources']) ? doc['resources'] : []) {
      if (typeof ref !== 'string' || !/\.(ya?ml|json)$/i.test(ref)) continue;
      await considerResource(dir, ref);
    }
    for (const patch of Array.isArray(doc['patches']) ? doc['patches'] : []) {
      if (isRecord(patch) && typeof patch['path'] === 'string')
        await consider(dir, patch['path'], formatForPath(patch['path']), false);
    }
    for (const field of DIRECTORY_FIELDS) {
      for (const ref of Array.isArray(doc[field]) ? doc[field] : []) {
        if (typeof ref !== 'string' || ref.includes('\n')) continue;
        const real = await realpath(path.resolve(dir, ref)).catch(() => undefined);
        if (real && isInside(checkout.root, real) && (await stat(real)).isDirectory()) await visit(real);
      }
    }
  };
  await visit(start);
  return { dirs, sources: [...sources.values()] };
}
