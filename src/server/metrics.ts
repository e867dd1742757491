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
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
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
      help: 'GitSource conditions: 1 for the status each condition has',
      labelNames: ['name', 'namespace', 'type', 'status'],
      registers,
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
  };
}
