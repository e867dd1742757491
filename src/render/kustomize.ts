// Builds a kustomization with the kustomize inside kubectl, after checking it cannot reach outside the repo.
import { mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { ConvergeError } from '../api/index.ts';
import { runTool } from './exec.ts';
import type { RenderLimits } from './limits.ts';
import { assertNoEscapingLinks, isInside, type Checkout } from './paths.ts';
import {
  findRemoteReferences,
  looksLikeHostPath,
  referenceValues,
  withoutUserinfo,
  type RemoteReference,
} from './remote.ts';
import { scrubSecrets, toolEnv } from './sandbox.ts';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export async function findKustomization(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const file = path.join(dir, name);
    if (
      await stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return file;
  }
  return undefined;
}

/** Fields whose entries may name other kustomization directories (or remote URLs). */
const DIRECTORY_FIELDS = ['resources', 'bases', 'components', 'generators', 'transformers', 'validators'];
/** Fields whose file entries are plugin configs that kustomize loads and acts on (paths, repos, …). */
const CONFIG_FIELDS = new Set(['generators', 'transformers', 'validators']);

function remoteError(file: string, ref: RemoteReference): ConvergeError {
  return new ConvergeError(
    'RenderFailed',
    `${file}: ${ref.field} "${ref.value}" is a remote reference (${ref.form}); rendering never uses the network, so only paths inside the repository are allowed`,
  );
}

/**
 * Files a kustomization names (resources, patches, generator files, …) are read by kustomize
 * whole and come back in its output: one over the per-file limit is refused here, by name, before
 * kustomize spends memory on it and long before its output reaches this process.
 */
async function checkFileSizes(
  checkout: Checkout,
  dir: string,
  display: string,
  doc: object,
  limits: RenderLimits,
): Promise<void> {
  for (const ref of referenceValues(doc)) {
    for (const candidate of ref.candidates) {
      if (candidate.includes('\n') || candidate.length > 4096) continue;
      const info = await stat(path.resolve(dir, candidate)).catch(() => undefined);
      if (info?.isFile() && info.size > limits.maxFileBytes) {
        throw new ConvergeError(
          'RenderFailed',
          `${display}: ${ref.field} "${candidate}" is ${info.size} bytes, over the ${limits.maxFileBytes}-byte per-file limit`,
        );
      }
    }
  }
}

/** Names the document of a multi-document config when it is not the first. */
function inDocument(ref: RemoteReference, index: number): RemoteReference {
  return index === 0 ? ref : { ...ref, field: `${ref.field} (document ${index + 1})` };
}

/** Reads and parses a small YAML file kustomize will read too, bounded by the per-file limit. */
async function loadYaml(checkout: Checkout, file: string, limits: RenderLimits): Promise<unknown[]> {
  const size = (await stat(file)).size;
  if (size > limits.maxFileBytes) {
    throw new ConvergeError(
      'RenderFailed',
      `${checkout.display(file)}: file is ${size} bytes, over the ${limits.maxFileBytes}-byte limit`,
    );
  }
  return parseConfig(checkout.display(file), await readFile(file, 'utf8'));
}

function parseConfig(source: string, text: string): unknown[] {
  try {
    return yaml.loadAll(text, { maxAliases: 100 } as yaml.LoadOptions);
  } catch (err) {
    throw new ConvergeError('RenderFailed', `${source}: invalid YAML: ${(err as Error).message}`);
  }
}

/**
 * Kustomize's LoadRestrictionsRootOnly confines files to their kustomization's root, but not
 * the directories listed in `resources`/`components`, nor remote URLs (which it would fetch
 * with its own HTTP client, or clone with git). So walk the kustomization graph first: every
 * directory it names must be local, inside the checkout, and hold no symlink that leads out of
 * it; and no value anywhere in a kustomization, or in a generator/transformer/validator config
 * it loads, may be a remote reference. The tool environment (see sandbox.ts) blocks the network
 * too, but Go sends requests for loopback hosts past any proxy, so this check is what stops those.
 */
async function checkKustomizationTree(
  checkout: Checkout,
  start: string,
  limits: RenderLimits,
  signal?: AbortSignal,
): Promise<void> {
  const visited = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    if (visited.has(dir)) return;
    visited.add(dir);
    if (visited.size > 1000)
      throw new ConvergeError('RenderFailed', 'kustomization graph has over 1000 directories');
    signal?.throwIfAborted();
    await assertNoEscapingLinks(checkout, dir, signal);
    const file = await findKustomization(dir);
    if (!file) return;
    const display = checkout.display(file);
    const doc = (await loadYaml(checkout, file, limits))[0];
    if (doc === null || typeof doc !== 'object') return;
    const remote = findRemoteReferences(doc)[0];
    if (remote) throw remoteError(display, remote);
    await checkFileSizes(checkout, dir, display, doc, limits);
    for (const field of DIRECTORY_FIELDS) {
      const entries = (doc as Record<string, unknown>)[field];
      if (!Array.isArray(entries)) continue;
      for (const [i, ref] of entries.entries()) {
        if (typeof ref !== 'string') continue;
        if (ref.includes('\n')) {
          // An inline generator/transformer config: YAML text, checked like a config file.
          if (!CONFIG_FIELDS.has(field)) continue;
          for (const [d, config] of parseConfig(`${display}: ${field}[${i}]`, ref).entries()) {
            const inner = findRemoteReferences(config, `${field}[${i}]`)[0];
            if (inner) throw remoteError(display, inDocument(inner, d));
          }
          continue;
        }
        const target = path.resolve(dir, ref);
        const real = await realpath(target).catch(() => undefined);
        if (real === undefined) {
          // Kustomize tries a directory entry it cannot find locally as a git remote.
          if (looksLikeHostPath(ref)) {
            throw remoteError(display, {
              field: `${field}[${i}]`,
              value: withoutUserinfo(ref),
              form: 'git remote',
            });
          }
          // A missing entry is kustomize's to report; an escaping one is ours.
          continue;
        }
        if (!isInside(checkout.root, real)) {
          throw new ConvergeError(
            'RenderFailed',
            `${display}: ${field} entry "${ref}" resolves outside the repository`,
          );
        }
        const info = await stat(real);
        if (info.isDirectory()) await visit(real);
        else if (CONFIG_FIELDS.has(field) && info.isFile()) {
          const configFile = checkout.display(real);
          for (const [d, config] of (await loadYaml(checkout, real, limits)).entries()) {
            const inner = findRemoteReferences(config)[0];
            if (inner) throw remoteError(configFile, inDocument(inner, d));
          }
        }
      }
    }
  };
  await visit(start);
}

export async function kustomizeBuild(
  checkout: Checkout,
  dir: string,
  kubectl: string,
  limits: RenderLimits,
  signal?: AbortSignal,
  secrets?: ReadonlySet<string>,
): Promise<string> {
  await checkKustomizationTree(checkout, dir, limits, signal);
  const home = await mkdtemp(path.join(tmpdir(), 'converge-kustomize-'));
  try {
    return await runTool({
      command: kubectl,
      // Defaults spelled out on purpose: plugins, exec/container functions and helm stay off,
      // files stay under their kustomization root.
      args: [
        'kustomize',
        dir,
        '--load-restrictor=LoadRestrictionsRootOnly',
        '--enable-alpha-plugins=false',
        '--enable-helm=false',
        '--network=false',
      ],
      cwd: dir,
      // No PATH (kustomize cannot find git, helm or anything else to run) and no network.
      env: toolEnv(home),
      timeoutMs: limits.toolTimeoutMs,
      maxOutputBytes: limits.maxTotalBytes,
      maxDocumentBytes: limits.maxFileBytes,
      maxDocuments: limits.maxDocuments,
      signal,
      what: `kustomize build of ${checkout.display(dir)}`,
      redact: (text) =>
        scrubSecrets(text.replaceAll(checkout.root + path.sep, '').replaceAll(checkout.root, '.'), secrets),
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
