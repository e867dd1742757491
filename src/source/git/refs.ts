// Reads `git ls-remote` output and picks the commit a ref points at: branch, tag (peeled) or highest semver tag.
import semver from 'semver';
import { ConvergeError } from '../../api/index.ts';
import type { ResolvedRefSpec } from './validate.ts';

/** What a ref resolved to: the remote ref to fetch, the name shown in the revision, and the commit. */
export interface RemoteTarget {
  /** Full ref to fetch (refs/heads/main, refs/tags/v1.2.0) or the SHA itself for a pinned commit. */
  fetchRef: string;
  /** Branch or tag name for the revision string; undefined for a pinned commit. */
  name?: string;
  commit: string;
}

/**
 * ls-remote arguments that list just what `spec` needs. Git sends only --heads/--tags to a protocol
 * v2 server as a ref-prefix filter (patterns are matched client-side since git 2.22), so a branch poll
 * transfers the remote's branches but none of its tags, and a tag or semver poll only its tags.
 */
export function lsRemoteArgs(spec: ResolvedRefSpec, url: string): string[] {
  switch (spec.kind) {
    case 'branch':
      return ['ls-remote', '--heads', '--', url, `refs/heads/${spec.name}`];
    case 'tag':
      return ['ls-remote', '--tags', '--', url, `refs/tags/${spec.name}`, `refs/tags/${spec.name}^{}`];
    case 'semver':
      return ['ls-remote', '--tags', '--', url];
    case 'commit':
      return [];
  }
}

/** ref name → commit SHA; annotated tags are replaced by the commit they point at (the ^{} line). */
export function parseLsRemote(stdout: string): Map<string, string> {
  const refs = new Map<string, string>();
  const peeled = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([0-9a-f]{40}|[0-9a-f]{64})\t(\S+)$/.exec(line.trim());
    if (!m) continue;
    const [, sha, ref] = m as unknown as [string, string, string];
    if (ref.endsWith('^{}')) peeled.set(ref.slice(0, -3), sha);
    else refs.set(ref, sha);
  }
  for (const [ref, sha] of peeled) refs.set(ref, sha);
  return refs;
}

/** Picks the target of `spec` from a listing; RefNotFound when nothing matches. */
export function pickTarget(spec: ResolvedRefSpec, refs: Map<string, string>, target: string): RemoteTarget {
  switch (spec.kind) {
    case 'commit':
      return { fetchRef: spec.sha, commit: spec.sha };
    case 'branch':
    case 'tag': {
      const fetchRef = `refs/${spec.kind === 'branch' ? 'heads' : 'tags'}/${spec.name}`;
      const commit = refs.get(fetchRef);
      if (commit === undefined) {
        throw new ConvergeError(
          'RefNotFound',
          `${spec.kind} "${spec.name}" not found in ${target}: check spec.ref.${spec.kind} (it may have been deleted)`,
        );
      }
      return { fetchRef, name: spec.name, commit };
    }
    case 'semver': {
      const best = highestMatchingTag(spec.range, [...refs.keys()]);
      const commit = best ? refs.get(`refs/tags/${best}`) : undefined;
      if (best === undefined || commit === undefined) {
        throw new ConvergeError(
          'RefNotFound',
          `no tag in ${target} matches semver range "${spec.range}": push a matching tag or widen spec.ref.semver`,
        );
      }
      return { fetchRef: `refs/tags/${best}`, name: best, commit };
    }
  }
}

/**
 * The tag with the highest version satisfying `range`. A leading "v" is allowed. Prereleases match
 * only when the range itself names a prerelease on the same version (semver's default, which keeps
 * 2.0.0-rc.1 out of ">=1.0.0"). Ties (v1.0.0 and 1.0.0) go to the name that sorts first.
 */
export function highestMatchingTag(range: string, refNames: readonly string[]): string | undefined {
  let best: { tag: string; version: semver.SemVer } | undefined;
  for (const ref of refNames) {
    if (!ref.startsWith('refs/tags/')) continue;
    const tag = ref.slice('refs/tags/'.length);
    const version = semver.parse(tag);
    if (!version || !semver.satisfies(version, range)) continue;
    const order = best ? semver.compare(version, best.version) : 1;
    if (order > 0 || (order === 0 && best && tag < best.tag)) best = { tag, version };
  }
  return best?.tag;
}

/** `main@sha1:<sha>` for branches and tags, `sha1:<sha>` for a pinned commit, as Flux writes them. */
export function formatRevision(name: string | undefined, commit: string): string {
  const algo = commit.length === 64 ? 'sha256' : 'sha1';
  return name === undefined ? `${algo}:${commit}` : `${name}@${algo}:${commit}`;
}
