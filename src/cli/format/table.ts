// Plain-text tables as kubectl prints them: upper-case headers, columns padded with three spaces.

/** Left-aligned columns; the last column is not padded. Cells must not contain newlines. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c))))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Display width: code points, so ✓ and … count as one column. */
function width(text: string): number {
  return [...text].length;
}

/** Cuts a cell to `max` characters with an ellipsis. */
export function cell(text: string | undefined, max = 80): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  if (!flat) return '-';
  const chars = [...flat];
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join('')}…`;
}
