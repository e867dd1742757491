// Ages as kubectl shows them (45s, 3m12s, 5h, 2d3h): pure, the clock is passed in.

/** Time since `from` in kubectl's HumanDuration style; `-` when unknown. */
export function formatAge(from: string | Date | undefined, now: Date): string {
  if (from === undefined) return '-';
  const t = typeof from === 'string' ? Date.parse(from) : from.getTime();
  if (Number.isNaN(t)) return '-';
  return humanDuration(Math.max(0, now.getTime() - t));
}

export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
