// YAML and JSON documents in, plain JSON values out, with bounds on documents and alias expansion.
import * as yaml from 'js-yaml';
import { ConvergeError } from '../api/index.ts';
import type { RenderLimits } from './limits.ts';

/**
 * What kubectl accepts: sigs.k8s.io/yaml reads YAML 1.1 scalars (`yes`/`on` are booleans, `0777`
 * is octal) and merge keys, but keeps timestamps as strings, so no `!!timestamp`, `!!binary`
 * or `!!set` here: every value must stay plain JSON.
 */
const KUBE_SCHEMA = new yaml.Schema([
  ...yaml.FAILSAFE_SCHEMA.tags,
  yaml.nullYaml11Tag,
  yaml.boolYaml11Tag,
  yaml.intYaml11Tag,
  yaml.floatYaml11Tag,
  yaml.mergeTag,
]);

/** One parsed document and where it came from. */
export interface SourceDocument {
  /** File relative to the repository root, or a description like `kustomize output`. */
  source: string;
  /** 1-based position of the document in its file (empty documents counted). */
  index: number;
  value: unknown;
}

/** Running totals shared by every file of one render. */
export class RenderBudget {
  documents = 0;
  bytes = 0;
  files = 0;
  expanded = 0;
  constructor(readonly limits: RenderLimits) {}

  addFile(source: string, size: number): void {
    this.files++;
    if (this.files > this.limits.maxFiles) {
      throw new ConvergeError(
        'RenderFailed',
        `more than ${this.limits.maxFiles} manifest files (at ${source})`,
      );
    }
    if (size > this.limits.maxFileBytes) {
      throw new ConvergeError(
        'RenderFailed',
        `${source}: file is ${size} bytes, over the ${this.limits.maxFileBytes}-byte limit`,
      );
    }
    this.addBytes(source, size);
  }

  addBytes(source: string, size: number): void {
    this.bytes += size;
    if (this.bytes > this.limits.maxTotalBytes) {
      throw new ConvergeError(
        'RenderFailed',
        `manifests exceed ${this.limits.maxTotalBytes} bytes in total (at ${source})`,
      );
    }
  }
}

/** Parses a multi-document YAML (or JSON) text; `null` values mark empty documents. */
export function parseDocuments(text: string, source: string, budget: RenderBudget): SourceDocument[] {
  // Count before parsing: 200,000 empty documents are under a megabyte of text but a parse
  // that builds them all first. Separator lines bound the count from above (the exact count
  // is checked again below).
  const remaining = budget.limits.maxDocuments - budget.documents;
  if (documentsAtLeast(text, remaining + 1)) {
    throw new ConvergeError(
      'RenderFailed',
      `more than ${budget.limits.maxDocuments} YAML documents (at ${source}, document ${remaining + 1})`,
    );
  }
  let values: unknown[];
  try {
    values = yaml.loadAll(text, {
      schema: KUBE_SCHEMA,
      maxAliases: budget.limits.maxAliases,
      filename: source,
    });
  } catch (err) {
    throw parseError(err, source);
  }
  const docs: SourceDocument[] = [];
  values.forEach((value, i) => {
    budget.documents++;
    if (budget.documents > budget.limits.maxDocuments) {
      throw new ConvergeError(
        'RenderFailed',
        `more than ${budget.limits.maxDocuments} YAML documents (at ${source}, document ${i + 1})`,
      );
    }
    budget.expanded += expandedSize(value, budget.limits.maxExpandedSize - budget.expanded);
    if (budget.expanded > budget.limits.maxExpandedSize) {
      throw new ConvergeError(
        'RenderFailed',
        `${source} (document ${i + 1}): expands to more than ${budget.limits.maxExpandedSize} nodes and characters through YAML aliases`,
      );
    }
    docs.push({ source, index: i + 1, value });
  });
  return docs;
}

/** Whether `text` has at least `n` documents by its `---` lines (a leading one starts the first). */
function documentsAtLeast(text: string, n: number): boolean {
  if (n <= 0) return true;
  const separator = /^---(?:[ \t\r]|$)/gm;
  let count = /^\s*$/.test(text) || /^---(?:[ \t\r]|$)/.test(text) ? 0 : 1;
  if (count >= n) return true;
  while (separator.exec(text)) if (++count >= n) return true;
  return false;
}

function parseError(err: unknown, source: string): ConvergeError {
  if (err instanceof yaml.YAMLException) {
    const where = err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
    return new ConvergeError('RenderFailed', `${source}: invalid YAML${where}: ${err.reason}`, {
      cause: err,
    });
  }
  return new ConvergeError('RenderFailed', `${source}: invalid YAML: ${(err as Error).message}`, {
    cause: err,
  });
}

/**
 * Size of a value as if every alias were copied out: nodes plus string and key characters.
 * Memoised per shared node, so a billion-laughs tree costs a few hundred steps, not a billion.
 * Stops counting once `budget` is exceeded.
 */
function expandedSize(value: unknown, budget: number): number {
  const memo = new Map<object, number>();
  const size = (v: unknown): number => {
    if (typeof v === 'string') return 1 + v.length;
    if (v === null || typeof v !== 'object') return 1;
    const known = memo.get(v);
    if (known !== undefined) return known;
    let total = 1;
    if (Array.isArray(v)) {
      for (const item of v) {
        total += size(item);
        if (total > budget) break;
      }
    } else {
      for (const [k, item] of Object.entries(v)) {
        total += k.length + size(item);
        if (total > budget) break;
      }
    }
    memo.set(v, total);
    return total;
  };
  return size(value);
}
