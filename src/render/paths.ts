// Keeps every path the renderer touches inside the checkout, symlinks included.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ConvergeError } from '../api/index.ts';

/** The checkout root with symlinks resolved, and helpers to name paths relative to it. */
export interface Checkout {
  /** Real path of the checkout root. */
  root: string;
  /** `rel` of an absolute path, `/`-separated, for messages. */
  display(abs: string): string;
}

export async function openCheckout(root: string): Promise<Checkout> {
  let real: string;
  try {
    real = await realpath(root);
  } catch (err) {
    throw new ConvergeError('RenderFailed', `checkout ${root} is not readable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return {
    root: real,
    display: (abs) => toPosix(path.relative(real, abs)) || '.',
  };
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

export function isInside(root: string, abs: string): boolean {
  const rel = path.relative(root, abs);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves the user's relative `path` against the checkout. `..` segments and absolute paths are
 * refused outright rather than normalised, so a spec can never name anything outside the repo.
 */
export async function resolveSourcePath(checkout: Checkout, rel: string): Promise<string> {
  const segments = rel.split(/[\\/]+/);
  if (path.isAbsolute(rel) || /^[a-zA-Z]:/.test(rel) || segments.includes('..')) {
    throw new ConvergeError('RenderFailed', `path "${rel}" must be relative and stay inside the repository`);
  }
  const joined = path.join(checkout.root, ...segments.filter((s) => s !== '' && s !== '.'));
  let real: string;
  try {
    real = await realpath(joined);
  } catch {
    throw new ConvergeError('RenderFailed', `path "${rel}" does not exist in the repository`);
  }
  if (!isInside(checkout.root, real)) {
    throw new ConvergeError('RenderFailed', `path "${rel}" resolves outside the repository (symlink)`);
  }
  return real;
}

/** Real path of `abs` if it stays inside the checkout; an error naming the link otherwise. */
async function confirmInside(checkout: Checkout, abs: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    throw new ConvergeError('RenderFailed', `${checkout.display(abs)}: symlink target does not exist`);
  }
  if (!isInside(checkout.root, real)) {
    throw new ConvergeError(
      'RenderFailed',
      `${checkout.display(abs)}: symlink resolves outside the repository`,
    );
  }
  return real;
}

export interface WalkEntry {
  /** The path as found, under the walked directory (links not resolved), for globs and messages. */
  abs: string;
  /** Path relative to the walked directory, `/`-separated. */
  rel: string;
  /** Resolved path, confirmed inside the checkout. */
  real: string;
}

export interface WalkOptions {
  /** Whether a file (by its relative path) is wanted; unwanted files are never resolved or read. */
  wantFile(rel: string, name: string): boolean;
  /** Directories (other than the start) to skip entirely. */
  skipDir?(abs: string, name: string): Promise<boolean>;
  signal?: AbortSignal;
}

/**
 * Lists files under `dir` in byte-wise sorted order, following symlinks only when they resolve
 * inside the checkout and visiting each real directory once (no symlink loops). Entries whose
 * name starts with `.` (`.git`, `.github`, …) are skipped.
 */
export async function walkFiles(checkout: Checkout, dir: string, opts: WalkOptions): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  const seen = new Set<string>();
  const visit = async (absDir: string, realDir: string, relDir: string): Promise<void> => {
    if (seen.has(realDir)) return;
    seen.add(realDir);
    opts.signal?.throwIfAborted();
    const names = (await readdir(absDir)).filter((n) => !n.startsWith('.')).sort(byteOrder);
    for (const name of names) {
      const abs = path.join(absDir, name);
      const rel = relDir ? `${relDir}/${name}` : name;
      const info = await lstat(abs);
      if (info.isSymbolicLink()) {
        // Only resolve links we would use: a stray link to /etc in docs/ is not our business.
        const target = await stat(abs).catch(() => undefined);
        if (target?.isDirectory()) {
          const real = await confirmInside(checkout, abs);
          if (!(await opts.skipDir?.(abs, name))) await visit(abs, real, rel);
        } else if (opts.wantFile(rel, name)) {
          const real = await confirmInside(checkout, abs);
          if (target?.isFile()) out.push({ abs, rel, real });
        }
      } else if (info.isDirectory()) {
        if (!(await opts.skipDir?.(abs, name))) await visit(abs, path.join(realDir, name), rel);
      } else if (info.isFile() && opts.wantFile(rel, name)) {
        out.push({ abs, rel, real: path.join(realDir, name) });
      }
    }
  };
  await visit(dir, dir, '');
  return out;
}

/** Fails if any symlink under `dir` resolves outside the checkout (for trees handed to kustomize/helm). */
export async function assertNoEscapingLinks(
  checkout: Checkout,
  dir: string,
  signal?: AbortSignal,
): Promise<void> {
  const seen = new Set<string>();
  const visit = async (absDir: string): Promise<void> => {
    const real = await realpath(absDir);
    if (seen.has(real)) return;
    seen.add(real);
    signal?.throwIfAborted();
    for (const entry of await readdir(absDir, { withFileTypes: true })) {
      const abs = path.join(absDir, entry.name);
      if (entry.isSymbolicLink()) {
        await confirmInside(checkout, abs);
        if ((await stat(abs)).isDirectory()) await visit(abs);
      } else if (entry.isDirectory() && entry.name !== '.git') {
        await visit(abs);
      }
    }
  };
  await visit(dir);
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
