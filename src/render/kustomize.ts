// Builds a kustomization with the kustomize inside kubectl, after checking it cannot reach outside the repo.
import { mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { ConvergeError } from '../api/index.ts';
import { runTool } from './exec.ts';
import type { RenderLimits } from './limits.ts';
import { assertNoEscapingLinks, isInside, type Checkout } from './paths.ts';

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

function isRemote(ref: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ||
    /^[\w.-]+@[\w.-]+:/.test(ref) ||
    /^(github|gitlab)\.com\//.test(ref)
  );
}

/**
 * Kustomize's LoadRestrictionsRootOnly confines files to their kustomization's root, but not
 * the directories listed in `resources`/`components`, nor remote URLs (which it would fetch
 * with git). So walk the kustomization graph first: every directory it names must be local,
 * inside the checkout, and hold no symlink that leads out of it.
 */
async function checkKustomizationTree(
  checkout: Checkout,
  start: string,
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
    let doc: unknown;
    try {
      doc = yaml.load(await readFile(file, 'utf8'), { maxAliases: 100 });
    } catch (err) {
      throw new ConvergeError(
        'RenderFailed',
        `${checkout.display(file)}: invalid YAML: ${(err as Error).message}`,
      );
    }
    if (doc === null || typeof doc !== 'object') return;
    for (const field of DIRECTORY_FIELDS) {
      const entries = (doc as Record<string, unknown>)[field];
      if (!Array.isArray(entries)) continue;
      for (const ref of entries) {
        // Inline generator/transformer configs are YAML text, not paths.
        if (typeof ref !== 'string' || ref.includes('\n')) continue;
        if (isRemote(ref)) {
          throw new ConvergeError(
            'RenderFailed',
            `${checkout.display(file)}: ${field} entry "${ref}" is remote; only paths inside the repository are allowed`,
          );
        }
        const target = path.resolve(dir, ref);
        const real = await realpath(target).catch(() => undefined);
        // A missing entry is kustomize's to report; an escaping one is ours.
        if (real === undefined) continue;
        if (!isInside(checkout.root, real)) {
          throw new ConvergeError(
            'RenderFailed',
            `${checkout.display(file)}: ${field} entry "${ref}" resolves outside the repository`,
          );
        }
        if ((await stat(real)).isDirectory()) await visit(real);
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
): Promise<string> {
  await checkKustomizationTree(checkout, dir, signal);
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
      // No PATH: kustomize cannot find git, helm or anything else to run.
      env: { HOME: home, KUBECONFIG: path.join(home, 'none') },
      timeoutMs: limits.toolTimeoutMs,
      maxOutputBytes: limits.maxTotalBytes,
      signal,
      what: `kustomize build of ${checkout.display(dir)}`,
      redact: (text) => text.replaceAll(checkout.root + path.sep, '').replaceAll(checkout.root, '.'),
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
