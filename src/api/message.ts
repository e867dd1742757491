// Makes text from git servers, kustomize, helm or the API server safe and bounded for conditions, events and logs.

/** Kubernetes Event `note` limit (bytes); conditions use the same bound so one message fits both. */
export const MESSAGE_MAX_BYTES = 1024;
/** Marker for text cut short. */
export const ELLIPSIS = '…';

// ECMA-48 escape sequences: CSI (`ESC [` or 8-bit 0x9B, parameters, a final byte), OSC/DCS/SOS/PM/APC
// strings (up to BEL or ST), and two-byte `ESC x` sequences. A terminal acts on these; a
// condition or an event note must not make `kubectl describe` or a log viewer do anything.
const ESCAPES = new RegExp(
  [
    '(?:\\x1b\\[|\\x9b)[\\x20-\\x3f]*[\\x40-\\x7e]?', // CSI
    '(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?', // OSC, DCS, SOS, PM, APC
    '\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?', // other ESC sequences (charset, keypad, …), or a lone ESC
  ].join('|'),
  'g',
);
// C0 controls but tab and newline, DEL and C1 controls.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// Bidirectional overrides, embeddings and isolates (the "Trojan Source" characters), and invisible
// characters that can hide text: a message must read the way it is stored.
const INVISIBLE = /[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

// Half of a UTF-16 pair without its other half: not text, and not encodable as UTF-8.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export interface SanitizeOptions {
  /** Bound in UTF-8 bytes, ellipsis included (default 1024). */
  maxBytes?: number;
}

/**
 * Strips terminal escape sequences, control characters (newlines kept, `\r` and tabs made plain),
 * bidi overrides and invisible characters, and bounds the text to `maxBytes` UTF-8 bytes, cut at
 * a character boundary and marked with `…`. Idempotent, so stages may apply it again.
 */
export function sanitizeMessage(text: string, opts: SanitizeOptions = {}): string {
  const maxBytes = opts.maxBytes ?? MESSAGE_MAX_BYTES;
  const clean = text
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(ESCAPES, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\t\v\f]/g, ' ')
    .replace(/[\u2028\u2029]/g, '\n')
    .replace(CONTROLS, '')
    .replace(INVISIBLE, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return truncateBytes(clean, maxBytes);
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes (ellipsis included), never inside a character. */
export function truncateBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const budget = Math.max(0, maxBytes - Buffer.byteLength(ELLIPSIS));
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > budget) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end).trimEnd() + ELLIPSIS;
}

/** A timeout as a person would say it: `500ms`, `1.5s`, `30s`, `2m`, `1m30s` (whole seconds from 10s). */
export function formatTimeout(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 9950) return `${Math.round(ms / 100) / 10}s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || total === 0 ? `${s}s` : ''}`;
}
