// Which chart version a range picks, and what to tell the user when none does: pure.
import semver from 'semver';
import { ConvergeError } from '../../api/index.ts';
import type { ChartVersion } from './index-file.ts';

/**
 * The highest version `range` admits ("*" or empty: the highest stable one; an exact version is a
 * range too). RefNotFound naming the nearest versions the repository has when none matches.
 */
export function pickVersion(
  name: string,
  range: string,
  versions: readonly ChartVersion[],
  where: string,
): ChartVersion {
  const wanted = range.trim() || '*';
  if (!semver.validRange(wanted))
    throw new ConvergeError(
      'InvalidSpec',
      `spec.chart.version ${JSON.stringify(range)} is not a semver version or range`,
    );
  const valid = versions.filter((v) => semver.valid(v.version));
  // An exact prerelease asked for by name is found; a range admits prereleases only when it names one.
  const best = semver.maxSatisfying(
    valid.map((v) => v.version),
    wanted,
  );
  const found = best === null ? undefined : valid.find((v) => v.version === best);
  if (found) return found;
  if (versions.length === 0) throw new ConvergeError('RefNotFound', `chart ${name} not found in ${where}`);
  throw new ConvergeError(
    'RefNotFound',
    `no version of chart ${name} in ${where} matches ${JSON.stringify(wanted)}; the nearest are ${nearest(valid, wanted).join(', ')} (${versions.length} versions)`,
  );
}

/** Up to five versions around where the range would be: the three below its lowest bound and two above. */
export function nearest(versions: readonly ChartVersion[], range: string): string[] {
  const sorted = [...new Set(versions.map((v) => v.version))].sort(semver.compare);
  if (sorted.length === 0) return [];
  let floor: string | undefined;
  try {
    floor = semver.minVersion(range)?.version;
  } catch {
    floor = undefined;
  }
  const at = floor === undefined ? sorted.length : sorted.findIndex((v) => semver.gte(v, floor!));
  const cut = at === -1 ? sorted.length : at;
  return [...sorted.slice(Math.max(0, cut - 3), cut).reverse(), ...sorted.slice(cut, cut + 2)];
}
