// Runs hooks: replace the previous instance, create (generateName kept), wait for Jobs and Pods, delete per policy.
import {
  ConvergeError,
  GROUP,
  LABEL_NAME,
  LABEL_NAMESPACE,
  isConvergeError,
  type KubeObject,
} from '../api/index.ts';
import {
  ApiError,
  objectError,
  resourcePath,
  sleep,
  type KubeClient,
  type RestMapping,
} from '../kube/index.ts';
import { byWeight, displayName, hookGvk, type Hook } from './classify.ts';

/** Hooks carry these instead of the ownership labels: never inventoried, watched for drift or pruned. */
export const LABEL_HOOK_OWNER_NAME = `${GROUP}/hook-owner-name`;
export const LABEL_HOOK_OWNER_NAMESPACE = `${GROUP}/hook-owner-namespace`;
/** The revision a hook instance ran for, and which hook it is (generateName instances have no fixed name). */
export const ANNOTATION_HOOK_REVISION = `${GROUP}/hook-revision`;
export const ANNOTATION_HOOK_IDENTITY = `${GROUP}/hook`;

export interface RunHooksOptions {
  owner: { name: string; namespace: string };
  revision: string;
  /** Keys of hooks that already completed for this revision (status.hooks): not run again. */
  completed: ReadonlySet<string>;
  /** Aborting (timeout, new commit) stops waiting at once; the hook object is left as it is. */
  signal: AbortSignal;
  /** Called after each hook completes, so a restart does not run it again. */
  onCompleted?: (key: string) => Promise<void>;
  /** Called when a hook starts, for the progress message. */
  onStart?: (hook: Hook) => Promise<void> | void;
  /** Between polls of a running Job or Pod (default 500 ms). */
  pollMs?: number;
}

/**
 * Runs hooks in order: all hooks of one weight together, the next weight once they completed.
 * Throws ConvergeError('HookFailed') naming the hook and why (a failed Job: its condition and its
 * last pod's message); later hooks are not run.
 */
export async function runHooks(
  client: KubeClient,
  hooks: readonly Hook[],
  opts: RunHooksOptions,
): Promise<string[]> {
  const ran: string[] = [];
  for (const group of byWeight(hooks, (h) => h.weight)) {
    const todo = group.items.filter((h) => !opts.completed.has(h.key));
    const results = await Promise.allSettled(
      todo.map(async (hook) => {
        await opts.onStart?.(hook);
        await runHook(client, hook, opts);
        ran.push(hook.key);
        await opts.onCompleted?.(hook.key);
      }),
    );
    opts.signal.throwIfAborted();
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length === 1) throw asHookError(failures[0]);
    if (failures.length > 1)
      throw new ConvergeError(
        'HookFailed',
        `${failures.length} hooks failed: ${failures.map((f) => asHookError(f).message).join('; ')}`,
      );
  }
  return ran;
}

function asHookError(err: unknown): ConvergeError {
  if (isConvergeError(err))
    return err.reason === 'RBACDenied' ? err : new ConvergeError('HookFailed', err.message, { cause: err });
  return new ConvergeError('HookFailed', err instanceof Error ? err.message : String(err), { cause: err });
}

async function runHook(client: KubeClient, hook: Hook, opts: RunHooksOptions): Promise<void> {
  const signal = opts.signal;
  const gvk = hookGvk(hook);
  const what = `${hook.source} hook ${hook.identity}`;
  const ref = { ...gvk, name: hook.object.metadata.name || hook.identity };
  let mapping: RestMapping;
  try {
    mapping = await client.mapper.mappingFor(gvk);
  } catch (err) {
    throw new ConvergeError('HookFailed', `${what}: ${(err as Error).message}`, { cause: err });
  }
  const collection = resourcePath(mapping, gvk.namespace);
  const named = hook.object.metadata.name !== '';

  const namedPath = named ? `${collection}/${encodeURIComponent(hook.object.metadata.name)}` : undefined;
  // A restart (or a retry) finds the instance of this revision still there: wait for it, do not run it twice.
  let instance = namedPath
    ? await mine(client, namedPath, hook, opts, signal)
    : await findInstance(client, collection, hook, opts, signal);
  try {
    if (instance && instance.metadata.annotations?.[ANNOTATION_HOOK_REVISION] !== opts.revision) {
      if (hook.deletePolicies.has('before-hook-creation')) {
        await deleteAndWait(client, collection, hook, opts, signal);
        instance = undefined;
      } else if (namedPath) {
        // No before-hook-creation: the old object is updated in place, as Argo CD does.
        instance = await client.applyAt<KubeObject>(namedPath, prepare(hook, opts), { signal });
      } else {
        instance = undefined;
      }
    }
    instance ??= await client.request<KubeObject>('POST', collection, {
      body: prepare(hook, opts),
      query: { fieldManager: 'converge' },
      signal,
    });
  } catch (err) {
    signal.throwIfAborted();
    throw objectError(ref, 'create', err, 'HookFailed', mapping.resource);
  }
  const path = `${collection}/${encodeURIComponent(instance.metadata.name)}`;
  const outcome = await waitForHook(client, path, instance, opts.pollMs ?? 500, signal);
  if (outcome.ok) {
    if (hook.deletePolicies.has('hook-succeeded'))
      await client.delete(path, { propagationPolicy: 'Background', signal });
    return;
  }
  const name = describeInstance(instance);
  const detail = `${outcome.message}${outcome.podMessage ? `; last pod ${outcome.podMessage}` : ''}`;
  if (hook.deletePolicies.has('hook-failed'))
    await client.delete(path, { propagationPolicy: 'Background', signal });
  throw new ConvergeError('HookFailed', `${hook.source} hook ${name} failed: ${detail}`);
}

function describeInstance(obj: KubeObject): string {
  return displayName(obj);
}

/**
 * The live object at `path`. One that is neither a hook of this GitSource nor one of its managed
 * objects (a hook that used to be managed) belongs to someone else: it is never replaced.
 */
async function mine(
  client: KubeClient,
  path: string,
  hook: Hook,
  opts: RunHooksOptions,
  signal: AbortSignal,
): Promise<KubeObject | undefined> {
  const live = await client.getIfExists<KubeObject>(path, { signal });
  if (!live) return undefined;
  const labels = live.metadata.labels ?? {};
  const owned = (name: string, namespace: string) =>
    labels[name] === opts.owner.name && labels[namespace] === opts.owner.namespace;
  if (owned(LABEL_HOOK_OWNER_NAME, LABEL_HOOK_OWNER_NAMESPACE) || owned(LABEL_NAME, LABEL_NAMESPACE))
    return live;
  throw new ConvergeError(
    'HookFailed',
    `${hook.source} hook ${hook.identity}: an object of that name exists and does not belong to GitSource ${opts.owner.namespace}/${opts.owner.name}; delete or rename it`,
  );
}

/** The newest instance of a generateName hook, found by owner labels and the hook annotation. */
async function findInstance(
  client: KubeClient,
  collection: string,
  hook: Hook,
  opts: RunHooksOptions,
  signal: AbortSignal,
): Promise<KubeObject | undefined> {
  const all = await instancesOf(client, collection, hook, opts, signal);
  return all.sort((a, b) =>
    String(b.metadata['creationTimestamp']).localeCompare(String(a.metadata['creationTimestamp'])),
  )[0];
}

async function instancesOf(
  client: KubeClient,
  collection: string,
  hook: Hook,
  opts: RunHooksOptions,
  signal: AbortSignal,
): Promise<KubeObject[]> {
  const { items } = await client.list<KubeObject>(collection, {
    labelSelector: `${LABEL_HOOK_OWNER_NAME}=${opts.owner.name},${LABEL_HOOK_OWNER_NAMESPACE}=${opts.owner.namespace}`,
    signal,
  });
  return items.filter((o) => o.metadata.annotations?.[ANNOTATION_HOOK_IDENTITY] === hook.identity);
}

/** before-hook-creation: the previous instance(s) go first, and are waited for (a Job's name must be free). */
async function deleteAndWait(
  client: KubeClient,
  collection: string,
  hook: Hook,
  opts: RunHooksOptions,
  signal: AbortSignal,
): Promise<void> {
  const named = hook.object.metadata.name !== '';
  const paths = named
    ? [`${collection}/${encodeURIComponent(hook.object.metadata.name)}`]
    : (await instancesOf(client, collection, hook, opts, signal)).map(
        (o) => `${collection}/${encodeURIComponent(o.metadata.name)}`,
      );
  for (const path of paths) {
    await client.delete(path, { propagationPolicy: 'Background', signal });
    // Only a named hook needs its name back; generateName instances can finish terminating on their own.
    if (!named) continue;
    while (await client.getIfExists(path, { signal })) await sleep(opts.pollMs ?? 500, signal);
  }
}

function prepare(hook: Hook, opts: RunHooksOptions): KubeObject {
  const { name, ...metadata } = hook.object.metadata;
  return {
    ...hook.object,
    metadata: {
      ...metadata,
      ...(name ? { name } : {}),
      labels: {
        ...hook.object.metadata.labels,
        [LABEL_HOOK_OWNER_NAME]: opts.owner.name,
        [LABEL_HOOK_OWNER_NAMESPACE]: opts.owner.namespace,
      },
      annotations: {
        ...hook.object.metadata.annotations,
        [ANNOTATION_HOOK_REVISION]: opts.revision,
        [ANNOTATION_HOOK_IDENTITY]: hook.identity,
      },
    } as KubeObject['metadata'],
  };
}

interface HookOutcome {
  ok: boolean;
  message: string;
  podMessage?: string | undefined;
}

interface Cond {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** Jobs and Pods are waited for (as Helm does); any other hook kind is done once created. */
async function waitForHook(
  client: KubeClient,
  path: string,
  created: KubeObject,
  pollMs: number,
  signal: AbortSignal,
): Promise<HookOutcome> {
  const isJob = created.kind === 'Job' && created.apiVersion.startsWith('batch/');
  const isPod = created.kind === 'Pod' && created.apiVersion === 'v1';
  if (!isJob && !isPod) return { ok: true, message: 'created' };
  let live: KubeObject | undefined = created;
  for (;;) {
    if (!live) return { ok: false, message: 'deleted while it ran' };
    const status = (live['status'] ?? {}) as {
      conditions?: Cond[];
      phase?: string;
      message?: string;
      reason?: string;
    };
    if (isJob) {
      const conds = status.conditions ?? [];
      const failed = conds.find(
        (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
      );
      if (failed) {
        return {
          ok: false,
          message: [failed.reason, failed.message].filter(Boolean).join(': ') || 'job failed',
          podMessage: await lastPodMessage(client, live, signal),
        };
      }
      if (
        conds.some((c) => (c.type === 'Complete' || c.type === 'SuccessCriteriaMet') && c.status === 'True')
      )
        return { ok: true, message: 'completed' };
    } else {
      if (status.phase === 'Succeeded') return { ok: true, message: 'succeeded' };
      if (status.phase === 'Failed')
        return { ok: false, message: `pod failed`, podMessage: podMessage(live) };
    }
    await sleep(pollMs, signal);
    live = await client.getIfExists<KubeObject>(path, { signal });
  }
}

/** The newest pod of a Job and what its containers said, e.g. `migrate-x7k2q: container migrate: Error (exit code 1): no database`. */
async function lastPodMessage(
  client: KubeClient,
  job: KubeObject,
  signal: AbortSignal,
): Promise<string | undefined> {
  try {
    const { items } = await client.list<KubeObject>(
      `/api/v1/namespaces/${encodeURIComponent(job.metadata.namespace ?? '')}/pods`,
      {
        labelSelector: `batch.kubernetes.io/job-name=${job.metadata.name}`,
        signal,
      },
    );
    const newest = items.sort((a, b) =>
      String(b.metadata['creationTimestamp']).localeCompare(String(a.metadata['creationTimestamp'])),
    )[0];
    return newest ? podMessage(newest) : undefined;
  } catch (err) {
    if (err instanceof ApiError) return undefined;
    throw err;
  }
}

interface ContainerState {
  terminated?: { reason?: string; message?: string; exitCode?: number };
  waiting?: { reason?: string; message?: string };
}

function podMessage(pod: KubeObject): string {
  const status = (pod['status'] ?? {}) as {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: { name: string; state?: ContainerState }[];
  };
  const parts: string[] = [];
  for (const c of status.containerStatuses ?? []) {
    const t = c.state?.terminated;
    const w = c.state?.waiting;
    if (t && t.exitCode !== 0)
      parts.push(
        `container ${c.name}: ${t.reason ?? 'terminated'} (exit code ${t.exitCode ?? '?'})${t.message ? `: ${t.message.trim()}` : ''}`,
      );
    else if (w?.reason) parts.push(`container ${c.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`);
  }
  if (parts.length === 0)
    parts.push(
      [status.reason, status.message].filter(Boolean).join(': ') || `phase ${status.phase ?? 'unknown'}`,
    );
  const text = `${pod.metadata.name}: ${parts.join('; ')}`;
  return text.length > 400 ? `${text.slice(0, 399)}…` : text;
}
