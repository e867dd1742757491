// The commit message of an image update: spec.imageUpdates.messageTemplate with its few placeholders.
import type { FieldChange } from './setters.ts';

export const DEFAULT_MESSAGE_TEMPLATE = 'Update images\n\n{{changes}}';

export interface MessageFacts {
  changes: readonly FieldChange[];
  /** `<namespace>/<name>` of the GitSource. */
  source: string;
  branch: string;
}

const PLACEHOLDERS = ['changes', 'count', 'source', 'branch'] as const;

/** One line per change: `clusters/web.yaml:12: registry/web:1.0.0 → registry/web:1.1.0`. */
export function changeList(changes: readonly FieldChange[]): string {
  return changes.map((c) => `- ${c.file}:${c.line}: ${c.old} → ${c.new}`).join('\n');
}

/**
 * Renders the template, or says what is wrong with it: an unknown placeholder (a Flux Go template
 * such as `{{range .Changed.Changes}}` among them) or an unclosed `{{`.
 */
export function renderMessage(
  template: string | undefined,
  facts: MessageFacts,
): { ok: true; message: string } | { ok: false; error: string } {
  const text = template ?? DEFAULT_MESSAGE_TEMPLATE;
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    changes: changeList(facts.changes),
    count: String(facts.changes.length),
    source: facts.source,
    branch: facts.branch,
  };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, open);
    const close = text.indexOf('}}', open + 2);
    if (close < 0) return bad(`"{{" at offset ${open} is never closed`);
    const name = text.slice(open + 2, close).trim();
    if (!(PLACEHOLDERS as readonly string[]).includes(name))
      return bad(`unknown placeholder {{${name}}} (use ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`);
    out += values[name as (typeof PLACEHOLDERS)[number]];
    i = close + 2;
  }
  if (out.trim() === '') return bad('renders an empty message');
  return { ok: true, message: out.endsWith('\n') ? out : `${out}\n` };
}

function bad(why: string): { ok: false; error: string } {
  return { ok: false, error: `spec.imageUpdates.messageTemplate: ${why}` };
}
