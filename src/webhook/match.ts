// Which GitSources a push can affect: the same repository, and a ref the source follows.
import type { GitSource } from '../api/index.ts';
import type { PushEvent, PushedRef } from './types.ts';
import { normaliseRepoUrl, repoKeys } from './url.ts';

/** True when a GitSource following `ref` may see a new revision after `pushed` moved. */
export function refAffected(ref: GitSource['spec']['ref'], pushed: PushedRef): boolean {
  if (ref?.commit) return false; // a pinned commit never moves
  if (ref?.tag !== undefined || ref?.semver !== undefined) return pushed.kind === 'tag';
  return pushed.kind === 'branch' && pushed.name === (ref?.branch ?? 'main');
}

/** The images a registry push names (`oci://host/repo` → `host/repo`), for ImagePolicies of that image. */
export function pushedImages(push: PushEvent): string[] {
  return push.repoUrls
    .filter((u) => u.startsWith('oci://'))
    .map((u) => u.slice('oci://'.length).replace(/\/+$/, ''));
}

/**
 * The GitSources a push wakes: same normalised repository URL; for `branch` (default main) a
 * push to that branch, for `tag`/`semver` any tag push, for `commit` never. Suspended and
 * deleting sources are left alone. `inScope` limits the namespaces (per-namespace secrets).
 */
export function affectedSources(
  push: PushEvent,
  sources: Iterable<GitSource>,
  inScope: (namespace: string) => boolean = () => true,
): GitSource[] {
  const keys = new Set(repoKeys(push.repoUrls));
  if (keys.size === 0) return [];
  const out: GitSource[] = [];
  for (const gs of sources) {
    if (!inScope(gs.metadata.namespace)) continue;
    if (gs.spec?.suspend || gs.metadata.deletionTimestamp) continue;
    // A chart in an OCI registry lives at <repository>/<name>: a push there may bring a new version.
    const chart = gs.spec?.chart;
    if (chart?.repository.startsWith('oci://')) {
      const chartUrl = normaliseRepoUrl(`${chart.repository.replace(/\/+$/, '')}/${chart.name}`);
      if (chartUrl && keys.has(chartUrl)) {
        out.push(gs);
        continue;
      }
    }
    const specUrl = gs.spec?.url;
    const url = typeof specUrl === 'string' ? normaliseRepoUrl(specUrl) : undefined;
    if (!url || !keys.has(url)) continue;
    const ref = gs.spec.ref;
    if (ref?.commit) continue;
    // An OCI artifact: any manifest pushed to its repository may move its tag or range; a digest never moves.
    if (specUrl!.startsWith('oci://')) {
      if (!ref?.digest) out.push(gs);
      continue;
    }
    // An unknown ref (generic endpoint without `ref`) may be anything but a pinned commit.
    if (push.refs.length === 0 || push.refs.some((r) => refAffected(ref, r))) out.push(gs);
  }
  return out;
}
