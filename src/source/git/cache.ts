// The git cache: resolves a ref with one ls-remote and keeps a shallow cache of it, shared by every
// GitSource with the same URL, ref and credentials (cacheKeyOf): one ls-remote per poll, one fetch per commit.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { ConvergeError, asConvergeError, formatTimeout, type GitRef } from '../../api/index.ts';
import { prepareAuth, type GitCredentials, type PreparedAuth } from './credentials.ts';
import { gitEnv } from './config.ts';
import { runGit, type GitStats } from './process.ts';
import { du } from '../disk.ts';
import { redact } from '../redact.ts';
import { formatRevision, lsRemoteArgs, parseLsRemote, pickTarget, type RemoteTarget } from './refs.ts';
import { checkRef, checkUrl, type GitTransport, type ResolvedRefSpec } from './validate.ts';
import type { FetchedRevision, MovedListener, ResolvedRevision } from '../types.ts';

export type { FetchedRevision, MovedListener, ResolvedRevision };

export interface GitSourceOptions {
  /** Root of the shared caches; each cache key gets <workDir>/<key>/{git,trees/<commit>}. */
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
  /** Called after each git operation (ls-remote, fetch, or a cache's gc) with its duration: wire it to metrics. */
  onRemoteCall?: (operation: 'ls-remote' | 'fetch' | 'gc', seconds: number) => void;
}

export interface GitRequest {
  /** Cache key (cacheKeyOf): GitSources with the same key share one cache and one ls-remote. */
  key: string;
  /**
   * The GitSource this call is for (its uid): a cache lives while some owner still uses it. Default:
   * the key (a caller that shares nothing, e.g. the CLI).
   */
  owner?: string | undefined;
  /**
   * Accept an ls-remote answer for this cache that is at most this old (another GitSource's poll);
   * default 0: always ask the remote.
   */
  maxAgeMs?: number | undefined;
  url: string;
  ref?: GitRef | undefined;
  credentials?: GitCredentials | undefined;
  /** Bound for the whole call; git is killed when it runs out. */
  timeoutMs: number;
}

export interface GitSource {
  /** The revision the ref points at now: one ls-remote (none for a pinned commit), no fetch. */
  resolveRevision(req: GitRequest): Promise<ResolvedRevision>;
  /**
   * Fetches and checks out only when the cached checkout is not at the commit. With `resolved` (from
   * resolveRevision moments ago) it trusts that answer instead of asking the remote again.
   */
  fetchRevision(req: GitRequest, resolved?: ResolvedRevision): Promise<FetchedRevision>;
  /**
   * The GitSource `owner` is gone: the caches it used are deleted (and their SSH connections closed)
   * once no other GitSource uses them.
   */
  forget(owner: string): Promise<void>;
  /** Closes every SSH connection kept open for reuse (shutdown). */
  close(): Promise<void>;
  /**
   * Deletes the caches of every cache key not in `keys` (GitSources deleted while the operator was
   * down, or moved to another shard); returns the directory names removed.
   */
  retainOnly(keys: Iterable<string>): Promise<string[]>;
  /** Running totals of git processes, ls-remotes and fetches. */
  stats(): Readonly<GitStats>;
  /**
   * Bytes on disk of each cache (the repository and its checkouts), by cache key; only caches that
   * changed since the last call are walked. Measuring also collects: a repository grown past twice
   * its size after its last fresh fetch or collection (plus 1 MiB) holds mostly objects of commits
   * no longer checked out, and is `git gc`-ed.
   */
  diskUsage(): Promise<Map<string, number>>;
  /** The cache keys each owner (GitSource uid) uses now. */
  owners(): ReadonlyMap<string, string>;
  /** Forgets the last ls-remote answer of the cache `owner` uses: a push was announced. */
  expire(owner: string): void;
  /**
   * Calls `listener` when an ls-remote finds that a cache's ref moved: the other GitSources sharing
   * the cache can be woken at once instead of each finding out at its own next poll.
   */
  onMoved(listener: MovedListener): void;
}

export interface CacheKeyInput {
  namespace: string;
  url: string;
  ref?: GitRef | undefined;
  /** spec.secretRef.name: only GitSources that read the same secret share a cache. */
  secretName?: string | undefined;
}

/**
 * GitSources share a cache when they fetch the same URL and ref with the same credentials. With a
 * secret, that means the same Secret (so the same namespace, whose GitSources may all read it);
 * without one, the repository is public to everyone who can reach it, so namespaces share it.
 */
export function cacheKeyOf(input: CacheKeyInput): string {
  const who = input.secretName ? `secret:${input.namespace}/${input.secretName}` : 'anonymous';
  return createHash('sha256')
    .update(JSON.stringify([input.url, sortedRef(input.ref), who]))
    .digest('hex')
    .slice(0, 32);
}

interface Checked {
  spec: ResolvedRefSpec;
  transport: GitTransport;
  /** The URL as it may appear in messages and logs. */
  target: string;
}

function sortedRef(ref: GitRef | undefined): [string, unknown][] {
  return Object.entries(ref ?? {})
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
}

/**
 * A GitSource's first fetch from a cache others already use takes their ls-remote answer only when
 * it is this fresh (a fleet created at once shares it), not one that is an interval old.
 */
const FIRST_FETCH_MAX_AGE_MS = 5_000;
/** Garbage a cache may hold beyond its own size before it is collected (see `diskUsage`). */
const COLLECT_SLACK_BYTES = 1 << 20;
const COLLECT_TIMEOUT_MS = 5 * 60_000;

export function createGitSource(options: GitSourceOptions): GitSource {
  const { workDir, logger } = options;
  const allowFileUrls = options.allowFileUrls ?? false;
  const tmpDir = options.tmpDir ?? tmpdir();
  const searchPath = options.searchPath ?? '/usr/local/bin:/usr/bin:/bin';
  const stats: GitStats = { processes: 0, lsRemotes: 0, fetches: 0, collections: 0, reused: 0 };
  /** cache key → the commit its newest checkout holds, known only for checkouts this process made. */
  const checkedOut = new Map<string, string>();
  /** checkout dir → how many callers still read it (render in progress). */
  const leases = new Map<string, number>();
  /** cache key → tail of the chain that serializes work on that cache. */
  const chains = new Map<string, Promise<unknown>>();
  /** cache key → the last ls-remote answer, and when it came. */
  const answers = new Map<string, { at: number; target: RemoteTarget }>();
  /** cache key → the ls-remote in flight, which concurrent polls of the same cache join. */
  const asking = new Map<string, Promise<RemoteTarget>>();
  /** owner (GitSource uid) → the cache key it uses. */
  const ownerKeys = new Map<string, string>();
  const persistSeconds = options.sshPersistSeconds ?? 300;
  /** cache key → ControlPaths of the SSH masters its calls opened. */
  const masters = new Map<string, Set<string>>();
  let controlDir: Promise<string> | undefined;
  const movedListeners: MovedListener[] = [];

  /**
   * Where the reused SSH connection of a request lives. Socket paths are limited to ~100 bytes, so
   * a short private dir (0700) and a hash of what authenticates the connection.
   */
  async function connectionFor(req: GitRequest, transport: GitTransport) {
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

  /**
   * cache key → bytes of its repository after its last fresh fetch or collection. A depth-1 fetch
   * of each new commit leaves the objects only the old commit used behind: once the repository has
   * grown past twice this (plus COLLECT_SLACK_BYTES), `git gc` removes what no ref reaches.
   */
  const baseline = new Map<string, number>();
  const collecting = new Set<string>();
  /**
   * cache key → its bytes on disk (repository, checkouts) when last measured. Only this process
   * changes a cache, always through `serialize`, which drops the entry: a fleet's disk use is
   * measured by walking only the caches that changed since.
   */
  const measured = new Map<string, { repository: number; trees: number }>();
  /** cache key → how many serialized operations have ended on it (a walk during one is not kept). */
  const changes = new Map<string, number>();

  function collect(key: string, before: number): Promise<void> {
    if (collecting.has(key)) return Promise.resolve();
    collecting.add(key);
    const { gitDir } = paths(key);
    // Queued behind the cache's fetches, so it never runs beside one.
    return serialize(key, async () => {
      if (!checkedOut.has(key)) return;
      stats.collections++;
      const started = performance.now();
      const env = gitEnv({ allowFileUrls, transport: 'https', extraConfig: [], path: searchPath });
      await runGit(
        [
          '--git-dir',
          gitDir,
          // Caches written before reflogs were turned off keep old commits alive through HEAD's log.
          '-c',
          'gc.reflogExpire=now',
          '-c',
          'gc.reflogExpireUnreachable=now',
          '-c',
          'gc.writeCommitGraph=false',
          'gc',
          '--prune=now',
          '--quiet',
        ],
        {
          env,
          deadline: Date.now() + COLLECT_TIMEOUT_MS,
          secrets: [],
          target: `git cache ${key}`,
          logger,
          stats,
        },
      );
      options.onRemoteCall?.('gc', (performance.now() - started) / 1000);
      const after = await du(gitDir);
      baseline.set(key, after);
      logger.info({ cache: key, before, after }, 'collected unreachable git objects');
    })
      .catch((err: unknown) => {
        // The next measurement tries again; a cache that cannot be collected still works.
        logger.warn({ cache: key, err: String(err) }, 'could not collect unreachable git objects');
      })
      .finally(() => collecting.delete(key));
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
        // Everything that changes a cache on disk runs here: its size is measured again.
        measured.delete(key);
        changes.set(key, (changes.get(key) ?? 0) + 1);
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

  function check(req: GitRequest): Checked {
    const transport = checkUrl(req.url, allowFileUrls);
    const spec = checkRef(req.ref);
    return { spec, transport, target: redact(req.url) };
  }

  function paths(key: string) {
    const safe = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(key)
      ? key
      : createHash('sha256').update(key).digest('hex').slice(0, 32);
    const root = join(workDir, safe);
    return { root, gitDir: join(root, 'git'), trees: join(root, 'trees') };
  }

  /** The owner now uses `key`; a cache it used before (its URL or ref changed) goes if nobody else uses it. */
  async function claim(owner: string, key: string): Promise<void> {
    const before = ownerKeys.get(owner);
    ownerKeys.set(owner, key);
    if (before !== undefined && before !== key) await dropIfUnused(before);
  }

  function dropIfUnused(key: string): Promise<void> {
    if ([...ownerKeys.values()].includes(key)) return Promise.resolve();
    return serialize(key, async () => {
      if ([...ownerKeys.values()].includes(key)) return;
      checkedOut.delete(key);
      answers.delete(key);
      baseline.delete(key);
      await closeMasters(masters.get(key) ?? []);
      masters.delete(key);
      await rm(paths(key).root, { recursive: true, force: true });
    });
  }

  async function withAuth<T>(req: GitRequest, checked: Checked, work: (auth: PreparedAuth) => Promise<T>) {
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

  async function lsRemote(req: GitRequest, checked: Checked, auth: PreparedAuth, deadline: number) {
    const args = lsRemoteArgs(checked.spec, req.url);
    if (args.length === 0) return pickTarget(checked.spec, new Map(), checked.target);
    stats.lsRemotes++;
    const started = performance.now();
    const { stdout } = await git(args, checked, auth, deadline);
    options.onRemoteCall?.('ls-remote', (performance.now() - started) / 1000);
    const target = pickTarget(checked.spec, parseLsRemote(stdout), checked.target);
    const before = answers.get(req.key)?.target.commit ?? checkedOut.get(req.key);
    answers.set(req.key, { at: performance.now(), target });
    if (before !== undefined && before !== target.commit)
      for (const listener of movedListeners)
        listener(req.key, formatRevision(target.name, target.commit), req.owner);
    return target;
  }

  /** One ls-remote per cache at a time; an answer younger than `maxAgeMs` is reused. */
  function resolveTarget(req: GitRequest, checked: Checked): Promise<RemoteTarget> {
    const known = answers.get(req.key);
    if (known && performance.now() - known.at <= (req.maxAgeMs ?? 0)) return Promise.resolve(known.target);
    const pending = asking.get(req.key);
    // Joining another GitSource's ls-remote: this caller's own timeout still holds.
    if (pending) return within(pending, Date.now() + req.timeoutMs, 'git ls-remote', checked.target);
    const deadline = Date.now() + req.timeoutMs;
    const asked = withAuth(req, checked, (auth) => lsRemote(req, checked, auth, deadline)).finally(() =>
      asking.delete(req.key),
    );
    asking.set(req.key, asked);
    return asked;
  }

  /** A checkout handed out: `release` is idempotent; an old checkout goes once nobody reads it. */
  function lease(key: string, dir: string): () => void {
    leases.set(dir, (leases.get(dir) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (leases.get(dir) ?? 1) - 1;
      if (left > 0) {
        leases.set(dir, left);
        return;
      }
      leases.delete(dir);
      const newest = checkedOut.get(key);
      if (newest === undefined || join(paths(key).trees, newest) !== dir)
        void serialize(key, () => rm(dir, { recursive: true, force: true }));
    };
  }

  /** Removes the checkouts of `key` other than `keep` that nobody reads (runs inside the key's chain). */
  async function collectTrees(key: string, keep: string): Promise<void> {
    const { trees } = paths(key);
    let names: string[];
    try {
      names = await readdir(trees);
    } catch {
      return;
    }
    await Promise.all(
      names
        .filter((name) => name !== keep && !leases.has(join(trees, name)))
        .map((name) => rm(join(trees, name), { recursive: true, force: true })),
    );
  }

  async function fetchAndCheckout(
    req: GitRequest,
    checked: Checked,
    auth: PreparedAuth,
    target: RemoteTarget,
    deadline: number,
  ): Promise<string> {
    const { gitDir } = paths(req.key);
    if (!checkedOut.has(req.key)) {
      baseline.delete(req.key);
      // Checkouts from before are not trusted (a crash may have cut one short); those this process
      // handed out stay until released.
      await collectTrees(req.key, '');
      if (await exists(join(gitDir, 'HEAD'))) {
        // An earlier run of the operator left this repository (a container restart keeps the work
        // dir): fetch on top of it, so only what changed since comes over the network. A crash can
        // leave locks and temporary files, never a half-written object or ref (git renames them
        // into place), so those go. If it still fails, it is removed and fetched afresh at once.
        stats.reused++;
        await removeCrashLeftovers(gitDir);
        try {
          return await fetchInto(req, checked, auth, target, deadline);
        } catch (err) {
          if (Date.now() >= deadline) throw err;
          logger.info(
            { cache: req.key, url: checked.target, err: err instanceof Error ? err.message : String(err) },
            'the git cache an earlier run left could not be used: fetching afresh',
          );
        }
      }
    }
    return fetchInto(req, checked, auth, target, deadline);
  }

  async function fetchInto(
    req: GitRequest,
    checked: Checked,
    auth: PreparedAuth,
    target: RemoteTarget,
    deadline: number,
  ): Promise<string> {
    const { gitDir, trees } = paths(req.key);
    const local = ['--git-dir', gitDir];
    try {
      if (!(await exists(join(gitDir, 'HEAD')))) await initBare(gitDir);
      stats.fetches++;
      const fetchStarted = performance.now();
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
      options.onRemoteCall?.('fetch', (performance.now() - fetchStarted) / 1000);
      // The branch may have moved since ls-remote: check out, and report, what was actually fetched.
      // A branch's ref names its commit: read the file fetch wrote (a ref fetch moved is loose; one a
      // cache gc packed and fetch left alone is read by git); a tag may be annotated and a SHA needs
      // checking, so git peels those.
      const loose = target.fetchRef.startsWith('refs/heads/')
        ? await readFile(join(gitDir, 'refs', 'converge', 'target'), 'utf8').catch(() => '')
        : '';
      const commit = /^(?:[0-9a-f]{40}|[0-9a-f]{64})\n$/.test(loose)
        ? loose.trim()
        : (
            await git(
              [...local, 'rev-parse', '--verify', '--end-of-options', 'refs/converge/target^{commit}'],
              checked,
              auth,
              deadline,
            )
          ).stdout.trim();
      // Each commit gets its own checkout: GitSources sharing the cache may still be rendering the
      // previous one. A fresh directory and no index: nothing stray can be left in it.
      const tree = join(trees, commit);
      if (checkedOut.get(req.key) !== commit) {
        await rm(tree, { recursive: true, force: true });
        await rm(join(gitDir, 'index'), { force: true });
        await mkdir(tree, { recursive: true });
        await git(
          [...local, '--work-tree', tree, 'checkout', '--quiet', '--force', '--detach', commit],
          checked,
          auth,
          deadline,
          tree,
        );
      }
      checkedOut.set(req.key, commit);
      await collectTrees(req.key, commit);
      return commit;
    } catch (err) {
      // A killed fetch can leave locks and half-written state; the next attempt starts clean.
      checkedOut.delete(req.key);
      await rm(gitDir, { recursive: true, force: true });
      throw err;
    }
  }

  return {
    async resolveRevision(req) {
      const checked = check(req);
      await claim(req.owner ?? req.key, req.key);
      const target = await resolveTarget(req, checked);
      return {
        revision: formatRevision(target.name, target.commit),
        commit: target.commit,
        fetchRef: target.fetchRef,
        name: target.name,
      };
    },

    async fetchRevision(req, resolved) {
      // Validate before queueing, so a bad spec fails at once and never reaches git.
      let checked: Checked;
      try {
        checked = check(req);
      } catch (err) {
        throw asConvergeError(err, 'InvalidSpec');
      }
      await claim(req.owner ?? req.key, req.key);
      const handOut = (target: RemoteTarget, commit: string, fetched: boolean): FetchedRevision => {
        const dir = join(paths(req.key).trees, commit);
        return {
          revision: formatRevision(target.name, commit),
          commit,
          fetchRef: target.fetchRef,
          name: target.name,
          dir,
          fetched,
          release: lease(req.key, dir),
        };
      };
      // The cache already holds the commit asked for (or the one a fresh shared answer names): hand
      // it out without queueing behind the other GitSources of the cache.
      const ready = checkedOut.get(req.key);
      const known = answers.get(req.key);
      const fresh =
        known && performance.now() - known.at <= Math.min(req.maxAgeMs ?? 0, FIRST_FETCH_MAX_AGE_MS)
          ? known.target
          : undefined;
      const wanted = resolved ?? fresh;
      if (ready !== undefined && wanted?.commit === ready && !active.has(req.key))
        return handOut(wanted, ready, false);
      // The timeout counts from now: waiting behind another GitSource's fetch of the cache is part of it.
      const started = Date.now();
      const deadline = started + req.timeoutMs;
      let begin!: () => void;
      const began = new Promise<void>((resolve) => (begin = resolve));
      const queued = serialize(req.key, async () => {
        begin();
        const have = checkedOut.get(req.key);
        // Another GitSource of this cache fetched the commit already: nothing to ask the remote.
        if (resolved && have === resolved.commit) return handOut(resolved, have, false);
        return withAuth(req, checked, async (auth) => {
          const spec = checked.spec;
          // Nothing cached to compare with: a branch or tag can be fetched by name straight away (a
          // missing one fails the fetch with RefNotFound), which saves the ls-remote round trip.
          const direct =
            !resolved && have === undefined && (spec.kind === 'branch' || spec.kind === 'tag')
              ? {
                  fetchRef: `refs/${spec.kind === 'branch' ? 'heads' : 'tags'}/${spec.name}`,
                  name: spec.name,
                  commit: '',
                }
              : undefined;
          const target: RemoteTarget = resolved
            ? { fetchRef: resolved.fetchRef, name: resolved.name, commit: resolved.commit }
            : (direct ??
              (await resolveTarget(
                { ...req, maxAgeMs: Math.min(req.maxAgeMs ?? 0, FIRST_FETCH_MAX_AGE_MS) },
                checked,
              )));
          if (have === target.commit) return handOut(target, have, false);
          const commit = await fetchAndCheckout(req, checked, auth, target, deadline);
          // What was fetched is the freshest answer there is: GitSources sharing the cache reuse it.
          answers.set(req.key, { at: performance.now(), target: { ...target, commit } });
          logger.info(
            {
              cache: req.key,
              url: checked.target,
              revision: formatRevision(target.name, commit),
              ms: Date.now() - started,
            },
            'fetched revision',
          );
          return handOut(target, commit, true);
        });
      });
      // Once its turn comes, this caller's own git calls keep the deadline; until then, it is bounded here.
      try {
        await within(began, deadline, 'git fetch', checked.target);
      } catch (err) {
        // Its turn may still come: a checkout handed out then is released at once.
        queued.then((late) => late.release()).catch(() => undefined);
        throw err;
      }
      return queued;
    },

    forget(owner) {
      const key = ownerKeys.get(owner);
      ownerKeys.delete(owner);
      return key === undefined ? Promise.resolve() : dropIfUnused(key);
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
      const gone = (key: string) => stale.includes(basename(paths(key).root));
      for (const key of [...checkedOut.keys()].filter(gone)) {
        checkedOut.delete(key);
        answers.delete(key);
        baseline.delete(key);
      }
      for (const [owner, key] of [...ownerKeys]) if (gone(key)) ownerKeys.delete(owner);
      await Promise.all(stale.map((name) => rm(join(workDir, name), { recursive: true, force: true })));
      return stale;
    },

    async close() {
      await closeMasters([...masters.values()].flatMap((set) => [...set]));
      masters.clear();
      if (controlDir) await rm(await controlDir, { recursive: true, force: true });
      controlDir = undefined;
    },

    async diskUsage() {
      const usage = new Map<string, number>();
      const keys = new Set(ownerKeys.values());
      for (const key of measured.keys()) if (!keys.has(key)) measured.delete(key);
      for (const key of changes.keys()) if (!keys.has(key) && !active.has(key)) changes.delete(key);
      for (const key of keys) {
        const known = measured.get(key);
        if (known) {
          usage.set(key, known.repository + known.trees);
          continue;
        }
        const { gitDir, trees } = paths(key);
        const before = changes.get(key) ?? 0;
        const size = { repository: await du(gitDir), trees: await du(trees) };
        // A fetch, release or gc that ran during the walk: not kept, so the next call walks again.
        if (!active.has(key) && (changes.get(key) ?? 0) === before) measured.set(key, size);
        usage.set(key, size.repository + size.trees);
        if (!checkedOut.has(key)) continue;
        const base = baseline.get(key);
        if (base === undefined) baseline.set(key, size.repository);
        else if (size.repository > 2 * base + COLLECT_SLACK_BYTES) void collect(key, size.repository);
      }
      return usage;
    },

    owners: () => ownerKeys,

    expire(owner) {
      const key = ownerKeys.get(owner);
      if (key !== undefined) answers.delete(key);
    },

    onMoved(listener) {
      movedListeners.push(listener);
    },

    stats: () => ({ ...stats }),
  };
}

/**
 * What a git process killed mid-write leaves in a repository: lock files (which would fail every
 * later update of that ref or file) and temporary packs and objects. Never follows links.
 */
async function removeCrashLeftovers(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith('incoming-')) await rm(path, { recursive: true, force: true });
      else await removeCrashLeftovers(path);
    } else if (entry.name.endsWith('.lock') || /^tmp_(?:pack|idx|obj|rev)_/.test(entry.name)) {
      await rm(path, { force: true });
    }
  }
}

/**
 * What `git init --bare` makes that fetch and checkout need, without a git process: a fleet's first
 * sync runs one per repository.
 */
async function initBare(gitDir: string): Promise<void> {
  for (const dir of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags'])
    await mkdir(join(gitDir, dir), { recursive: true });
  await writeFile(
    join(gitDir, 'config'),
    // No reflogs: the checkout (with --work-tree) would log HEAD, and the log keeps old commits alive.
    '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n\tlogAllRefUpdates = false\n',
  );
  // HEAD last: its presence marks an initialised repository.
  await writeFile(join(gitDir, 'HEAD'), 'ref: refs/heads/main\n');
}

/**
 * `work` (another GitSource's git call, or the turn behind it), or a FetchFailed timeout at this
 * caller's own `deadline` when it takes longer.
 */
function within<T>(work: Promise<T>, deadline: number, op: string, target: string): Promise<T> {
  const budget = deadline - Date.now();
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        reject(
          new ConvergeError(
            'FetchFailed',
            `${op} of ${target} timed out after ${formatTimeout(Math.max(0, budget))} waiting for another GitSource's call to the same repository`,
          ),
        );
      },
      Math.max(0, budget),
    );
    work.then(
      (result) => {
        clearTimeout(timer);
        if (!timedOut) resolve(result);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!timedOut) reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
