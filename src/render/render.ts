// The render stage: what is at `path` (kustomization, chart or plain files) becomes validated objects.
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ConvergeError, isConvergeError, type KubeObject } from '../api/index.ts';
import {
  assertNothingUndecrypted,
  decryptDocuments,
  decryptGeneratorSources,
  hasSopsMarker,
  decryptSops,
  formatForPath,
  newDecryption,
  plaintextFile,
  type Decryption,
} from './decrypt/index.ts';
import { pathFilter } from './glob.ts';
import { helmTemplate, type HelmOptions, type ValuesFile } from './helm.ts';
import { findKustomization, KUSTOMIZATION_FILES, kustomizeBuild } from './kustomize.ts';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from './limits.ts';
import { isCrd, looksLikeManifest, placeObjects, toObjects, type PlacedObject } from './objects.ts';
import { openCheckout, resolveSourcePath, walkFiles, type Checkout } from './paths.ts';
import { scopeResolver, type ScopeLookup } from './scope.ts';
import { parseDocuments, RenderBudget, type SourceDocument } from './yaml.ts';

export interface RenderInput {
  /** The checkout root; nothing outside it is read. */
  root: string;
  /** Relative to `root`; default `.`. */
  path?: string;
  /** Globs relative to `path` (plain directories only); exclude wins. */
  include?: string[];
  exclude?: string[];
  substitute?: Record<string, string>;
  targetNamespace?: string;
  /** For a chart at `path`; default release name is the chart directory's name, namespace the target one. */
  helm?: HelmOptions;
  tools: { kubectl: string; helm: string };
  /** Scope of kinds this module does not know, typically backed by API discovery. */
  isClusterScoped?: ScopeLookup;
  limits?: Partial<RenderLimits>;
  /** spec.allowEmpty: a render with no objects is accepted instead of failing. */
  allowEmpty?: boolean;
  /** SOPS keys for this render; without them an encrypted file fails with DecryptionFailed. */
  decryption?: Decryption;
  signal?: AbortSignal;
}

/** Why a render without keys cannot decrypt, for the operator (the CLI says it with its own words). */
const NO_DECRYPTION = 'the GitSource sets no spec.decryption';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
/** Files in a plain directory that configure tools rather than describe objects. */
const TOOL_FILES = new Set([...KUSTOMIZATION_FILES, 'Chart.yaml', 'Chart.lock']);

/**
 * Renders the manifests at `input.path`. Throws ConvergeError('RenderFailed') naming the file
 * (relative to the repository root) and the document; rethrows the signal's reason when aborted.
 */
export async function renderManifests(input: RenderInput): Promise<KubeObject[]> {
  try {
    return await render(input);
  } catch (err) {
    if (isConvergeError(err) || input.signal?.aborted) throw err;
    // An unexpected I/O error (permissions, a file vanishing mid-walk): still a render failure.
    const message = (err instanceof Error ? err.message : String(err)).replaceAll(input.root, '<repository>');
    throw new ConvergeError('RenderFailed', `cannot read manifests: ${message}`, { cause: err });
  }
}

async function render(input: RenderInput): Promise<KubeObject[]> {
  const limits: RenderLimits = { ...DEFAULT_RENDER_LIMITS, ...input.limits };
  const budget = new RenderBudget(limits);
  const checkout = await openCheckout(input.root);
  const source = await resolveSourcePath(checkout, input.path ?? '.');
  const vars = input.substitute ?? {};
  const decryption = input.decryption ?? newDecryption(undefined, NO_DECRYPTION);

  let placed: PlacedObject[];
  let mode: 'file' | 'kustomize' | 'helm' | 'plain';
  if ((await stat(source)).isFile()) {
    mode = 'file';
    placed = await readPlainFiles(checkout, [source], budget, vars, decryption, input.signal);
  } else if (await findKustomization(source)) {
    mode = 'kustomize';
    // secretGenerator files/envs that are SOPS files: built from a private copy with them decrypted.
    const tree = await decryptGeneratorSources(checkout, source, decryption, limits, input.signal);
    let out: string;
    try {
      out = await kustomizeBuild(
        tree?.checkout ?? checkout,
        tree?.dir ?? source,
        input.tools.kubectl,
        limits,
        input.signal,
        decryption.plaintexts,
      );
    } finally {
      await tree?.dispose();
    }
    budget.addBytes('kustomize output', Buffer.byteLength(out));
    const what = `kustomize build of ${checkout.display(source)}`;
    const listed = decryption.undecrypted.length;
    placed = toObjects(
      await decryptDocuments(parseDocuments(out, what, budget), out, what, decryption),
      vars,
    );
    // Without keys, the files found before the build name what its output repeats as objects.
    if (listed > 0) decryption.undecrypted.length = listed;
  } else if (await isFile(path.join(source, 'Chart.yaml'))) {
    mode = 'helm';
    const helm: HelmOptions = input.helm ?? {
      releaseName: path.basename(source),
      namespace: input.targetNamespace ?? 'default',
    };
    const valuesFiles = await readValuesFiles(checkout, source, helm.valuesFiles ?? [], limits, decryption);
    const out = await helmTemplate(checkout, source, input.tools.helm, helm, limits, input.signal, {
      valuesFiles,
      secrets: decryption.plaintexts,
    });
    budget.addBytes('helm output', Buffer.byteLength(out));
    const what = `helm template of ${checkout.display(source)}`;
    placed = toObjects(
      await decryptDocuments(splitHelmOutput(out, checkout.display(source), budget), out, what, decryption),
      vars,
    );
  } else {
    mode = 'plain';
    const filter = pathFilter(input.include, input.exclude);
    const files = await walkFiles(checkout, source, {
      wantFile: (rel, name) => MANIFEST_FILE.test(name) && !TOOL_FILES.has(name) && filter(rel),
      // Chart templates are not YAML until helm runs; a chart below a plain directory is not ours to read.
      skipDir: (abs) => isFile(path.join(abs, 'Chart.yaml')),
      signal: input.signal,
    });
    placed = await readPlainFiles(
      checkout,
      files.map((f) => f.abs),
      budget,
      vars,
      decryption,
      input.signal,
    );
  }

  input.signal?.throwIfAborted();
  assertNothingUndecrypted(decryption);
  if (placed.length === 0 && !input.allowEmpty) {
    const where = `"${checkout.display(source)}"`;
    const found =
      mode === 'kustomize'
        ? 'the kustomize build produced no objects'
        : mode === 'helm'
          ? 'helm template produced no objects'
          : mode === 'file'
            ? 'the file holds no Kubernetes object'
            : await describeDirectory(
                checkout,
                source,
                pathFilter(input.include, input.exclude),
                input.signal,
              );
    throw new ConvergeError(
      'RenderFailed',
      `no manifests at ${where}: ${found} (set spec.allowEmpty: true if an empty set is intended)`,
    );
  }
  const scopes = scopeResolver(
    placed.filter((p) => isCrd(p.object)).map((p) => p.object),
    input.isClusterScoped,
  );
  return placeObjects(placed, scopes, input.targetNamespace);
}

/**
 * A plain file is skipped when none of its documents looks like an object (no apiVersion,
 * kind or metadata anywhere: a values file, a CI config). Once one document does, every
 * non-empty document of the file must be a valid object.
 */
async function readPlainFiles(
  checkout: Checkout,
  files: readonly string[],
  budget: RenderBudget,
  vars: Readonly<Record<string, string>>,
  decryption: Decryption,
  signal?: AbortSignal,
): Promise<PlacedObject[]> {
  const out: PlacedObject[] = [];
  for (const file of files) {
    signal?.throwIfAborted();
    const name = checkout.display(file);
    budget.addFile(name, (await stat(file)).size);
    const text = await readFile(file, 'utf8');
    const docs = parseDocuments(text, name, budget);
    if (!docs.some((d) => looksLikeManifest(d.value))) continue;
    out.push(...toObjects(await decryptDocuments(docs, text, name, decryption, { wholeFile: true }), vars));
  }
  return out;
}

/**
 * spec.helm.valuesFiles, relative to the chart: each must stay inside the repository; SOPS files
 * (YAML or JSON) are decrypted and handed to helm through its private home, never the checkout.
 */
async function readValuesFiles(
  checkout: Checkout,
  chart: string,
  files: readonly string[],
  limits: RenderLimits,
  decryption: Decryption,
): Promise<ValuesFile[]> {
  const out: ValuesFile[] = [];
  for (const rel of files) {
    const chartRel = path.posix.join(checkout.display(chart), rel);
    let abs: string;
    try {
      abs = await resolveSourcePath(checkout, chartRel);
    } catch (err) {
      throw new ConvergeError('RenderFailed', `spec.helm.valuesFiles: ${(err as Error).message}`);
    }
    const size = (await stat(abs)).size;
    if (size > limits.maxFileBytes)
      throw new ConvergeError(
        'RenderFailed',
        `${chartRel}: file is ${size} bytes, over the ${limits.maxFileBytes}-byte limit`,
      );
    const text = await readFile(abs, 'utf8');
    const format = formatForPath(abs) === 'json' ? 'json' : 'yaml';
    if (hasSopsMarker(text, format)) {
      const file = await decryptSops(text, format, checkout.display(abs), decryption);
      out.push({ content: plaintextFile(file, format) });
    } else {
      out.push({ file: abs });
    }
  }
  return out;
}

/** What a plain directory without objects holds instead, e.g. `3 .jsonnet files found; Converge renders …`. */
async function describeDirectory(
  checkout: Checkout,
  dir: string,
  filter: (rel: string) => boolean,
  signal?: AbortSignal,
): Promise<string> {
  const files = await walkFiles(checkout, dir, { wantFile: () => true, signal });
  const manifests = files.filter((f) => MANIFEST_FILE.test(f.rel) && !TOOL_FILES.has(path.basename(f.rel)));
  const selected = manifests.filter((f) => filter(f.rel));
  if (selected.length > 0)
    return `${plural(selected.length, 'YAML/JSON file')} found, none holds a Kubernetes object (apiVersion, kind, metadata)`;
  if (manifests.length > 0)
    return `include/exclude match none of the ${plural(manifests.length, 'YAML/JSON file')}`;
  if (files.length === 0) return 'the directory is empty';
  const byExtension = new Map<string, number>();
  for (const f of files) {
    const ext = path.extname(f.rel) || path.basename(f.rel);
    byExtension.set(ext, (byExtension.get(ext) ?? 0) + 1);
  }
  const shown = [...byExtension]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, 3)
    .map(([ext, n]) => plural(n, `${ext} file`));
  if (byExtension.size > 3) shown.push('…');
  return `${shown.join(', ')} found; Converge renders YAML/JSON, kustomize and Helm`;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** Names each helm document by its `# Source:` template, so errors point into the chart. */
function splitHelmOutput(out: string, chart: string, budget: RenderBudget): SourceDocument[] {
  const docs: SourceDocument[] = [];
  for (const chunk of out.split(/^---[ \t]*$/m)) {
    const template = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim();
    const source = template ? `${chart}: ${template}` : `helm template of ${chart}`;
    docs.push(...parseDocuments(chunk, source, budget));
  }
  return docs;
}

function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}
