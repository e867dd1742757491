// Rewrites the fields of one YAML file marked `# {"$imagepolicy": "<ns>:<name>[:tag|:name|:digest]"}`
// (Flux's setter markers). Only the marked scalars' bytes change: the rest of the file stays as it was.
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  parseDocument,
  visit,
  type Scalar,
} from 'yaml';

/** Which part of the selected image a marker wants. */
export type MarkerField = 'image' | 'tag' | 'name' | 'digest';

export interface MarkerRef {
  namespace: string;
  name: string;
  field: MarkerField;
}

/** What a marker is set to: the policy's image and its latest tag (and digest, when known). */
export interface PolicyValue {
  image: string;
  tag: string;
  digest?: string | undefined;
}

/** A policy looked up for a marker: its value, or why the marker cannot be applied. */
export type PolicyLookup = { ok: true; value: PolicyValue } | { ok: false; error: string };

export interface FieldChange {
  file: string;
  line: number;
  /** `<ns>:<name>` of the policy. */
  policy: string;
  old: string;
  new: string;
}

export interface MarkerProblem {
  file: string;
  line: number;
  message: string;
}

export interface FileUpdate {
  /** The new text, or undefined when nothing changed. */
  text: string | undefined;
  changes: FieldChange[];
  problems: MarkerProblem[];
  /** Markers found (applied, already up to date or not). */
  markers: number;
}

/** Cheap test before any parsing: most files carry no marker. */
export function hasMarkers(text: string): boolean {
  return text.includes('$imagepolicy');
}

interface FoundMarker {
  line: number;
  ref?: MarkerRef;
  error?: string;
}

// A trailing comment holding a JSON object with an "$imagepolicy" key, after some value on the line.
const MARKER = /\S[^\n]*?\s#\s*(\{[^\n]*"\$imagepolicy"[^\n]*\})\s*$/;
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function parseMarker(json: string): MarkerRef | string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return `marker ${json} is not valid JSON`;
  }
  const setter = (value as Record<string, unknown> | null)?.['$imagepolicy'];
  if (typeof setter !== 'string')
    return `marker ${json}: "$imagepolicy" must be a string "<namespace>:<policy>"`;
  const parts = setter.split(':');
  const [namespace, name, field] = parts;
  if (parts.length < 2 || parts.length > 3 || !namespace || !name)
    return `marker "${setter}" must be "<namespace>:<policy>", optionally with :tag, :name or :digest`;
  if (!NAME.test(namespace) || !NAME.test(name))
    return `marker "${setter}" names no valid namespace and policy`;
  if (field !== undefined && field !== 'tag' && field !== 'name' && field !== 'digest')
    return `marker "${setter}": unknown suffix ":${field}" (use :tag, :name or :digest)`;
  return { namespace, name, field: (field as MarkerField | undefined) ?? 'image' };
}

/** The markers of a file, by line (1-based), with malformed ones as errors. */
function scanMarkers(text: string): FoundMarker[] {
  const found: FoundMarker[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes('$imagepolicy')) continue;
    const m = MARKER.exec(line);
    // A marker alone on its line (in a comment block) sets nothing, as with Flux.
    if (!m || line.trimStart().startsWith('#')) continue;
    const ref = parseMarker(m[1]!);
    found.push(typeof ref === 'string' ? { line: i + 1, error: ref } : { line: i + 1, ref });
  }
  return found;
}

/** The policies a file's markers name, `<ns>:<name>` (for looking them up before updateFile). */
export function markerPolicies(text: string): string[] {
  if (!hasMarkers(text)) return [];
  const names = new Set<string>();
  for (const m of scanMarkers(text)) if (m.ref) names.add(`${m.ref.namespace}:${m.ref.name}`);
  return [...names];
}

export function valueFor(field: MarkerField, v: PolicyValue): string | undefined {
  switch (field) {
    case 'image':
      return `${v.image}:${v.tag}`;
    case 'tag':
      return v.tag;
    case 'name':
      return v.image;
    case 'digest':
      return v.digest;
  }
}

/**
 * Applies the markers of one file. `lookup` answers for `<ns>:<name>`. Each marked scalar is replaced
 * in place, in its own quoting style; a file that is not YAML, or a marker that cannot be applied, is
 * a problem naming the line, and the other markers still apply.
 */
export function updateFile(file: string, text: string, lookup: (policy: string) => PolicyLookup): FileUpdate {
  const result: FileUpdate = { text: undefined, changes: [], problems: [], markers: 0 };
  if (!hasMarkers(text)) return result;
  const markers = scanMarkers(text);
  if (markers.length === 0) return result;
  result.markers = markers.length;
  const problem = (line: number, message: string) => result.problems.push({ file, line, message });

  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const line = lineCounter.linePos(err.pos[0]).line;
      problem(line, `not valid YAML, so no marker in this file was applied: ${firstLine(err.message)}`);
      return result;
    }
  }

  // The value scalar that ends on each line (keys are skipped: a marker sets the value after them).
  const valueOnLine = new Map<number, Scalar>();
  const collectionOnLine = new Set<number>();
  for (const doc of list) {
    visit(doc, {
      Pair(_, pair) {
        if (isScalar(pair.value) && pair.value.range) {
          // A block scalar (| or >) starts on the marker's line and ends lines later.
          const block = pair.value.type === 'BLOCK_LITERAL' || pair.value.type === 'BLOCK_FOLDED';
          valueOnLine.set(lineCounter.linePos(pair.value.range[block ? 0 : 1]).line, pair.value);
        } else if (isScalar(pair.key) && pair.key.range && (isMap(pair.value) || isSeq(pair.value))) {
          collectionOnLine.add(lineCounter.linePos(pair.key.range[1]).line);
        }
      },
      Seq(_, seq) {
        for (const item of seq.items) {
          if (isScalar(item) && item.range) valueOnLine.set(lineCounter.linePos(item.range[1]).line, item);
        }
      },
    });
  }

  const edits: Array<{ start: number; end: number; text: string }> = [];
  for (const marker of markers) {
    if (marker.error !== undefined || !marker.ref) {
      problem(marker.line, marker.error ?? 'bad marker');
      continue;
    }
    const ref = marker.ref;
    const policy = `${ref.namespace}:${ref.name}`;
    const node = valueOnLine.get(marker.line);
    if (!node || !node.range) {
      problem(
        marker.line,
        collectionOnLine.has(marker.line)
          ? `marker "${policy}" is on a key whose value is a map or list, not a string`
          : `marker "${policy}" follows no value on its line`,
      );
      continue;
    }
    if (typeof node.value !== 'string') {
      problem(
        marker.line,
        `marker "${policy}" is on a ${node.value === null ? 'null' : typeof node.value} value (${String(node.value)}), not a string: quote it`,
      );
      continue;
    }
    if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
      problem(marker.line, `marker "${policy}" is on a block scalar (| or >): use a one-line value`);
      continue;
    }
    const found = lookup(policy);
    if (!found.ok) {
      problem(marker.line, found.error);
      continue;
    }
    const next = valueFor(ref.field, found.value);
    if (next === undefined) {
      problem(
        marker.line,
        `marker "${policy}:digest": the policy has no digest for tag ${found.value.tag} yet`,
      );
      continue;
    }
    if (next === node.value) continue;
    const [start, end] = node.range;
    edits.push({ start, end, text: formatScalar(next, node.type) });
    result.changes.push({ file, line: marker.line, policy, old: node.value, new: next });
  }
  if (edits.length === 0) return result;

  // Splice from the end so earlier offsets stay valid; every other byte is the original's.
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  result.text = out;
  return result;
}

/** The new value in the old quoting style; a plain scalar becomes double-quoted only if it must. */
export function formatScalar(value: string, type: Scalar['type']): string {
  if (type === 'QUOTE_SINGLE') return `'${value.replace(/'/g, "''")}'`;
  if (type === 'QUOTE_DOUBLE') return JSON.stringify(value);
  return readsBackAsString(value) ? value : JSON.stringify(value);
}

/** Would `value` written plain (as a flow or block value) read back as this very string? */
function readsBackAsString(value: string): boolean {
  if (value === '' || /[\n\r\t#]|: |^[\s\-?:,[\]{}&*!|>'"%@`]|\s$/.test(value)) return false;
  if (/[,[\]{}]/.test(value)) return false;
  const doc = parseDocument(value);
  return (
    doc.errors.length === 0 && doc.contents !== null && isScalar(doc.contents) && doc.contents.value === value
  );
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
