// A small glob matcher for include/exclude: `**` spans directories, `*` and `?` stay within one.

/** Compiles a glob over `/`-separated relative paths into a predicate; supports `**`, `*`, `?`, `[...]`. */
function compileGlob(glob: string): (relPath: string) => boolean {
  const pattern = glob.startsWith('./') ? glob.slice(2) : glob;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        const atSegmentStart = i === 0 || pattern[i - 1] === '/';
        const next = pattern[i + 2];
        i++;
        if (atSegmentStart && next === '/') {
          // `**/` matches zero or more whole directories.
          re += '(?:[^/]*/)*';
          i++;
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
      } else {
        let body = pattern.slice(i + 1, close).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body}]`;
        i = close;
      }
    } else {
      re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
  }
  const compiled = new RegExp(re + '$');
  return (relPath) => compiled.test(relPath);
}

/** Include (all when empty) minus exclude: exclude wins. */
export function pathFilter(
  include: readonly string[] = [],
  exclude: readonly string[] = [],
): (rel: string) => boolean {
  const inc = include.map(compileGlob);
  const exc = exclude.map(compileGlob);
  return (rel) => (inc.length === 0 || inc.some((m) => m(rel))) && !exc.some((m) => m(rel));
}
