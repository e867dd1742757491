// Helm values for a chart, merged as Helm merges `-f` files: spec.helm.valuesFiles (from the Git
// checkout at spec.path), then valuesFrom (Secrets, ConfigMaps), then the inline spec.helm.values.
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ConvergeError, type GitSourceSpec } from '../api/index.ts';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from './limits.ts';
import { openCheckout, resolveSourcePath } from './paths.ts';
import { parseDocuments, RenderBudget } from './yaml.ts';

export interface ValuesInput {
  spec: Pick<GitSourceSpec, 'path' | 'helm'>;
  /** The checkout spec.path is in (a Git checkout beside a chart, or the chart's own source). */
  valuesRoot: string;
  /** The data of a Secret or ConfigMap of the GitSource's namespace; undefined when there is none. */
  readObject(kind: 'Secret' | 'ConfigMap', name: string): Promise<Record<string, Buffer> | undefined>;
  limits?: Partial<RenderLimits>;
}

/** The values to render a chart with; RenderFailed naming the file or the object and key (never a value). */
export async function helmValuesFor(input: ValuesInput): Promise<Record<string, unknown>> {
  const limits: RenderLimits = { ...DEFAULT_RENDER_LIMITS, ...input.limits };
  const budget = new RenderBudget(limits);
  const helm = input.spec.helm;
  let values: Record<string, unknown> = {};
  const files = helm?.valuesFiles ?? [];
  if (files.length) {
    const checkout = await openCheckout(input.valuesRoot);
    const base = input.spec.path ?? '.';
    for (const [i, file] of files.entries()) {
      const where = `spec.helm.valuesFiles[${i}] (${base === '.' ? file : `${base}/${file}`})`;
      // As the CRD says: relative to path, no '..' (joining would quietly resolve it).
      if (file.startsWith('/') || file.split(/[\\/]+/).includes('..'))
        throw new ConvergeError('RenderFailed', `${where} must be relative to spec.path, without '..'`);
      let abs: string;
      try {
        abs = await resolveSourcePath(checkout, path.posix.join(base, file));
      } catch (err) {
        throw new ConvergeError(
          'RenderFailed',
          `${where}: ${(err as Error).message.replace(/^path "[^"]*" /, '')}`,
        );
      }
      const info = await stat(abs);
      if (!info.isFile()) throw new ConvergeError('RenderFailed', `${where} is not a file`);
      if (info.size > limits.maxFileBytes)
        throw new ConvergeError('RenderFailed', `${where} is larger than ${limits.maxFileBytes >> 20} MiB`);
      values = mergeValues(values, parseValues(await readFile(abs, 'utf8'), where, budget));
    }
  }
  for (const [i, from] of (helm?.valuesFrom ?? []).entries()) {
    const key = from.key ?? 'values.yaml';
    const where = `spec.helm.valuesFrom[${i}] (${from.kind} ${from.name}, key ${key})`;
    const data = await input.readObject(from.kind, from.name);
    if (!data || data[key] === undefined) {
      if (from.optional) continue;
      throw new ConvergeError(
        'RenderFailed',
        `${where}: ${data ? `has no key "${key}"` : `${from.kind} ${from.name} not found`}`,
      );
    }
    if (data[key].length > limits.maxFileBytes)
      throw new ConvergeError('RenderFailed', `${where} is larger than ${limits.maxFileBytes >> 20} MiB`);
    values = mergeValues(values, parseValues(data[key].toString('utf8'), where, budget));
  }
  return mergeValues(values, helm?.values ?? {});
}

/** One YAML mapping (or nothing); the parse error names `where`, never the text. */
function parseValues(text: string, where: string, budget: RenderBudget): Record<string, unknown> {
  let docs;
  try {
    docs = parseDocuments(text, where, budget).filter((d) => d.value !== null && d.value !== undefined);
  } catch (err) {
    if (err instanceof ConvergeError) throw err;
    throw new ConvergeError('RenderFailed', `${where} is not YAML`);
  }
  if (docs.length === 0) return {};
  const value = docs[0]!.value;
  if (docs.length > 1 || typeof value !== 'object' || Array.isArray(value))
    throw new ConvergeError('RenderFailed', `${where} must hold one YAML mapping of values`);
  return value as Record<string, unknown>;
}

/** Helm's merge: mappings merge key by key, anything else replaces, null removes the key. */
export function mergeValues(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) delete out[key];
    else if (isMapping(value) && isMapping(out[key]))
      out[key] = mergeValues(out[key] as Record<string, unknown>, value);
    else out[key] = value;
  }
  return out;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
