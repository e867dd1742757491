// A bucket's revision and which objects to take (pure): Flux's Bucket revision (sha256 over the sorted
// `<key> <etag>` lines), keys made relative to the prefix and refused when they could leave it.
import { createHash } from 'node:crypto';
import { ConvergeError } from '../../api/index.ts';

export interface BucketObject {
  /** Full object key. */
  key: string;
  /** ETag without quotes. */
  etag: string;
  size: number;
}

export interface BucketEntry extends BucketObject {
  /** The key relative to the prefix: where the object goes in the tree. */
  path: string;
}

/** `sha256:<hex>` over `<key> <etag>\n` for every key in sorted order, as Flux's Bucket computes it. */
export function bucketRevision(objects: readonly BucketObject[]): string {
  const hash = createHash('sha256');
  for (const o of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    hash.update(`${o.key} ${o.etag}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}

export function unquoteEtag(etag: string): string {
  return etag
    .replace(/^W\//, '')
    .replace(/^"|"$/g, '')
    .replace(/^&quot;|&quot;$/g, '');
}

/**
 * The objects under `prefix` as tree entries: "directory" markers (keys ending in /) dropped, keys
 * that are absolute, hold `..`, `.`, NUL or backslashes refused (FetchFailed naming the key), and
 * those `keep` rejects (spec.exclude) left out.
 */
export function bucketEntries(
  objects: readonly BucketObject[],
  prefix: string,
  where: string,
  keep: (path: string) => boolean,
): BucketEntry[] {
  const base = prefix ? `${prefix}/` : '';
  const out: BucketEntry[] = [];
  for (const o of objects) {
    if (!o.key.startsWith(base) || o.key.endsWith('/')) continue;
    const path = o.key.slice(base.length);
    const parts = path.split('/');
    if (
      path.startsWith('/') ||
      path.includes('\0') ||
      path.includes('\\') ||
      parts.some((p) => p === '..' || p === '.' || p === '')
    ) {
      throw new ConvergeError(
        'FetchFailed',
        `${where}: object key ${JSON.stringify(o.key.slice(0, 300))} would be written outside the prefix; refused, nothing applied`,
      );
    }
    if (!keep(path)) continue;
    out.push({ ...o, path });
  }
  return out;
}
