// Disk use of a cache, measured as `du` does: shared by every kind of source.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes used by a directory tree (allocated blocks, like `du`), without following links. */
export async function du(path: string): Promise<number> {
  let total = 0;
  let info;
  try {
    info = await lstat(path);
  } catch {
    return 0;
  }
  total += info.blocks * 512;
  if (!info.isDirectory()) return total;
  let names: string[];
  try {
    names = await readdir(path);
  } catch {
    return total;
  }
  for (const name of names) total += await du(join(path, name));
  return total;
}
