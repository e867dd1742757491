// Which tag an ImagePolicy selects from a registry's list: filterTags (Go-style regex), then semver,
// alphabetical or numerical order. Pure, so every rule is table-tested.
import semver from 'semver';
import type { ImagePolicySpec } from '../api/index.ts';

export type Selection =
  | { ok: true; tag: string; matched: number }
  | { ok: false; reason: 'NoMatchingTag' | 'InvalidSpec'; message: string };

export interface TagFilter {
  /** The compared value of a tag, or undefined when the tag is not considered. */
  valueOf(tag: string): string | undefined;
}

/**
 * Compiles spec.filterTags. Flux users write Go (RE2) syntax: `(?P<name>…)` named groups become
 * JavaScript's `(?<name>…)`; `extract` names groups as `$name`, `${name}` or `$1`. Throws an Error
 * saying what is wrong with the pattern.
 */
export function compileFilter(filter: ImagePolicySpec['filterTags']): TagFilter {
  if (!filter) return { valueOf: (tag) => tag };
  let re: RegExp;
  try {
    re = new RegExp(translateGoRegex(filter.pattern));
  } catch (err) {
    throw new Error(
      `spec.filterTags.pattern ${JSON.stringify(filter.pattern)} is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
      { cause: err },
    );
  }
  const extract = filter.extract;
  if (extract) {
    const names = new Set(Object.keys(new RegExp(`${re.source}|`).exec('')?.groups ?? {}));
    for (const ref of groupRefs(extract)) {
      if (/^\d+$/.test(ref)) continue;
      if (!names.has(ref))
        throw new Error(
          `spec.filterTags.extract names group "${ref}", which spec.filterTags.pattern does not define`,
        );
    }
  }
  return {
    valueOf(tag) {
      const m = re.exec(tag);
      if (!m) return undefined;
      return extract ? expand(extract, m) : tag;
    },
  };
}

/** `(?P<name>` → `(?<name>`; `(?P=name)` → `\k<name>`. Escaped parentheses are left alone. */
export function translateGoRegex(pattern: string): string {
  return pattern.replace(
    /(\\*)\(\?P(<[A-Za-z_][A-Za-z0-9_]*>|=([A-Za-z_][A-Za-z0-9_]*)\))/g,
    (all, slashes, rest, backref) => {
      // An odd number of backslashes escapes the parenthesis: not a group.
      if ((slashes as string).length % 2 === 1) return all;
      return backref ? `${slashes}\\k<${backref}>` : `${slashes}(?${rest}`;
    },
  );
}

function groupRefs(template: string): string[] {
  return [...template.matchAll(/\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g)].map((m) => m[1] ?? m[2]!);
}

/** Go's Regexp.Expand: `$name`/`${name}` (a group's text, empty when absent), `$$` a dollar. */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (all, braced, bare) => {
    const ref = (braced ?? bare) as string | undefined;
    if (ref === undefined) return '$';
    return (/^\d+$/.test(ref) ? m[Number(ref)] : m.groups?.[ref]) ?? '';
  });
}

/** A semver range as the policy uses it, or an Error naming the field. */
export function checkRange(range: string): void {
  if (semver.validRange(range) === null)
    throw new Error(`spec.policy.semver.range ${JSON.stringify(range)} is not a valid semver range`);
}

/** The selected tag of `tags` under `spec`, or why there is none. */
export function selectTag(spec: ImagePolicySpec, tags: readonly string[]): Selection {
  let filter: TagFilter;
  try {
    filter = compileFilter(spec.filterTags);
    if (spec.policy.semver) checkRange(spec.policy.semver.range);
  } catch (err) {
    return { ok: false, reason: 'InvalidSpec', message: (err as Error).message };
  }
  const candidates: Array<{ tag: string; value: string }> = [];
  for (const tag of tags) {
    const value = filter.valueOf(tag);
    if (value !== undefined) candidates.push({ tag, value });
  }
  const seen = `${tags.length} tag${tags.length === 1 ? '' : 's'}`;
  const filtered = spec.filterTags
    ? `, ${candidates.length} matching spec.filterTags.pattern ${JSON.stringify(spec.filterTags.pattern)}`
    : '';
  const none = (why: string): Selection => ({
    ok: false,
    reason: 'NoMatchingTag',
    message: `no tag of ${spec.image} ${why} (the registry listed ${seen}${filtered})`,
  });
  if (candidates.length === 0) {
    return tags.length === 0
      ? none('exists')
      : none(`matches spec.filterTags.pattern ${JSON.stringify(spec.filterTags?.pattern)}`);
  }

  if (spec.policy.semver) {
    const range = spec.policy.semver.range;
    let best: { tag: string; version: semver.SemVer } | undefined;
    let matched = 0;
    for (const c of candidates) {
      const version = semver.parse(c.value.replace(/^v(?=\d)/, ''));
      if (!version || !semver.satisfies(version, range)) continue;
      matched++;
      if (!best || semver.gt(version, best.version)) best = { tag: c.tag, version };
    }
    if (!best) return none(`is a semantic version in range ${JSON.stringify(range)}`);
    return { ok: true, tag: best.tag, matched };
  }

  if (spec.policy.numerical) {
    const numeric = candidates
      .map((c) => ({
        tag: c.tag,
        n: /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(c.value) ? Number(c.value) : NaN,
      }))
      .filter((c) => Number.isFinite(c.n));
    if (numeric.length === 0) return none('has a number to compare (spec.policy.numerical)');
    const desc = spec.policy.numerical.order === 'desc';
    const pick = numeric.reduce((a, b) => ((desc ? b.n < a.n : b.n > a.n) ? b : a));
    return { ok: true, tag: pick.tag, matched: numeric.length };
  }

  const desc = spec.policy.alphabetical?.order === 'desc';
  // Byte order, as Flux compares (not locale order): "1.10" after "1.1", uppercase before lowercase.
  const pick = candidates.reduce((a, b) => {
    const cmp = b.value < a.value ? -1 : b.value > a.value ? 1 : 0;
    return (desc ? cmp < 0 : cmp > 0) ? b : a;
  });
  return { ok: true, tag: pick.tag, matched: candidates.length };
}
