// Target clusters (spec.kubeConfig): one client, one set of drift watches and one breaker per remote
// cluster, cached by the kubeconfig Secret's content hash and shared by every GitSource that uses it.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ConvergeError, type GitSource, type GitSourceSpec } from '../api/index.ts';
import {
  ApiError,
  KubeClient,
  KubeConfigError,
  clusterAccessFromKubeConfig,
  isNotFound,
  type KubeClientOptions,
  type KubeConfigPolicy,
} from '../kube/index.ts';
import type { Failure } from '../report/index.ts';
import { DriftWatcher, type DriftListener, type DriftTracker } from './drift.ts';
import { keyOf } from './reconciler.ts';

/** Where a GitSource applies: the cluster the operator runs in, or a remote one. */
export interface ClusterTarget {
  /** `local`, or the sha256 of the kubeconfig (a rotated Secret is a new target). */
  readonly id: string;
  /** The un-impersonated client: the operator's identity, or the kubeconfig's. */
  readonly client: KubeClient;
  readonly drift: DriftTracker;
  /** Server and context of a remote cluster (never its credentials); undefined for the local one. */
  readonly remote: { server: string; context: string } | undefined;
}

/** What the controller needs of the drift watches of every cluster. */
export interface DriftFeed {
  onDrift(listener: DriftListener): void;
  untrack(ownerKey: string): void;
  stop(): void;
}

export interface ClusterRegistryOptions {
  /** The management cluster: Secrets are read there; local GitSources apply there. */
  client: KubeClient;
  /** Drift watches of the management cluster. */
  localDrift: DriftWatcher;
  logger: Logger;
  policy: KubeConfigPolicy;
  /** Per-request bound for remote API servers (a hung cluster fails a request in this time). */
  requestTimeoutMs: number;
  /** Reconciles running at once against one remote cluster; the rest wait their turn off the queue. */
  maxInFlight: number;
  onRequest?: KubeClientOptions['onRequest'];
  /** Wall clock in ms (tests). */
  now?: () => number;
}

/** Why a remote cluster is skipped for now, and until when. */
interface Outage {
  message: string;
  until: number;
  failures: number;
}

const OUTAGE_BASE_MS = 5_000;
const OUTAGE_MAX_MS = 60_000;
const PROBE_TIMEOUT_MS = 3_000;
/** How long a GitSource waits for another one's probe before it steps aside (ClusterBusy). */
const PROBE_WAIT_MS = 1_000;
/**
 * A no-op pass sends the cluster nothing; without a word from it for this long, one probe (shared by
 * its GitSources) checks it still answers, so a cluster that went down turns its GitSources not Ready.
 */
const FRESH_MS = 10_000;

class RemoteCluster implements ClusterTarget {
  readonly drift: DriftWatcher;
  readonly users = new Set<string>();
  inFlight = 0;
  outage: Outage | undefined;
  /** When a request last got an answer (ms). */
  lastContact = 0;
  probing: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly client: KubeClient,
    readonly remote: { server: string; context: string },
    logger: Logger,
  ) {
    this.drift = new DriftWatcher(client, logger);
  }

  close(): void {
    this.drift.stop();
    this.client.close();
  }
}

/** Not a failure: another GitSource is checking the cluster; try again shortly, off the queue. */
export class ClusterBusy extends Error {
  override readonly name = 'ClusterBusy';
  constructor(cluster: string) {
    super(`${cluster} is being probed`);
  }
}

/** "cluster https://10.0.0.1:6443 (context prod-eu)": how messages name a remote cluster. */
export function describeCluster(remote: { server: string; context: string }): string {
  return `cluster ${remote.server} (context ${remote.context})`;
}

/** True when `err` (or a cause of it) is a request that never got an answer: refused, reset, timed out. */
export function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ApiError && e.status === 0) return true;
  }
  return false;
}

/** The outage window after `failures` consecutive failures: 5 s doubling to 60 s. */
export function outageMs(failures: number): number {
  return Math.min(OUTAGE_MAX_MS, OUTAGE_BASE_MS * 2 ** Math.max(0, failures - 1));
}

export class ClusterRegistry implements DriftFeed {
  readonly local: ClusterTarget;
  private readonly remotes = new Map<string, RemoteCluster>();
  /** Which target each GitSource used last: drift events of other clusters are not its own. */
  private readonly usedBy = new Map<string, string>();
  private readonly listeners: DriftListener[] = [];
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly opts: ClusterRegistryOptions) {
    this.now = opts.now ?? Date.now;
    this.local = { id: 'local', client: opts.client, drift: opts.localDrift, remote: undefined };
    opts.localDrift.onDrift((e) => {
      if ((this.usedBy.get(e.ownerKey) ?? 'local') === 'local') this.emit(e);
    });
  }

  onDrift(listener: DriftListener): void {
    this.listeners.push(listener);
  }

  private emit(event: Parameters<DriftListener>[0]): void {
    for (const l of this.listeners) l(event);
  }

  /**
   * The cluster a GitSource applies to. For spec.kubeConfig: reads the Secret in the GitSource's
   * own namespace, reuses the client of the same kubeconfig or connects a new one (a rotated Secret),
   * and fails fast while the cluster is known to be down. Throws MissingSecret, InvalidKubeConfig
   * (Stalled) or ClusterUnreachable.
   */
  async targetFor(gs: GitSource, spec: GitSourceSpec, signal?: AbortSignal): Promise<ClusterTarget> {
    const key = keyOf(gs);
    if (!spec.kubeConfig) {
      this.use(key, 'local');
      return this.local;
    }
    const text = await this.readKubeConfig(gs, spec.kubeConfig.secretRef, signal);
    const id = createHash('sha256').update(text).digest('hex');
    let cluster = this.remotes.get(id);
    if (!cluster) {
      const where = `secret ${gs.metadata.namespace}/${spec.kubeConfig.secretRef.name} key ${spec.kubeConfig.secretRef.key}`;
      let access;
      try {
        access = clusterAccessFromKubeConfig(text, where, this.opts.policy);
      } catch (err) {
        if (err instanceof KubeConfigError)
          throw new ConvergeError('InvalidKubeConfig', `spec.kubeConfig: ${err.message}`);
        throw err;
      }
      // Checked again: another GitSource may have connected it while this one parsed.
      cluster = this.remotes.get(id);
      if (!cluster) {
        const client = await KubeClient.connect(access, {
          timeoutMs: this.opts.requestTimeoutMs,
          retryTimeouts: false,
          ...(this.opts.onRequest ? { onRequest: this.opts.onRequest } : {}),
        });
        const remote = { server: access.server.toString(), context: access.context };
        cluster = new RemoteCluster(
          id,
          client,
          remote,
          this.opts.logger.child({ cluster: describeCluster(remote) }),
        );
        const c = cluster;
        c.drift.onDrift((e) => {
          if (this.usedBy.get(e.ownerKey) === c.id) this.emit(e);
        });
        this.remotes.set(id, cluster);
        this.opts.logger.info({ cluster: describeCluster(remote) }, 'connected to a remote cluster');
      }
    }
    this.use(key, id);
    await this.checkReachable(cluster);
    return cluster;
  }

  /**
   * Takes one of the cluster's reconcile slots: a release function, or undefined when the cluster
   * has `maxInFlight` reconciles running (a slow cluster then holds at most that many workers).
   */
  enter(target: ClusterTarget): (() => void) | undefined {
    const cluster = this.remotes.get(target.id);
    if (!cluster) return () => {};
    if (cluster.inFlight >= this.opts.maxInFlight) return undefined;
    cluster.inFlight++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      cluster.inFlight--;
    };
  }

  /** A reconcile reached the cluster (or not): opens or closes its outage window. */
  reportOutcome(target: ClusterTarget, err: unknown): void {
    const cluster = this.remotes.get(target.id);
    if (!cluster) return;
    if (err === undefined || !isUnreachable(err)) {
      cluster.lastContact = this.now();
      if (cluster.outage) this.opts.logger.info({ cluster: describeCluster(cluster.remote) }, 'cluster back');
      cluster.outage = undefined;
      return;
    }
    const failures = (cluster.outage?.failures ?? 0) + 1;
    const message = err instanceof Error ? err.message : String(err);
    if (!cluster.outage)
      this.opts.logger.warn(
        { cluster: describeCluster(cluster.remote), err: message },
        'cluster unreachable',
      );
    cluster.outage = { message, failures, until: this.now() + outageMs(failures) };
  }

  /** While a cluster is down, its GitSources fail at once; after the window, one probe asks again. */
  private async checkReachable(cluster: RemoteCluster): Promise<void> {
    const outage = cluster.outage;
    if (outage && this.now() < outage.until) throw unreachable(cluster, outage.message);
    if (!outage && this.now() - cluster.lastContact < FRESH_MS) return;
    if (cluster.probing) {
      // Another GitSource probes: a hung cluster must not hold one worker per GitSource while it does.
      let waited: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        cluster.probing.then(() => true),
        new Promise<false>((r) => (waited = setTimeout(() => r(false), PROBE_WAIT_MS))),
      ]);
      clearTimeout(waited);
      if (!done) throw new ClusterBusy(describeCluster(cluster.remote));
    } else {
      // Shared by every GitSource of the cluster: one caller's abort must not cancel it for the others.
      cluster.probing = cluster.client
        .request('GET', '/version', { timeoutMs: PROBE_TIMEOUT_MS })
        .then(
          () => this.reportOutcome(cluster, undefined),
          (err: unknown) => this.reportOutcome(cluster, err),
        )
        .finally(() => (cluster.probing = undefined));
      await cluster.probing;
    }
    if (cluster.outage) throw unreachable(cluster, cluster.outage.message);
  }

  private async readKubeConfig(
    gs: GitSource,
    ref: { name: string; key: string },
    signal?: AbortSignal,
  ): Promise<string> {
    // Only the GitSource's own namespace: the spec has no field to name another.
    const where = `${gs.metadata.namespace}/${ref.name}`;
    let secret: { data?: Record<string, string> };
    try {
      secret = await this.opts.client.request(
        'GET',
        `/api/v1/namespaces/${gs.metadata.namespace}/secrets/${encodeURIComponent(ref.name)}`,
        signal ? { signal } : {},
      );
    } catch (err) {
      if (isNotFound(err))
        throw new ConvergeError(
          'MissingSecret',
          `secret ${where} (spec.kubeConfig.secretRef.name) not found`,
        );
      if (err instanceof ApiError && err.status === 403)
        throw new ConvergeError('RBACDenied', `reading secret ${where} is forbidden: ${err.message}`);
      throw err;
    }
    const value = secret.data?.[ref.key];
    if (!value)
      throw new ConvergeError(
        'InvalidKubeConfig',
        `secret ${where} has no key "${ref.key}" (spec.kubeConfig.secretRef.key)`,
      );
    return Buffer.from(value, 'base64').toString('utf8');
  }

  /** Records that `key` uses `id`; a remote cluster no GitSource uses any more is closed. */
  private use(key: string, id: string): void {
    const before = this.usedBy.get(key);
    if (before === id) return;
    this.usedBy.set(key, id);
    const old = before ? this.remotes.get(before) : undefined;
    old?.users.delete(key);
    if (before === 'local' || before === undefined) this.opts.localDrift.untrack(key);
    else old?.drift.untrack(key);
    if (id !== 'local') this.remotes.get(id)?.users.add(key);
    if (old && old.users.size === 0) this.close(old);
  }

  private close(cluster: RemoteCluster): void {
    this.remotes.delete(cluster.id);
    cluster.close();
    this.opts.logger.info(
      { cluster: describeCluster(cluster.remote) },
      'closed a remote cluster no GitSource uses (its kubeconfig changed or its GitSources are gone)',
    );
  }

  /** The GitSource is gone: forget its objects; close its cluster if it was the last user. */
  untrack(ownerKey: string): void {
    const id = this.usedBy.get(ownerKey);
    this.usedBy.delete(ownerKey);
    this.opts.localDrift.untrack(ownerKey);
    const cluster = id ? this.remotes.get(id) : undefined;
    if (!cluster) return;
    cluster.drift.untrack(ownerKey);
    cluster.users.delete(ownerKey);
    if (cluster.users.size === 0) this.close(cluster);
  }

  /** Remote clusters connected now (metrics, benchmarks). */
  get remoteCount(): number {
    return this.remotes.size;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.opts.localDrift.stop();
    for (const c of this.remotes.values()) c.close();
    this.remotes.clear();
  }
}

/**
 * A failure in a remote cluster names the cluster; one whose request got no answer (refused, reset,
 * timed out) is ClusterUnreachable, which a retry may fix (never Stalled).
 */
export function inRemoteCluster(
  failure: Failure,
  err: unknown,
  remote: { server: string; context: string },
): Failure {
  const name = describeCluster(remote);
  if (failure.reason === 'ClusterUnreachable' || failure.message.startsWith(name)) return failure;
  if (isUnreachable(err))
    return {
      ...failure,
      reason: 'ClusterUnreachable',
      stalled: false,
      message: `${name} unreachable: ${failure.message}`,
    };
  return { ...failure, message: `${name}: ${failure.message}` };
}

function unreachable(cluster: RemoteCluster, message: string): ConvergeError {
  return new ConvergeError(
    'ClusterUnreachable',
    `${describeCluster(cluster.remote)} unreachable: ${message}`,
  );
}
