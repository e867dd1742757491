// Writes an edit of a repository back to Git: fetch the branch (shallow), edit the checkout, commit,
// push without force; a push that lost a race (non-fast-forward) is redone on the new head, bounded.
import { createHash } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConvergeError } from '../api/index.ts';
import {
  checkUrl,
  gitEnv,
  prepareAuth,
  runGit,
  type GitCredentials,
  type GitStats,
} from '../source/index.ts';
import { UpdateError } from './errors.ts';

export interface WriteBackOptions {
  /** Root of the checkouts image updates commit in (one per GitSource and branch). */
  workDir: string;
  logger: Logger;
  allowFileUrls?: boolean;
  tmpDir?: string;
  /** PATH for finding git and ssh (default /usr/local/bin:/usr/bin:/bin). */
  searchPath?: string;
  /** Pushes tried before giving up on a branch that keeps moving (default 4). */
  maxAttempts?: number;
}

/** What an edit of the checkout did. */
export interface EditResult {
  /** Changed files, relative to the repository root. */
  files: string[];
}

export interface WriteBackRequest<E extends EditResult> {
  /** Names the checkout: one per GitSource (its uid) and branch. */
  owner: string;
  url: string;
  credentials?: GitCredentials | undefined;
  /** Where a push branch that does not exist yet starts (the tracked branch). */
  baseBranch: string;
  pushBranch: string;
  author: { name: string; email: string };
  /** Edits the checkout at `root`; runs again on the new head after a lost race. */
  edit(root: string): Promise<E>;
  /** The commit message for an edit that changed files; throws to refuse the commit. */
  message(edit: E): string;
  /** Epoch ms by which every git process must be done. */
  deadline: number;
}

export interface WriteBackResult<E extends EditResult> {
  edit: E;
  /** The commit pushed, when the edit changed anything. */
  commit?: string | undefined;
  /** The branch commit the edit was made on. */
  base: string;
  attempts: number;
}

export interface WriteBack {
  write<E extends EditResult>(req: WriteBackRequest<E>): Promise<WriteBackResult<E>>;
  /** Removes the checkouts of `owner` (a deleted GitSource). */
  forget(owner: string): Promise<void>;
  stats(): Readonly<GitStats>;
}

// git's words for a push that lost a race with another writer: fetch, redo, push again.
const NON_FAST_FORWARD =
  /\((fetch first|non-fast-forward)\)|stale info|failed to update ref|cannot lock ref/i;
// The server said no to this push for good (a protected branch, a hook, no write access).
const REFUSED =
  /\[remote rejected\]|pre-receive hook declined|protected branch|permission to .* denied|returned error: 403|HTTP 403|not allowed to push|receive-pack not permitted|access denied/i;

export function createWriteBack(options: WriteBackOptions): WriteBack {
  const allowFileUrls = options.allowFileUrls ?? false;
  const tmpDir = options.tmpDir ?? tmpdir();
  const searchPath = options.searchPath ?? '/usr/local/bin:/usr/bin:/bin';
  const maxAttempts = options.maxAttempts ?? 4;
  const stats: GitStats = { processes: 0, lsRemotes: 0, fetches: 0, collections: 0, reused: 0 };
  /** owner → the checkouts it wrote in, so they go with it. */
  const dirs = new Map<string, Set<string>>();

  return {
    stats: () => stats,
    async forget(owner) {
      for (const dir of dirs.get(owner) ?? []) await rm(dir, { recursive: true, force: true });
      dirs.delete(owner);
    },
    async write(req) {
      const transport = checkUrl(req.url, allowFileUrls);
      const target = req.url.replace(/\/\/[^@/]*@/, '//');
      const dir = join(
        options.workDir,
        createHash('sha256').update(`${req.owner}\0${req.url}\0${req.pushBranch}`).digest('hex').slice(0, 24),
      );
      let owned = dirs.get(req.owner);
      if (!owned) dirs.set(req.owner, (owned = new Set()));
      owned.add(dir);
      const auth = await prepareAuth({
        transport,
        credentials: req.credentials,
        tmpDir,
        timeoutMs: Math.max(1000, req.deadline - Date.now()),
      });
      try {
        const env = {
          ...gitEnv({
            allowFileUrls,
            transport,
            extraConfig: auth.extraConfig,
            ...(auth.sshCommand ? { sshCommand: auth.sshCommand } : {}),
            path: searchPath,
          }),
          GIT_AUTHOR_NAME: req.author.name,
          GIT_AUTHOR_EMAIL: req.author.email,
          GIT_COMMITTER_NAME: req.author.name,
          GIT_COMMITTER_EMAIL: req.author.email,
        };
        const git = (args: string[]) =>
          runGit(args, {
            env,
            cwd: dir,
            deadline: req.deadline,
            secrets: auth.secrets,
            target,
            logger: options.logger,
            stats,
          });
        if (!(await exists(join(dir, '.git')))) {
          await rm(dir, { recursive: true, force: true });
          await mkdir(dir, { recursive: true });
          await git(['init', '-q']);
        }

        const fetchBase = async (): Promise<string> => {
          const from = async (branch: string) => {
            stats.fetches++;
            await git([
              'fetch',
              '-q',
              '--no-tags',
              '--depth=1',
              req.url,
              `+refs/heads/${branch}:refs/converge/base`,
            ]);
          };
          try {
            await from(req.pushBranch);
          } catch (err) {
            // A review branch that does not exist yet starts from the tracked branch.
            if (
              !(err instanceof ConvergeError && err.reason === 'RefNotFound') ||
              req.pushBranch === req.baseBranch
            )
              throw err;
            await from(req.baseBranch);
          }
          return (await git(['rev-parse', 'refs/converge/base'])).stdout.trim();
        };

        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          const base = await fetchBase();
          await git(['checkout', '-q', '-f', '--detach', 'refs/converge/base']);
          await git(['clean', '-q', '-f', '-d', '-x']);
          const edit = await req.edit(dir);
          if (edit.files.length === 0) return { edit, base, attempts: attempt };
          const message = req.message(edit);
          const messageFile = join(dir, '.git', 'CONVERGE_UPDATE_MSG');
          await writeFile(messageFile, message);
          await git(['add', '--', ...edit.files]);
          await git(['commit', '-q', '--no-verify', '-F', messageFile]);
          const commit = (await git(['rev-parse', 'HEAD'])).stdout.trim();
          try {
            // Never forced: no "+" and no --force, so a branch someone else moved is never rewritten.
            await git(['push', '-q', req.url, `HEAD:refs/heads/${req.pushBranch}`]);
            return { edit, commit, base, attempts: attempt };
          } catch (err) {
            const text = err instanceof Error ? err.message : String(err);
            if (REFUSED.test(text))
              throw new UpdateError(
                'PushRejected',
                `the server refused the push to ${req.pushBranch}: ${detail(text)}; retried at the next interval`,
              );
            if (NON_FAST_FORWARD.test(text) && attempt < maxAttempts) {
              options.logger.info(
                { branch: req.pushBranch, attempt },
                'branch moved while updating images; redoing on the new head',
              );
              continue;
            }
            if (NON_FAST_FORWARD.test(text))
              throw new UpdateError(
                'PushFailed',
                `${req.pushBranch} kept moving: ${maxAttempts} pushes lost the race to other writers; retried at the next interval`,
              );
            throw err;
          }
        }
        throw new UpdateError('PushFailed', `no push to ${req.pushBranch} after ${maxAttempts} attempts`);
      } finally {
        await auth.cleanup();
      }
    },
  };
}

/** The part of a git error worth a condition: the server's own words. */
function detail(text: string): string {
  const m = /failed: (.*?); (check|$)/.exec(text);
  return (m?.[1] ?? text).slice(0, 400);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
