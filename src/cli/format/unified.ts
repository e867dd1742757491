// Line diffs in unified format (Myers' algorithm), with optional ANSI colour: pure, for `converge diff`.

export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

/** Beyond this many (lines × edits) the diff shows the whole text replaced rather than searching on. */
const MAX_WORK = 20_000_000;

/** The shortest edit script turning `a` into `b`, as kept, removed and added lines in order. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const keep = (text: string): DiffLine => ({ op: ' ', text });
  return [
    ...a.slice(0, start).map(keep),
    ...myers(a.slice(start, endA), b.slice(start, endB)),
    ...a.slice(endA).map(keep),
  ];
}

function myers(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const replaced = (): DiffLine[] => [
    ...a.map((text): DiffLine => ({ op: '-', text })),
    ...b.map((text): DiffLine => ({ op: '+', text })),
  ];
  if (n === 0 || m === 0) return replaced();
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    if ((d + 1) * (2 * max + 3) > MAX_WORK) return replaced();
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, offset);
    }
  }
  return replaced();
}

function backtrack(
  trace: Int32Array[],
  a: readonly string[],
  b: readonly string[],
  offset: number,
): DiffLine[] {
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = v[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ op: ' ', text: a[x - 1]! });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) out.push({ op: '+', text: b[y - 1]! });
      else out.push({ op: '-', text: a[x - 1]! });
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

/**
 * `--- from` / `+++ to` and `@@ -l,n +l,n @@` hunks with `context` lines around each change, as
 * `diff -u` prints them; empty when the texts are equal.
 */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
  context = 3,
): string[] {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  const lines = diffLines(a, b);
  const changed = lines.flatMap((l, i) => (l.op === ' ' ? [] : [i]));
  if (changed.length === 0) return [];
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  // Line numbers in a and b where each entry of `lines` starts.
  const aAt: number[] = [];
  const bAt: number[] = [];
  let ai = 1;
  let bi = 1;
  for (const l of lines) {
    aAt.push(ai);
    bAt.push(bi);
    if (l.op !== '+') ai++;
    if (l.op !== '-') bi++;
  }
  let i = 0;
  while (i < changed.length) {
    const first = changed[i]!;
    let last = first;
    while (i + 1 < changed.length && changed[i + 1]! - last <= 2 * context + 1) last = changed[++i]!;
    i++;
    const from = Math.max(0, first - context);
    const to = Math.min(lines.length - 1, last + context);
    const hunk = lines.slice(from, to + 1);
    const aLen = hunk.filter((l) => l.op !== '+').length;
    const bLen = hunk.filter((l) => l.op !== '-').length;
    const aStart = aLen === 0 ? aAt[from]! - 1 : aAt[from]!;
    const bStart = bLen === 0 ? bAt[from]! - 1 : bAt[from]!;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`);
    for (const l of hunk) out.push(`${l.op}${l.text}`);
  }
  return out;
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', cyan: '\x1b[36m', bold: '\x1b[1m', reset: '\x1b[0m' };

/** Colours unified-diff lines as git does: headers bold, hunks cyan, removals red, additions green. */
export function colorizeDiff(lines: readonly string[]): string[] {
  return lines.map((l) => {
    if (l.startsWith('--- ') || l.startsWith('+++ ')) return `${ANSI.bold}${l}${ANSI.reset}`;
    if (l.startsWith('@@')) return `${ANSI.cyan}${l}${ANSI.reset}`;
    if (l.startsWith('-')) return `${ANSI.red}${l}${ANSI.reset}`;
    if (l.startsWith('+')) return `${ANSI.green}${l}${ANSI.reset}`;
    return l;
  });
}

export function paint(text: string, colour: keyof typeof ANSI, enabled: boolean): string {
  return enabled ? `${ANSI[colour]}${text}${ANSI.reset}` : text;
}
