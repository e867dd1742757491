// The one escaping helper of the status page: `html` escapes every interpolated value unless it is already HTML it built.

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** A fragment of markup built by `html`; only this type is inserted without escaping. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Text (from Git, the cluster, anywhere) made safe for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function insert(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof SafeHtml) return part.value;
  if (Array.isArray(part)) return part.map(insert).join('');
  return escapeHtml(String(part));
}

/**
 * Tagged template for markup: literal parts are trusted (they are our source code), every `${}`
 * value is escaped, nested `html` results and arrays of them are kept. Attribute values must be
 * quoted in the template (`href="${url}"`), which escaping quotes keeps closed.
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  const parts = compact(strings);
  let out = parts[0]!;
  for (let i = 0; i < values.length; i++) out += insert(values[i]) + parts[i + 1]!;
  return new SafeHtml(out);
}

const compacted = new WeakMap<TemplateStringsArray, readonly string[]>();

/**
 * The template's own line breaks and indentation become one space (what HTML renders them as
 * anyway outside <pre>): a 1,000-row page is about half the bytes. Only our literal markup is
 * touched, never interpolated text. Cached per call site.
 */
function compact(strings: TemplateStringsArray): readonly string[] {
  let parts = compacted.get(strings);
  if (!parts) {
    parts = strings.map((s) => s.replace(/\n\s*/g, ' '));
    compacted.set(strings, parts);
  }
  return parts;
}
