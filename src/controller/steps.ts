// The stage calls a reconcile makes, behind one interface: the reconciler orchestrates them, and its
// decisions can be tested with fakes; `stageSteps` binds them to the real stages.
import {
  canonicalObjectId,
  describeRef,
  inventoryEntries,
  parseObjectId,
  type GitSource,
  type GitSourceSpec,
  type InventoryEntry,
  type KubeObject,
} from '../api/index.ts';
import { waitForHealthy, type ObjectHealth } from '../health/index.ts';
import type { Hook, HookPhase } from '../hooks/index.ts';
import { ApiError, isNotFound, readObjectData, type KubeClient } from '../kube/index.ts';
import {
  AppliedObjects,
  changeLines,
  divergedMessage,
  hasChanges,
  planChanges,
  type ChangeSet,
} from '../plan/index.ts';
import { pruneStale } from '../prune/index.ts';
import { helmValuesFor, renderInputFor, renderManifests, type ClientTools } from '../render/index.ts';
import {
  secretNamesOf,
  sourceOf,
  type FetchedRevision,
  type Fetcher,
  type ResolvedRevision,
  type SourceRequest,
  type SourceSecret,
} from '../source/index.ts';
import { ConvergeError } from '../api/index.ts';
import { gitSourceListPath } from './paths.ts';
import { applyInWaves, runHookPhase, type HookContext, type WaveOptions } from './sync.ts';

/** What a render reads of a fetched revision. */
export type RenderContent = Pick<FetchedRevision, 'dir' | 'renderPath' | 'valuesRoot'>;

/** `secret` for the source itself, `gitSecret` for the Git part beside a chart (values files). */
export interface SourceSecrets {
  secret?: SourceSecret | undefined;
  gitSecret?: SourceSecret | undefined;
}

export type HealthProgress = (pending: readonly ObjectHealth[], total: number) => void | Promise<void>;

/** What every step gets: the GitSource being reconciled, its parsed spec, and the run's bounds. */
export interface StepContext {
  gs: GitSource;
  spec: GitSourceSpec;
  /** The client this GitSource applies with (impersonating spec.serviceAccountName when set). */
  client: KubeClient;
  signal: AbortSignal;
  /** Milliseconds left before spec.timeout runs out. */
  remainingMs(): number;
}

export interface Plan {
  changeSet: ChangeSet;
  /** Desired objects as applied (ownership labels added): the baseline for drift checks. */
  desired: KubeObject[];
  hasChanges: boolean;
  changeLines: string[];
  /** "1 to create, 2 to configure, 1 to prune: Deployment/apps/web /spec/replicas, …" */
  divergedMessage: string;
}

export interface ReconcileSteps {
  /** The client a GitSource applies with. */
  clientFor(gs: GitSource, spec: GitSourceSpec): KubeClient;
  /** The Secrets the source reads (secretNamesOf), their keys checked by the source's kind. */
  credentials(gs: GitSource, spec: GitSourceSpec): Promise<SourceSecrets>;
  resolve(req: SourceRequest): Promise<ResolvedRevision>;
  fetch(req: SourceRequest, resolved: ResolvedRevision | undefined): Promise<FetchedRevision>;
  /** Renders what the source handed over (its directory, a chart's folder in it, values beside it). */
  render(ctx: StepContext, content: RenderContent): Promise<KubeObject[]>;
  /** `withInventory: false` plans the given objects only (drift), with no stale entries. */
  plan(ctx: StepContext, desired: KubeObject[], opts?: { withInventory?: boolean }): Promise<Plan>;
  /** Applies wave by wave (argocd.argoproj.io/sync-wave); `waves` runs Sync hooks and waits between waves. */
  apply(ctx: StepContext, plan: Plan, waves?: WaveOptions): Promise<void>;
  /** Deletes the plan's stale objects that still belong to this GitSource; returns what went. */
  prune(ctx: StepContext, plan: Plan): Promise<string[]>;
  /** Resolves with a line for the Converged message once every applied object is healthy. */
  wait(ctx: StepContext, plan: Plan, opts?: { onProgress?: HealthProgress }): Promise<string>;
  /** Runs one phase of Helm / Argo CD hooks not yet completed for this revision; throws HookFailed. */
  hooks(hooks: HookContext, phase: HookPhase, list: readonly Hook[]): Promise<void>;
  /** deletionPolicy: Delete: every inventory object that still belongs to this GitSource goes. */
  deleteInventory(ctx: StepContext, entries: InventoryEntry[]): Promise<string[]>;
  /** Drops the git cache of a GitSource that is gone. */
  forgetSource(uid: string): Promise<void>;
}

export interface StageStepsDeps {
  client: KubeClient;
  source: Fetcher;
  tools: ClientTools;
  /** A watched GitSource as last seen (the controller's cache); others are read with a GET. */
  cachedGitSource?: (namespace: string, name: string) => GitSource | undefined;
}

const ownerOf = (gs: GitSource) => ({ name: gs.metadata.name, namespace: gs.metadata.namespace });

export function stageSteps({ client, source, tools, cachedGitSource }: StageStepsDeps): ReconcileSteps {
  // issue 9 (one owner per object): does another GitSource still declare an object it labels?
  const declaredBy = async (owner: { name: string; namespace: string }, id: string): Promise<boolean> => {
    let other = cachedGitSource?.(owner.namespace, owner.name);
    if (!other) {
      try {
        other = await client.request<GitSource>('GET', `${gitSourceListPath(owner.namespace)}/${owner.name}`);
      } catch (err) {
        // Gone: its labels claim nothing. Unreadable: take them at their word.
        return !isNotFound(err);
      }
    }
    return inventoryEntries(other.status).some((e) => canonicalObjectId(e.id) === id);
  };

  // issue 17: what this process applied, per GitSource and the identity it applies as; a commit
  // that changes one object of 10,000 then dry-runs one. Lost on restart, like the rest of memory.
  const applied = new Map<string, AppliedObjects>();
  const appliedFor = (gs: GitSource, spec: GitSourceSpec) => {
    const key = `${gs.metadata.uid}/${spec.serviceAccountName ?? ''}`;
    let memory = applied.get(key);
    if (!memory) {
      memory = new AppliedObjects();
      applied.set(key, memory);
    }
    return memory;
  };

  return {
    clientFor(gs, spec) {
      // The API server adds the service-account groups itself; asking for them would need
      // `impersonate` on groups cluster-wide, which tenant mode rightly does not grant.
      return spec.serviceAccountName
        ? client.impersonating(`system:serviceaccount:${gs.metadata.namespace}:${spec.serviceAccountName}`)
        : client;
    },

    async credentials(gs, spec) {
      const names = secretNamesOf(spec);
      const ref = sourceOf(spec);
      const read = async (name: string | undefined, field: string) => {
        if (name === undefined) return undefined;
        const where = `${gs.metadata.namespace}/${name}`;
        let secret: { data?: Record<string, string> };
        try {
          secret = await client.request('GET', `/api/v1/namespaces/${gs.metadata.namespace}/secrets/${name}`);
        } catch (err) {
          if (isNotFound(err))
            throw new ConvergeError('MissingSecret', `secret ${where} (${field}) not found`);
          if (err instanceof ApiError && err.status === 403)
            throw new ConvergeError('RBACDenied', `reading secret ${where} is forbidden: ${err.message}`);
          throw err;
        }
        const data = Object.fromEntries(
          Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
        );
        return { where, data };
      };
      const secret = await read(
        names.secret,
        spec.chart?.secretRef?.name === names.secret ? 'spec.chart.secretRef.name' : 'spec.secretRef.name',
      );
      const gitSecret = await read(names.gitSecret, 'spec.secretRef.name');
      if (secret) source.checkSecret(ref, secret);
      if (gitSecret && ref.kind === 'chart' && ref.values) source.checkSecret(ref.values, gitSecret);
      return { secret, gitSecret };
    },

    // Calls to the remote are timed by the source itself (a poll may be answered from a shared cache).
    resolve: (req) => source.resolveRevision(req),

    fetch: (req, resolved) => source.fetchRevision(req, resolved),

    async render({ gs, spec, signal, client: c }, content) {
      // Values files, Secrets and ConfigMaps are read as the GitSource applies (its service account).
      const helmValues = await helmValuesFor({
        spec,
        valuesRoot: content.valuesRoot ?? content.dir,
        readObject: (kind, name) => readValuesObject(c, gs.metadata.namespace, kind, name),
      });
      // The same spec → render input mapping as `converge build` / `converge diff` (render/spec.ts).
      return renderManifests(
        renderInputFor(
          { name: gs.metadata.name, namespace: gs.metadata.namespace, spec },
          content.dir,
          tools,
          {
            signal,
            helmValues,
            ...(content.renderPath !== undefined ? { path: content.renderPath } : {}),
          },
        ),
      );
    },

    async plan({ gs, spec, client: c, signal }, desired, opts = {}) {
      const changeSet = await planChanges(c, c.mapper, desired, {
        owner: ownerOf(gs),
        ignore: spec.ignore,
        inventory: opts.withInventory === false ? undefined : inventoryEntries(gs.status),
        force: spec.force,
        declaredBy,
        applied: appliedFor(gs, spec),
        signal,
      });
      // Objects that left Git (kustomize's hashed ConfigMap names do on every change) are never
      // applied again under that form: the memory keeps only what Git still has.
      appliedFor(gs, spec).forget(changeSet.stale.map((s) => s.id));
      if (!spec.prune) changeSet.stale = [];
      return {
        changeSet,
        desired: changeSet.objects.map((o) => o.object),
        hasChanges: hasChanges(changeSet),
        changeLines: changeLines(changeSet),
        divergedMessage: divergedMessage(changeSet),
      };
    },

    async apply({ gs, spec, client: c, signal, remainingMs }, plan, waves = {}) {
      // Throws on any rejected object: the reconciler never prunes after that.
      await applyInWaves(c, plan.changeSet, {
        ...waves,
        force: spec.force,
        signal,
        timeoutMs: remainingMs,
        applied: appliedFor(gs, spec),
      });
    },

    async prune({ gs, spec, client: c, signal }, plan) {
      if (!spec.prune || plan.changeSet.stale.length === 0) return [];
      const result = await pruneStale(c, c.mapper, plan.changeSet.stale, { owner: ownerOf(gs), signal });
      return result.pruned.map((r) => describeRef(r.ref));
    },

    async wait({ spec, client: c, signal, remainingMs }, plan, opts = {}) {
      const refs = plan.changeSet.objects.map((o) => o.ref);
      const report = await waitForHealthy(c, c.mapper, refs, {
        signal,
        timeoutMs: remainingMs(),
        // The wait gets the time left; its message names the bound the user set.
        timeoutText: spec.timeout ?? '2m',
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      return `${report.objects.length} object(s) healthy`;
    },

    async deleteInventory({ gs, client: c, signal }, entries) {
      if (entries.length === 0) return [];
      const stale = entries.map((e) => ({ id: e.id, ref: parseObjectId(e.id, e.v) }));
      // pruneStale throws a PruneError naming every object it could not delete.
      const result = await pruneStale(c, c.mapper, stale, { owner: ownerOf(gs), signal });
      return result.pruned.map((r) => describeRef(r.ref));
    },

    hooks: (hooks, phase, list) => runHookPhase(hooks, phase, list),

    forgetSource: (uid) => {
      for (const key of applied.keys()) if (key.startsWith(`${uid}/`)) applied.delete(key);
      return source.forget(uid);
    },
  };
}

/** A Secret's or ConfigMap's data for spec.helm.valuesFrom; undefined when it does not exist. */
async function readValuesObject(
  client: KubeClient,
  namespace: string,
  kind: 'Secret' | 'ConfigMap',
  name: string,
): Promise<Record<string, Buffer> | undefined> {
  try {
    return await readObjectData(client, kind, namespace, name);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403)
      throw new ConvergeError(
        'RBACDenied',
        `reading ${kind} ${namespace}/${name} (spec.helm.valuesFrom) is forbidden`,
      );
    throw err;
  }
}
