// The image-update step of a GitSource with spec.imageUpdates: rewrite the marked fields under path to
// their policies' latest tags, commit and push; serialised per repository, skipped when nothing moved.
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Logger } from 'pino';
import {
  ConvergeError,
  GROUP,
  IMAGE_POLICY_PLURAL,
  VERSION,
  type GitSource,
  type GitSourceSpec,
  type ImagePolicy,
} from '../api/index.ts';
import { ApiError, type KubeClient } from '../kube/index.ts';
import type { GitCredentials } from '../source/index.ts';
import { UpdateError } from './errors.ts';
import { renderMessage } from './message.ts';
import type { PolicyIndex } from './policies.ts';
import {
  markerPolicies,
  updateFile,
  type FieldChange,
  type MarkerProblem,
  type PolicyLookup,
} from './setters.ts';
import type { WriteBack } from './writeback.ts';

/** What the step reports on the GitSource (condition ImagesUpdated). */
export interface ImageUpdateReport {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface ImageUpdateOutcome {
  /** False when nothing moved since the last successful run: no git call was made. */
  ran: boolean;
  report?: ImageUpdateReport;
  /** The commit pushed, and whether to the branch the GitSource tracks (then converge it now). */
  pushed?: { commit: string; branch: string; tracked: boolean; changes: FieldChange[] };
}

export interface ImageUpdateContext {
  gs: GitSource;
  spec: GitSourceSpec;
  /** The client the GitSource applies with: it must be able to read a policy of another namespace. */
  client: KubeClient;
  remainingMs(): number;
}

export interface ImageUpdateInput {
  credentials: GitCredentials | undefined;
  /** The tracked branch's commit as last seen (a new one may carry new markers). */
  trackedCommit: string | undefined;
}

export interface ImageUpdater {
  update(ctx: ImageUpdateContext, input: ImageUpdateInput): Promise<ImageUpdateOutcome>;
  /** The GitSource is gone. */
  forget(uid: string): void;
}

export interface ImageUpdaterOptions {
  policies: PolicyIndex;
  writeBack: WriteBack;
  logger: Logger;
}

/** Bounds of what one update reads: files under path, and the size of each. */
const MAX_FILES = 20_000;
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const YAML_FILE = /\.ya?ml$/i;

interface Edit {
  files: string[];
  changes: FieldChange[];
  problems: MarkerProblem[];
  markers: number;
  markedFiles: number;
}

/** Same repository whatever the spelling: scheme and host case, a trailing .git or slash. */
export function repositoryKey(url: string): string {
  return url
    .trim()
    .replace(
      /^([a-z+]+:\/\/)?([^/@]+@)?([^/:]+)/i,
      (_, scheme = '', _user, host: string) => `${scheme.toLowerCase()}${host.toLowerCase()}`,
    )
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

export function createImageUpdater(options: ImageUpdaterOptions): ImageUpdater {
  const { policies, writeBack, logger } = options;
  /** GitSource uid → what the last successful run saw. */
  const done = new Map<string, string>();
  /** repository → the tail of the updates queued on it: two GitSources never interleave a push. */
  const chains = new Map<string, Promise<unknown>>();

  const serialise = <T>(repo: string, fn: () => Promise<T>): Promise<T> => {
    const prev = chains.get(repo) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    chains.set(repo, tail);
    void tail.then(() => {
      if (chains.get(repo) === tail) chains.delete(repo);
    });
    return next;
  };

  return {
    forget: (uid) => {
      done.delete(uid);
      writeBack
        .forget(uid)
        .catch((err: unknown) =>
          logger.warn({ err: String(err) }, 'could not remove image update checkouts'),
        );
    },
    async update(ctx, input) {
      const { gs, spec } = ctx;
      const updates = spec.imageUpdates!;
      // Image updates write to Git: a chart-only source (no spec.url) has nowhere to write.
      if (!spec.url) return { ran: false };
      const url = spec.url;
      const fingerprint = JSON.stringify([
        gs.metadata.generation,
        input.trackedCommit ?? null,
        policies.version(),
      ]);
      if (input.trackedCommit !== undefined && done.get(gs.metadata.uid) === fingerprint)
        return { ran: false };
      const tracked = spec.ref?.branch ?? (spec.ref && Object.keys(spec.ref).length > 0 ? undefined : 'main');
      const pushBranch = updates.push?.branch ?? tracked;
      if (!tracked || !pushBranch) {
        done.delete(gs.metadata.uid);
        return {
          ran: true,
          report: {
            status: 'False',
            reason: 'InvalidSpec',
            message:
              'spec.imageUpdates needs spec.ref.branch (a tag, semver range or commit cannot be pushed to)',
          },
        };
      }
      const source = `${gs.metadata.namespace}/${gs.metadata.name}`;
      const log = logger.child({ gitsource: source });
      // Policies of this run, looked up once: same-namespace from the index, others as the GitSource's identity may.
      const looked = new Map<string, PolicyLookup>();
      const lookupAll = async (names: string[]) => {
        for (const name of names)
          if (!looked.has(name)) looked.set(name, await lookupPolicy(ctx, policies, name));
      };
      const edit = async (root: string): Promise<Edit> => {
        const result: Edit = { files: [], changes: [], problems: [], markers: 0, markedFiles: 0 };
        const base = join(root, spec.path);
        for (const abs of await yamlFiles(base, root)) {
          const file = relative(root, abs).split(sep).join('/');
          const text = await readFile(abs, 'utf8');
          const names = markerPolicies(text);
          if (names.length === 0) continue;
          await lookupAll(names);
          const r = updateFile(file, text, (name) => looked.get(name)!);
          result.markers += r.markers;
          if (r.markers > 0) result.markedFiles++;
          result.problems.push(...r.problems);
          if (r.text === undefined) continue;
          await writeFile(abs, r.text);
          result.files.push(file);
          result.changes.push(...r.changes);
        }
        return result;
      };
      try {
        const out = await serialise(repositoryKey(url), () =>
          writeBack.write({
            owner: gs.metadata.uid,
            url,
            credentials: input.credentials,
            baseBranch: tracked,
            pushBranch,
            author: updates.author,
            edit,
            message: (e) => {
              const m = renderMessage(updates.messageTemplate, {
                changes: e.changes,
                source,
                branch: pushBranch,
              });
              if (!m.ok) throw new UpdateError('InvalidSpec', m.error);
              return m.message;
            },
            deadline: Date.now() + ctx.remainingMs(),
          }),
        );
        const e = out.edit;
        const problems = e.problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
        const pushed = out.commit
          ? { commit: out.commit, branch: pushBranch, tracked: pushBranch === tracked, changes: e.changes }
          : undefined;
        if (pushed)
          log.info(
            { commit: out.commit, branch: pushBranch, changes: e.changes.length, attempts: out.attempts },
            'pushed image updates',
          );
        const what = pushed
          ? `Pushed ${pushed.commit.slice(0, 7)} to ${pushBranch}: ${e.changes.map((c) => `${c.file}: ${c.old} → ${c.new}`).join(', ')}`
          : `${e.markers} marker${e.markers === 1 ? '' : 's'} in ${e.markedFiles} file${e.markedFiles === 1 ? '' : 's'} up to date`;
        if (problems.length > 0) {
          // Bad markers are retried each interval (the policy may appear, or the file be fixed).
          done.delete(gs.metadata.uid);
          return {
            ran: true,
            pushed,
            report: {
              status: 'False',
              reason: 'InvalidMarker',
              message: `${problems.length} marker${problems.length === 1 ? '' : 's'} not applied: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}. ${what}`,
            },
          };
        }
        // A push to the tracked branch moves it to our commit: the next run skips unless someone else moved it.
        done.set(
          gs.metadata.uid,
          pushed?.tracked
            ? JSON.stringify([gs.metadata.generation, pushed.commit, policies.version()])
            : fingerprint,
        );
        return {
          ran: true,
          pushed,
          report: { status: 'True', reason: pushed ? 'Pushed' : 'UpToDate', message: what },
        };
      } catch (err) {
        done.delete(gs.metadata.uid);
        const reason = err instanceof UpdateError || err instanceof ConvergeError ? err.reason : 'PushFailed';
        const message = err instanceof Error ? err.message : String(err);
        log.warn({ reason, err: message }, 'image update failed');
        return { ran: true, report: { status: 'False', reason, message } };
      }
    },
  };
}

/** A marker's policy `<ns>:<name>`: its latest tag, or why the marker cannot use it. */
async function lookupPolicy(
  ctx: ImageUpdateContext,
  policies: PolicyIndex,
  ref: string,
): Promise<PolicyLookup> {
  const [namespace, name] = ref.split(':') as [string, string];
  const own = ctx.gs.metadata.namespace;
  if (namespace !== own) {
    // Another namespace: only as far as the GitSource's own identity (spec.serviceAccountName) may read it.
    try {
      await ctx.client.request<ImagePolicy>(
        'GET',
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${IMAGE_POLICY_PLURAL}/${name}`,
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 403)
        return {
          ok: false,
          error: `ImagePolicy ${namespace}/${name} is in another namespace and ${ctx.spec.serviceAccountName ? `service account ${own}/${ctx.spec.serviceAccountName}` : 'this GitSource'} may not read it`,
        };
      if (err instanceof ApiError && err.status === 404)
        return { ok: false, error: `ImagePolicy ${namespace}/${name} not found` };
      return { ok: false, error: `reading ImagePolicy ${namespace}/${name} failed: ${String(err)}` };
    }
  }
  const p = policies.get(namespace, name);
  if (!p) return { ok: false, error: `ImagePolicy ${namespace}/${name} not found` };
  if (!p.latest)
    return {
      ok: false,
      error: `ImagePolicy ${namespace}/${name} has no latest tag yet${p.problem ? ` (${p.problem})` : ''}`,
    };
  return { ok: true, value: { image: p.image, tag: p.latest.tag, digest: p.latest.digest } };
}

/** YAML files under `dir` (never following symlinks, never into .git), bounded in count and size. */
async function yamlFiles(dir: string, root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const abs = join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === '.git' && d === root) continue;
        await walk(abs);
      } else if (entry.isFile() && YAML_FILE.test(entry.name)) {
        if ((await lstat(abs)).size > MAX_FILE_BYTES) continue;
        out.push(abs);
        if (out.length > MAX_FILES)
          throw new UpdateError('InvalidSpec', `more than ${MAX_FILES} YAML files under spec.path`);
      }
    }
  };
  await walk(dir);
  return out;
}
