// `${VAR}` substitution on string values after rendering, Flux-style, with `$${VAR}` as the escape.

const PATTERN = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${VAR}` in one string; unknown variables stay as written, `$${VAR}` becomes `${VAR}`. */
function substituteString(text: string, vars: Readonly<Record<string, string>>): string {
  if (!text.includes('${')) return text;
  return text.replace(PATTERN, (whole, escape: string, name: string) => {
    if (escape) return whole.slice(1);
    return Object.hasOwn(vars, name) ? vars[name]! : whole;
  });
}

/**
 * A deep copy of a parsed document with every string value substituted. Copying also unshares
 * nodes that YAML aliases made common, so later stages can edit one object without touching
 * another. Keys are left alone, and `__proto__` keys stay plain data.
 */
export function substituteDeep(value: unknown, vars: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return substituteString(value, vars);
  if (Array.isArray(value)) return value.map((v) => substituteDeep(v, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteDeep(v, vars)]));
  }
  return value;
}
