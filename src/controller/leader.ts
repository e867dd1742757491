// Leader election on a coordination.k8s.io/v1 Lease, handed over at once on shutdown.
import type { Logger } from 'pino';
import { ApiError, isNotFound, type KubeClient } from '../kube/index.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewEveryMs?: number;
}

interface Lease {
  metadata: { resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    renewTime?: string | null;
    acquireTime?: string | null;
    leaseTransitions?: number;
  };
}

const microTime = (d: Date) => d.toISOString().replace(/(\.\d{3})Z$/, '$1000Z');

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly durationMs: number;
  private readonly renewMs: number;
  private observed: { holder: string; renewTime: string; seenAt: number } | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
    private readonly logger: Logger,
    private readonly onChange: (leading: boolean) => void,
  ) {
    this.durationMs = opts.leaseDurationMs ?? 15_000;
    this.renewMs = opts.renewEveryMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases/${this.opts.name}`;
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.renewMs);
    this.timer.unref();
  }

  private setLeading(value: boolean): void {
    if (this.leading === value) return;
    this.leading = value;
    this.logger.info(
      { identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` },
      value ? 'became leader' : 'lost leadership',
    );
    this.onChange(value);
  }

  private async tick(): Promise<void> {
    try {
      this.setLeading(await this.tryAcquireOrRenew());
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'leader election');
      // Could not renew within the lease: another replica may take over, so stop writing.
      if (this.leading && this.observed && Date.now() - this.observed.seenAt > this.durationMs)
        this.setLeading(false);
    }
    this.schedule();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const desired = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.round(this.durationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease | undefined;
    try {
      lease = await this.client.request<Lease>('GET', this.path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!lease) {
      try {
        await this.client.request(
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases`,
          {
            body: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name: this.opts.name, namespace: this.opts.namespace },
              spec: { ...desired, acquireTime: microTime(now), leaseTransitions: 0 },
            },
          },
        );
        this.observed = { holder: this.opts.identity, renewTime: desired.renewTime, seenAt: Date.now() };
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) return false;
        throw err;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const renewTime = lease.spec?.renewTime ?? '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      // Judge expiry by our own clock since we last saw the lease change, as client-go does.
      this.observed = { holder, renewTime, seenAt: Date.now() };
    }
    const expired =
      !holder || Date.now() - this.observed.seenAt > (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (holder !== this.opts.identity && !expired) return false;
    const spec = {
      ...lease.spec,
      ...desired,
      ...(holder !== this.opts.identity
        ? { acquireTime: microTime(now), leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    try {
      await this.client.request('PUT', this.path, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { ...lease.metadata, name: this.opts.name, namespace: this.opts.namespace },
          spec,
        },
      });
      this.observed = { holder: this.opts.identity, renewTime: desired.renewTime, seenAt: Date.now() };
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return false;
      throw err;
    }
  }

  /** Stops renewing and, if leading, releases the lease so a standby takes over without waiting for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.client.request<Lease>('GET', this.path);
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      await this.client.request('PUT', this.path, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { ...lease.metadata, name: this.opts.name, namespace: this.opts.namespace },
          spec: {
            ...lease.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            renewTime: microTime(new Date()),
          },
        },
      });
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'could not release the leader lease');
    }
  }
}
