// The desired objects for `build` and `diff`: a GitSource's revision fetched by the source stage, or a
// local directory, rendered by the render stage with the GitSource's spec exactly as the operator does.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pino } from 'pino';
import { GitSourceSpecSchema, parseSpec, type GitSourceSpec, type KubeObject } from '../api/index.ts';
import { ApiError, readObjectData } from '../kube/index.ts';
import { resolveClientTools, type ClientTools } from '../render/index.ts';
import { helmValuesFor, renderInputFor, renderManifests } from '../render/index.ts';
import {
  createSources,
  secretNamesOf,
  sourceOf,
  type SourceRef,
  type SourceSecret,
} from '../source/index.ts';
import { CliError, str, type Flag, type FlagValues } from './command.ts';
import type { CliContext, ListedGitSource } from './context.ts';
import { chartVersionOf, commitOf } from './format/gitsource.ts';

export const RENDER_FLAGS: Record<string, Flag> = {
  path: {
    type: 'string',
    value: 'DIR',
    help: 'render this local directory (in place of spec.path) instead of fetching the revision',
  },
  kubectl: {
    type: 'string',
    value: 'PATH',
    help: 'kubectl for kustomize (default: PATH, then the bundled one)',
  },
  helm: { type: 'string', value: 'PATH', help: 'helm for charts (default: PATH, then the bundled one)' },
};

export interface Desired {
  objects: KubeObject[];
  /** What was rendered: `main@sha1:abc…` of apps/web, or a local directory. */
  from: string;
}

function specOf(gs: ListedGitSource): GitSourceSpec {
  const parsed = parseSpec(gs.spec);
  if (!parsed.ok)
    throw new CliError(`gitsource ${gs.metadata.namespace}/${gs.metadata.name}: ${parsed.error}`);
  return parsed.spec;
}

/** The git work tree holding `dir` (so kustomize may reach ../base as in the repository), else `dir`. */
export function checkoutRootOf(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return dir;
  }
}

async function tools(ctx: CliContext, values: FlagValues): Promise<ClientTools> {
  return resolveClientTools({
    kubectl: str(values, 'kubectl') ?? ctx.io.env.CONVERGE_KUBECTL,
    helm: str(values, 'helm') ?? ctx.io.env.CONVERGE_HELM,
    pathEnv: ctx.io.env.PATH,
  });
}

/**
 * Renders for `gs` (or, without one, plain defaults in namespace `namespace`): from `--path DIR`
 * when given, else from the GitSource's revision (status.revision, the one the operator last
 * fetched; spec.ref before the first fetch).
 */
export async function renderDesired(
  ctx: CliContext,
  gs: ListedGitSource | undefined,
  values: FlagValues,
  namespace: string,
): Promise<Desired> {
  const localPath = str(values, 'path');
  const signal = ctx.io.signal;
  if (localPath !== undefined) {
    const dir = resolve(localPath);
    if (!existsSync(dir)) throw new CliError(`--path ${localPath}: no such directory`);
    const root = checkoutRootOf(dir);
    const target = gs
      ? { name: gs.metadata.name, namespace: gs.metadata.namespace, spec: specOf(gs) }
      : {
          name: basename(dir),
          namespace,
          spec: GitSourceSpecSchema.parse({ url: 'https://local.invalid/' }),
        };
    const input = renderInputFor(target, root, await tools(ctx, values), {
      path: relative(root, dir) || '.',
      signal,
    });
    return { objects: await renderManifests(input), from: localPath };
  }
  if (!gs) throw new CliError('give a GitSource NAME, or a local directory with --path DIR');
  const spec = specOf(gs);
  const ns = gs.metadata.namespace;
  const workDir = await mkdtemp(join(tmpdir(), 'converge-cli-'));
  try {
    const source = createSources({ workDir, logger: pino({ level: 'silent' }) });
    const fetched = await source.fetchRevision({
      key: 'cli',
      source: pinned(sourceOf(spec), gs.status?.revision),
      ...(await secretsOf(ctx, ns, spec)),
      timeoutMs: 120_000,
    });
    const input = renderInputFor(
      { name: gs.metadata.name, namespace: ns, spec },
      fetched.dir,
      await tools(ctx, values),
      {
        signal,
        ...(fetched.renderPath !== undefined ? { path: fetched.renderPath } : {}),
        helmValues: await helmValuesFor({
          spec,
          valuesRoot: fetched.valuesRoot ?? fetched.dir,
          readObject: (kind, name) => readValuesObject(ctx, ns, kind, name),
        }),
      },
    );
    return {
      objects: await renderManifests(input),
      from: `${gs.status?.revision ?? fetched.revision} of ${ns}/${gs.metadata.name}`,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The source at the revision the operator last fetched (a commit; a chart's exact version, and the
 * commit of its values), or as the spec says before that.
 */
export function pinned(source: SourceRef, revision: string | undefined): SourceRef {
  const commit = commitOf(revision);
  if (source.kind === 'git') return commit ? { ...source, ref: { commit } } : source;
  const version = revision ? chartVersionOf(revision) : undefined;
  return {
    ...source,
    ...(version ? { version } : {}),
    ...(source.values && commit ? { values: { ...source.values, ref: { commit } } } : {}),
  };
}

async function secretsOf(
  ctx: CliContext,
  ns: string,
  spec: GitSourceSpec,
): Promise<{ secret?: SourceSecret; gitSecret?: SourceSecret }> {
  const names = secretNamesOf(spec);
  const secret = names.secret ? await secretOf(ctx, ns, names.secret) : undefined;
  const gitSecret = names.gitSecret ? await secretOf(ctx, ns, names.gitSecret) : undefined;
  return { ...(secret ? { secret } : {}), ...(gitSecret ? { gitSecret } : {}) };
}

async function readValuesObject(
  ctx: CliContext,
  ns: string,
  kind: 'Secret' | 'ConfigMap',
  name: string,
): Promise<Record<string, Buffer> | undefined> {
  try {
    return await readObjectData(await ctx.client(), kind, ns, name);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403)
      throw new CliError(`cannot read ${kind} ${ns}/${name} (spec.helm.valuesFrom): forbidden`);
    throw err;
  }
}

async function secretOf(ctx: CliContext, ns: string, name: string): Promise<SourceSecret> {
  const client = await ctx.client();
  let secret: { data?: Record<string, string> };
  try {
    secret = await client.request('GET', `/api/v1/namespaces/${ns}/secrets/${name}`);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 403))
      throw new CliError(
        `cannot read secret ${ns}/${name} (spec.secretRef): ${err.status === 404 ? 'not found' : 'forbidden'}; render a local checkout with --path DIR instead`,
      );
    throw err;
  }
  const data = Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  );
  return { where: `${ns}/${name}`, data };
}
