// The source stage: resolves a GitSource's ref with one ls-remote and keeps a per-GitSource shallow checkout of it.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { asConvergeError, type GitRef } from '../api/index.ts';
import { prepareAuth, type GitCredentials, type PreparedAuth } from './credentials.ts';
import { gitEnv } from './git-config.ts';
import { runGit, type GitStats } from './git-process.ts';
import { redact } from './redact.ts';
import { formatRevision, lsRemoteArgs, parseLsRemote, pickTarget, type RemoteTarget } from './refs.ts';
import { checkRef, checkUrl, type GitTransport, type ResolvedRefSpec } from './validate.ts';

export interface GitSourceOptions {
  /** Root of the per-GitSource caches; each key gets <workDir>/<key>/{git,tree}. */
  workDir: string;
  logger: Logger;
  /** Accept file:// URLs (development and tests only). */
  allowFileUrls?: boolean;
  /** Where private temp dirs for SSH key files are made (default: the OS temp dir). */
  tmpDir?: string;
  /** PATH for finding git and ssh (default /usr/local/bin:/usr/bin:/bin). */
  searchPath?: string;
  /**
   * How long an SSH connection stays open after its last use, for the next poll to reuse
   * (ControlMaster); 0 opens a connection per git call. Default 300 s.
   */
  sshPersistSeconds?: number;
}

export interface SourceRequest {
  /** Cache key, one per GitSource: its uid. */
  key: string;
  url: string;
  ref?: GitRef;
  credentials?: GitCredentials;
  /** Bound for the whole call; git is killed when it runs out. */
  timeoutMs: number;
}

export interface ResolvedRevision {
  /** `main@sha1:<sha>`, `v1.2.0@sha1:<sha>`, or `sha1:<sha>` for a pinned commit. */
  revision: string;
  commit: string;
  /** What to fetch for it (refs/heads/main, refs/tags/v1.2.0, or the SHA): lets fetchRevision skip a second ls-remote. */
  fetchRef: string;
  /** Branch or tag name; undefined for a pinned commit. */
  name?: string | undefined;
}

export interface FetchedRevision extends ResolvedRevision {
  /** A checkout of exactly `commit`, without a .git directory. */
  dir: string;
  /** Whether this call fetched from the remote (false when the checkout was already at the commit). */
  fetched: boolean;
}

export interface GitSource {
  /** The revision the ref points at now: one ls-remote (none for a pinned commit), no fetch. */
  resolveRevision(req: SourceRequest): Promise<ResolvedRevision>;
  /**
   * Fetches and checks out only when the cached checkout is not at the commit. With `resolved` (from
   * resolveRevision moments ago) it trusts that answer instead of asking the remote again.
   */
  fetchRevision(req: SourceRequest, resolved?: ResolvedRevision): Promise<FetchedRevision>;
  /** Deletes the cache of `key` (the GitSource is gone) and closes its SSH connections. */
  forget(key: string): Promise<void>;
  /** Closes every SSH connection kept open for reuse (shutdown). */
  close(): Promise<void>;
  /**
   * Deletes the caches of every key not in `keys` (GitSources deleted while the operator was down, or
   * moved to another shard); returns the directory names removed.
   */
  retainOnly(keys: Iterable<string>): Promise<string[]>;
  /** Running totals of git processes, ls-remotes and fetches. */
  stats(): Readonly<GitStats>;
}

interface Checked {
  spec: ResolvedRefSpec;
  transport: GitTransport;
  /** The URL as it may appear in messages and logs. */
  target: string;
}

export function createGitSource(options: GitSourceOptions): GitSource {
  const { workDir, logger } = options;
  const allowFileUrls = options.allowFileUrls ?? false;
  const tmpDir = options.tmpDir ?? tmpdir();
  const searchPath = options.searchPath ?? '/usr/local/bin:/usr/bin:/bin';
  const stats: GitStats = { processes: 0, lsRemotes: 0, fetches: 0 };
  /** key → commit the tree holds, known only for checkouts this process made. */
  const checkedOut = new Map<string, string>();
  /** key → tail of the chain that serializes work on that cache. */
  const chains = new Map<string, Promise<unknown>>();
  const persistSeconds = options.sshPersistSeconds ?? 300;
  /** key → ControlPaths of the SSH masters its calls opened. */
  const masters = new Map<string, Set<string>>();
  let controlDir: Promise<string> | undefined;

  /**
   * Where the reused SSH connection of a request lives. Socket paths are limited to ~100 bytes, so
   * a short private dir (0700) and a hash of what authenticates the connection.
   */
  async function connectionFor(req: SourceRequest, transport: GitTransport) {
    if (transport !== 'ssh' || persistSeconds <= 0 || !req.credentials?.ssh) return undefined;
    controlDir ??= mkdtemp(join(tmpDir, 'converge-mux-'));
    const id = createHash('sha256')
      .update([req.key, req.url, req.credentials.ssh.identity, req.credentials.ssh.knownHosts].join('\0'))
      .digest('hex')
      .slice(0, 20);
    const controlPath = join(await controlDir, id);
    let set = masters.get(req.key);
    if (!set) masters.set(req.key, (set = new Set()));
    set.add(controlPath);
    return { controlPath, persistSeconds };
  }

  /** Asks each master to exit (it removes its socket); one that is already gone is fine. */
  async function closeMasters(paths: Iterable<string>): Promise<void> {
    await Promise.all(
      [...paths].map(
        (controlPath) =>
          new Promise<void>((resolve) => {
            execFile(
              'ssh',
              ['-F', '/dev/null', '-o', `ControlPath=${controlPath}`, '-O', 'exit', 'converge-mux'],
              { env: { PATH: searchPath }, timeout: 5_000 },
              () => resolve(),
            );
          }),
      ),
    );
  }

  /** Keys whose work is running right now (their caches are never collected). */
  const active = new Set<string>();

  function serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = chains.get(key) ?? Promise.resolve();
    const run = async () => {
      active.add(key);
      try {
        return await work();
      } finally {
        active.delete(key);
      }
    };
    const next = previous.then(run, run);
    const tail = next.catch(() => undefined);
    chains.set(key, tail);
    void tail.then(() => {
      if (chains.get(key) === tail) chains.delete(key);
    });
    return next;
  }

  function check(req: SourceRequest): Checked {
    const transport = checkUrl(req.url, allowFileUrls);
    const spec = checkRef(req.ref);
    return { spec, transport, target: redact(req.url) };
  }

  function paths(key: string) {
    const safe = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(key)
      ? key
      : createHash('sha256').update(key).digest('hex').slice(0, 32);
    const root = join(workDir, safe);
    return { root, gitDir: join(root, 'git'), tree: join(root, 'tree') };
  }

  async function withAuth<T>(req: SourceRequest, checked: Checked, work: (auth: PreparedAuth) => Promise<T>) {
    const auth = await prepareAuth({
      transport: checked.transport,
      credentials: req.credentials,
      tmpDir,
      timeoutMs: req.timeoutMs,
      connection: await connectionFor(req, checked.transport),
    });
    try {
      return await work(auth);
    } finally {
      await auth.cleanup();
    }
  }

  function git(args: string[], checked: Checked, auth: PreparedAuth, deadline: number, cwd?: string) {
    const env = gitEnv({
      allowFileUrls,
      transport: checked.transport,
      extraConfig: auth.extraConfig,
      sshCommand: auth.sshCommand,
      path: searchPath,
    });
    return runGit(args, { env, cwd, deadline, secrets: auth.secrets, target: checked.target, logger, stats });
  }

  async function lsRemote(req: SourceRequest, checked: Checked, auth: PreparedAuth, deadline: number) {
    const args = lsRemoteArgs(checked.spec, req.url);
    if (args.length === 0) return pickTarget(checked.spec, new Map(), checked.target);
    stats.lsRemotes++;
    const { stdout } = await git(args, checked, auth, deadline);
    return pickTarget(checked.spec, parseLsRemote(stdout), checked.target);
  }

  async function fetchAndCheckout(
    req: SourceRequest,
    checked: Checked,
    auth: PreparedAuth,
    target: RemoteTarget,
    deadline: number,
  ): Promise<string> {
    const { root, gitDir, tree } = paths(req.key);
    // A cache this process did not write may hold stale locks from a crash: start it afresh.
    const fresh = !checkedOut.has(req.key);
    if (fresh) await rm(root, { recursive: true, force: true });
    checkedOut.delete(req.key);
    await mkdir(tree, { recursive: true });
    const local = ['--git-dir', gitDir, '--work-tree', tree];
    try {
      if (!(await exists(join(gitDir, 'HEAD'))))
        await git(['init', '--quiet', '--bare', gitDir], checked, auth, deadline);
      stats.fetches++;
      // Fetch exactly one ref (or the pinned SHA; protocol v2 servers accept any reachable SHA),
      // one commit deep, into a private ref; --force so a force-pushed branch replaces the old one.
      await git(
        [
          ...local,
          'fetch',
          '--quiet',
          '--depth=1',
          '--no-tags',
          '--no-recurse-submodules',
          '--no-write-fetch-head',
          '--',
          req.url,
          `+${target.fetchRef}:refs/converge/target`,
        ],
        checked,
        auth,
        deadline,
      );
      // The branch may have moved since ls-remote: check out, and report, what was actually fetched.
      const { stdout } = await git(
        [...local, 'rev-parse', '--verify', '--end-of-options', 'refs/converge/target^{commit}'],
        checked,
        auth,
        deadline,
      );
      const commit = stdout.trim();
      // checkout --force resets tracked files (and removes those the new commit lacks);
      // clean -ffdx removes everything else, ignored files and nested repos included.
      await git(
        [...local, 'checkout', '--quiet', '--force', '--detach', commit],
        checked,
        auth,
        deadline,
        tree,
      );
      // A tree made empty just above has nothing stray to clean.
      if (!fresh) await git([...local, 'clean', '-ffdxq'], checked, auth, deadline, tree);
      checkedOut.set(req.key, commit);
      return commit;
    } catch (err) {
      // A killed fetch can leave locks and half-written state; the next attempt starts clean.
      await rm(root, { recursive: true, force: true });
      throw err;
    }
  }

  return {
    async resolveRevision(req) {
      const deadline = Date.now() + req.timeoutMs;
      const checked = check(req);
      const target = await withAuth(req, checked, (auth) => lsRemote(req, checked, auth, deadline));
      return {
        revision: formatRevision(target.name, target.commit),
        commit: target.commit,
        fetchRef: target.fetchRef,
        name: target.name,
      };
    },

    fetchRevision(req, resolved) {
      // Validate before queueing, so a bad spec fails at once and never reaches git.
      let checked: Checked;
      try {
        checked = check(req);
      } catch (err) {
        return Promise.reject(asConvergeError(err, 'InvalidSpec'));
      }
      return serialize(req.key, async () => {
        const started = Date.now();
        const deadline = started + req.timeoutMs;
        return withAuth(req, checked, async (auth) => {
          const dir = paths(req.key).tree;
          if (resolved && checkedOut.get(req.key) === resolved.commit) {
            return { ...resolved, dir, fetched: false };
          }
          const spec = checked.spec;
          // Nothing cached to compare with: a branch or tag can be fetched by name straight away (a
          // missing one fails the fetch with RefNotFound), which saves the ls-remote round trip.
          const direct =
            !resolved && !checkedOut.has(req.key) && (spec.kind === 'branch' || spec.kind === 'tag')
              ? {
                  fetchRef: `refs/${spec.kind === 'branch' ? 'heads' : 'tags'}/${spec.name}`,
                  name: spec.name,
                  commit: '',
                }
              : undefined;
          const target: RemoteTarget = resolved
            ? { fetchRef: resolved.fetchRef, name: resolved.name, commit: resolved.commit }
            : (direct ?? (await lsRemote(req, checked, auth, deadline)));
          if (checkedOut.get(req.key) === target.commit) {
            return {
              revision: formatRevision(target.name, target.commit),
              commit: target.commit,
              fetchRef: target.fetchRef,
              name: target.name,
              dir,
              fetched: false,
            };
          }
          const commit = await fetchAndCheckout(req, checked, auth, target, deadline);
          const revision = formatRevision(target.name, commit);
          logger.info(
            { key: req.key, url: checked.target, revision, ms: Date.now() - started },
            'fetched revision',
          );
          return { revision, commit, fetchRef: target.fetchRef, name: target.name, dir, fetched: true };
        });
      });
    },

    forget(key) {
      return serialize(key, async () => {
        checkedOut.delete(key);
        await closeMasters(masters.get(key) ?? []);
        masters.delete(key);
        await rm(paths(key).root, { recursive: true, force: true });
      });
    },

    async retainOnly(keys) {
      const keep = new Set([...keys, ...active].map((k) => basename(paths(k).root)));
      let entries: string[];
      try {
        entries = await readdir(workDir);
      } catch {
        return [];
      }
      const stale = entries.filter((name) => !keep.has(name));
      for (const key of [...checkedOut.keys()])
        if (stale.includes(basename(paths(key).root))) checkedOut.delete(key);
      await Promise.all(stale.map((name) => rm(join(workDir, name), { recursive: true, force: true })));
      return stale;
    },

    async close() {
      await closeMasters([...masters.values()].flatMap((set) => [...set]));
      masters.clear();
      if (controlDir) await rm(await controlDir, { recursive: true, force: true });
      controlDir = undefined;
    },

    stats: () => ({ ...stats }),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
