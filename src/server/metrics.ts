// Prometheus metrics (prefix converge_) on a registry of our own, passed to whoever records.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  reconcileDuration: Histogram<'result'>;
  reconcileTotal: Counter<'result'>;
  condition: Gauge<'name' | 'namespace' | 'type' | 'status'>;
  queueDepth: Gauge;
  gitFetchDuration: Histogram<'operation'>;
  driftCorrections: Counter<'namespace'>;
  apiRequests: Counter<'verb' | 'code' | 'dry_run'>;
  isLeader: Gauge;
  notifications: Counter<'type' | 'result'>;
  webhookRequests: Counter<'provider' | 'result'>;
  gitCacheBytes: Gauge<'namespace' | 'name'>;
  gitCacheDiskBytes: Gauge;
  /**
   * converge_condition is read from these GitSources at each scrape: a series per status of each
   * condition a GitSource has now, so a condition that went away, or a GitSource that was deleted,
   * leaves no stale series, and an operator that just started reports every GitSource at once.
   */
  reportConditionsOf(list: () => Iterable<ConditionHolder>): void;
}

/** What converge_condition is read from: a GitSource, as far as its conditions go. */
export interface ConditionHolder {
  metadata: { name: string; namespace: string };
  status?: { conditions?: ReadonlyArray<{ type: string; status: string }> | undefined } | undefined;
}

const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  let holders: () => Iterable<ConditionHolder> = () => [];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'converge_' });
  const registers = [registry];
  return {
    registry,
    reconcileDuration: new Histogram({
      name: 'converge_reconcile_duration_seconds',
      help: 'Duration of one GitSource reconcile',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    reconcileTotal: new Counter({
      name: 'converge_reconcile_total',
      help: 'Reconciles by result (noop, applied, failed, …)',
      labelNames: ['result'],
      registers,
    }),
    condition: new Gauge({
      name: 'converge_condition',
      help: 'GitSource conditions: 1 for the status each condition has, 0 for the other two',
      labelNames: ['name', 'namespace', 'type', 'status'],
      registers,
      collect() {
        this.reset();
        for (const gs of holders())
          for (const c of gs.status?.conditions ?? [])
            for (const status of CONDITION_STATUSES)
              this.set(
                { name: gs.metadata.name, namespace: gs.metadata.namespace, type: c.type, status },
                c.status === status ? 1 : 0,
              );
      },
    }),
    queueDepth: new Gauge({
      name: 'converge_queue_depth',
      help: 'GitSources waiting for a worker',
      registers,
    }),
    gitFetchDuration: new Histogram({
      name: 'converge_git_duration_seconds',
      help: 'Duration of git operations (ls-remote, fetch, and gc of a cache holding mostly objects of old commits)',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    driftCorrections: new Counter({
      name: 'converge_drift_corrections_total',
      help: 'Managed objects restored after someone else changed them',
      labelNames: ['namespace'],
      registers,
    }),
    apiRequests: new Counter({
      name: 'converge_api_requests_total',
      help: 'Kubernetes API requests by verb, status code and whether they were server-side dry-runs',
      labelNames: ['verb', 'code', 'dry_run'],
      registers,
    }),
    isLeader: new Gauge({
      name: 'converge_leader',
      help: '1 while this process holds the leader lease',
      registers,
    }),
    notifications: new Counter({
      name: 'converge_notifications_total',
      help: 'Notifier deliveries by type and result (success, failure, dropped, duplicate, held)',
      labelNames: ['type', 'result'],
      registers,
    }),
    webhookRequests: new Counter({
      name: 'converge_webhook_requests_total',
      help: 'Push webhook requests by provider and result (matched, unmatched, ping, ignored, replayed, unauthorized, …)',
      labelNames: ['provider', 'result'],
      registers,
    }),
    gitCacheBytes: new Gauge({
      name: 'converge_git_cache_bytes',
      help: 'Bytes on disk of the git cache a GitSource uses (GitSources of one repository, ref and Secret share one cache, and each shows its size)',
      labelNames: ['namespace', 'name'],
      registers,
    }),
    gitCacheDiskBytes: new Gauge({
      name: 'converge_git_cache_disk_bytes',
      help: 'Bytes on disk of all git caches together (each shared cache counted once)',
      registers,
    }),
    reportConditionsOf(list) {
      holders = list;
    },
  };
}
