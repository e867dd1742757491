// The composition root: flags and env → clients, stages and the controller; the only place that reads process.env.
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { parseRunOptions, runCli, USAGE, type CliIO, type RunOptions } from './cli/index.ts';
import {
  ClusterRegistry,
  Controller,
  DriftWatcher,
  GitSourceCache,
  LeaderElector,
  Reconciler,
  SourceStateStore,
  apiWriter,
  cacheKeysOf,
  shareGitCaches,
  type SharedCaches,
  stageSteps,
} from './controller/index.ts';
import {
  ImagePolicyController,
  createImageUpdater,
  createRegistryClient,
  createWriteBack,
} from './images/index.ts';
import { KubeClient, loadClusterAccess } from './kube/index.ts';
import {
  NotificationDispatcher,
  createAddressPolicy,
  createTransport,
  discoverServiceCidrs,
} from './notify/index.ts';
import { resolveClientTools } from './render/index.ts';
import { EventRecorder } from './report/index.ts';
import { createMetrics, startHttpEndpoints } from './server/index.ts';
import { PreviewController } from './preview/index.ts';
import { createSources } from './source/index.ts';
import { RecentEvents, startStatusPage, type StatusPage } from './ui/index.ts';
import {
  createWebhookSecrets,
  requestReconcileByAnnotation,
  startWebhookReceiver,
  type WebhookReceiver,
} from './webhook/index.ts';

function createLogger(opts: RunOptions): Logger {
  if (opts.logFormat === 'pretty') {
    return pino({
      level: opts.logLevel,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino({ level: opts.logLevel });
}

export async function run(argv: string[]): Promise<void> {
  const opts = parseRunOptions(argv, process.env, process.stdout.isTTY === true);
  const logger = createLogger(opts);
  const metrics = createMetrics();
  const client = await KubeClient.connect(
    loadClusterAccess({ path: opts.kubeconfig, preferInCluster: true }),
    {
      onRequest: (r) =>
        metrics.apiRequests.inc({ verb: r.verb, code: String(r.code), dry_run: String(r.dryRun) }),
    },
  );
  const tools = await resolveClientTools({
    kubectl: opts.kubectl,
    helm: opts.helm,
    pathEnv: process.env.PATH,
  });
  mkdirSync(opts.workDir, { recursive: true });
  // Set once the controller exists (it wakes the GitSources of a shared cache).
  let sharing: SharedCaches | undefined = undefined;
  const source = createSources({
    workDir: opts.workDir,
    logger: logger.child({ stage: 'source' }),
    allowFileUrls: opts.allowFileUrls,
    onRemoteCall: (_kind, operation, seconds) => {
      metrics.gitFetchDuration.observe({ operation }, seconds);
      if (operation === 'fetch') sharing?.fetched();
    },
  });

  const events = new EventRecorder(client, opts.identity, logger);
  // The status page shows the Events this process recorded, kept in memory (no API list per view).
  const recentEvents = new RecentEvents();
  events.onRecorded((e) =>
    recentEvents.add(`${e.target.namespace}/${e.target.name}`, {
      time: e.time,
      type: e.type,
      reason: e.reason,
      note: e.note,
    }),
  );
  // The controller and the reconciler share the per-source memory and the GitSource cache.
  const states = new SourceStateStore();
  const cache = new GitSourceCache(client, opts.namespace);
  // Only the leader reports conditions: a standby has the same GitSources, and a sum over the
  // replicas' series would count each one twice.
  let leading = false;
  metrics.reportConditionsOf(() => (leading ? cache.values() : []));
  const drift = new DriftWatcher(client, logger);
  // Remote clusters (spec.kubeConfig): a client, drift watches and a breaker per kubeconfig.
  const clusters = new ClusterRegistry({
    client,
    localDrift: drift,
    logger: logger.child({ stage: 'clusters' }),
    policy: { allowExec: opts.allowKubeconfigExec, allowFiles: opts.allowKubeconfigFiles },
    requestTimeoutMs: opts.clusterTimeoutMs,
    maxInFlight: opts.clusterConcurrency ?? Math.max(1, Math.floor(opts.concurrency / 2)),
    onRequest: (r) =>
      metrics.apiRequests.inc({ verb: r.verb, code: String(r.code), dry_run: String(r.dryRun) }),
  });
  // Transitions the status writer records also go out through the Notifiers (asynchronously), only to
  // addresses the operator's policy allows: loopback, link-local and the Service range are denied by default.
  const serviceCidrs = opts.serviceCidrs ?? (await discoverServiceCidrs(client, logger));
  const notifyPolicy = createAddressPolicy({
    deny: [...opts.notifyDenyCidrs, ...serviceCidrs],
    allow: opts.notifyAllowCidrs,
  });
  const notifier = new NotificationDispatcher({
    client,
    logger: logger.child({ stage: 'notify' }),
    metrics,
    events,
    namespace: opts.namespace,
    transport: createTransport(notifyPolicy),
  });
  // --- Image updates (issue 28): policies scan registries; a moved tag wakes the GitSources that write them. ---
  let wakeImageUpdates = (): void => {};
  const imagePolicies = new ImagePolicyController({
    client,
    registry: createRegistryClient(),
    logger: logger.child({ stage: 'images' }),
    namespace: opts.namespace,
    onMoved: () => wakeImageUpdates(),
  });
  const images = createImageUpdater({
    policies: imagePolicies,
    writeBack: createWriteBack({
      workDir: join(opts.workDir, 'image-updates'),
      logger: logger.child({ stage: 'images' }),
      allowFileUrls: opts.allowFileUrls,
    }),
    logger: logger.child({ stage: 'images' }),
  });
  const steps = stageSteps({
    client,
    source,
    tools,
    cachedGitSource: (ns, name) => cache.get(`${ns}/${name}`),
  });
  const reconciler = new Reconciler({
    steps,
    writer: apiWriter(
      client,
      events,
      logger,
      (gs, before, after, emitted) => notifier.onTransition(gs, before, after, emitted),
      // The controller keeps a run's copy over the cached one while the watch only brings our own writes back.
      (gs) => cache.noteOwnWrite(gs),
    ),
    states,
    drift,
    clusters,
    metrics,
    logger,
    getGitSource: (ns, name) => cache.lookup(ns, name),
    images,
  });
  const controller = new Controller(client, reconciler, states, cache, clusters, logger, metrics, {
    namespace: opts.namespace,
    labelSelector: opts.labelSelector,
    concurrency: opts.concurrency,
    shutdownGraceMs: opts.shutdownGraceMs,
    // Caches of GitSources deleted while no operator ran have no DELETED event: collect them once.
    onFirstSync: (list) => {
      source
        .retainOnly(cacheKeysOf(list))
        .then((removed) => {
          if (removed.length)
            logger.info({ removed: removed.length }, 'removed git caches of deleted GitSources');
        })
        .catch((err: unknown) => logger.warn({ err: String(err) }, 'could not collect old git caches'));
    },
  });
  wakeImageUpdates = () => {
    for (const gs of cache.values())
      if (gs.spec.imageUpdates) controller.reconcileNow(`${gs.metadata.namespace}/${gs.metadata.name}`);
  };
  // Pull-request previews (spec.previews): their own timers and queue, fed by the GitSource cache.
  const previews = new PreviewController({
    client,
    source,
    render: (gs, spec, dir, signal) =>
      steps.render({ gs, spec, client, signal, remainingMs: () => 120_000 }, { dir }),
    credentials: async (gs, spec) => (await steps.credentials(gs, spec)).secret,
    gitSources: () => cache.values(),
    getGitSource: (key) => cache.get(key),
    logger: logger.child({ stage: 'preview' }),
  });
  cache.onChange((key) => previews.changed(key));
  sharing = shareGitCaches({
    source,
    cache,
    reconcileNow: (key) => controller.reconcileNow(key),
    metrics,
    logger: logger.child({ stage: 'source' }),
  });
  const http = await startHttpEndpoints({
    metricsAddr: opts.metricsAddr,
    healthAddr: opts.healthAddr,
    registry: metrics.registry,
    ready: () => controller.isSynced,
  });
  let ui: StatusPage | undefined;
  if (opts.uiAddr) {
    ui = await startStatusPage({
      addr: opts.uiAddr,
      tokenFile: opts.uiTokenFile,
      source: {
        gitSources: () => cache.values(),
        gitSource: (key) => cache.get(key),
        onChange: (listener) => cache.onChange(listener),
      },
      events: recentEvents,
      logger: logger.child({ component: 'ui' }),
    });
  }
  // --- Push webhooks (issue 14): served only when a secret is configured. ---
  let webhook: WebhookReceiver | undefined;
  const webhookSecrets = createWebhookSecrets({
    file: opts.webhookSecretFile,
    namespaceSecretName: opts.webhookNamespaceSecret,
    client,
    hasSources: (ns) => [...cache.values()].some((gs) => gs.metadata.namespace === ns),
    logger,
  });
  if (opts.webhookAddr && webhookSecrets.configured) {
    webhook = await startWebhookReceiver({
      addr: opts.webhookAddr,
      secrets: webhookSecrets,
      sources: () => cache.values(),
      // A standby replica (the Service may route to it) asks the leader through the annotation.
      // A push: the shared cache's last ls-remote answer is out of date for every GitSource using it.
      wake: (gs) => {
        source.expire(gs.metadata.uid);
        return controller.reconcileNow(`${gs.metadata.namespace}/${gs.metadata.name}`)
          ? undefined
          : requestReconcileByAnnotation(client, gs);
      },
      wakeImages: (images, inScope) =>
        images.reduce((n, image) => n + imagePolicies.scanImage(image, inScope), 0),
      wakePreviews: (gs) => {
        previews.wake((other) => other.metadata.uid === gs.metadata.uid);
      },
      events,
      metrics,
      logger,
    });
  } else if (opts.webhookAddr) {
    logger.info('push webhooks off: no --webhook-secret-file or --webhook-namespace-secret');
  }
  // --- end push webhooks ---
  logger.info(
    {
      metricsPort: http.metricsPort,
      healthPort: http.healthPort,
      uiPort: ui?.port,
      uiAuth: ui ? (opts.uiTokenFile ? 'token' : 'localhost-only') : undefined,
      webhookPort: webhook?.port,
      leaderElect: opts.leaderElect,
      identity: opts.identity,
      notifyDeny: notifyPolicy.deny,
      notifyAllow: notifyPolicy.allow,
    },
    'converge starting',
  );
  controller.start();
  notifier.start();
  imagePolicies.start();

  let elector: LeaderElector | undefined;
  let shuttingDown = false;
  if (opts.leaderElect) {
    elector = new LeaderElector(
      client,
      { namespace: opts.leaseNamespace, name: opts.leaseName, identity: opts.identity },
      logger,
      (isLeader) => {
        if (isLeader) {
          leading = true;
          controller.setLeading(true);
          notifier.setLeading(true);
          imagePolicies.setLeading(true);
          previews.setLeading(true);
        } else if (!shuttingDown) {
          // Another replica may be writing now: stop at once and let the orchestrator restart us as a standby.
          logger.error('lost leadership; exiting');
          process.exit(1);
        }
      },
    );
    elector.start();
  } else {
    leading = true;
    controller.setLeading(true);
    notifier.setLeading(true);
    imagePolicies.setLeading(true);
    previews.setLeading(true);
  }

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    previews.stop();
    const finished = await controller.stop();
    if (!finished) logger.warn('abandoned in-flight reconciles after the grace period');
    // The last transitions (a Converged just before shutdown) get a moment to go out.
    await notifier.stop(Math.min(5000, opts.shutdownGraceMs));
    imagePolicies.stop();
    await elector?.stop();
    sharing.stop();
    await source.close();
    await http.close();
    await ui?.close();
    await webhook?.close();
    client.close();
    logger.info('stopped');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

export async function mainEntry(argv: string[] = process.argv.slice(2)): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'run' && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'run') return run(rest);
  if (command === 'version') {
    console.log('converge 0.1.0');
    return;
  }
  // Every other command line is the CLI (get, tree, build, diff, …; `--help` lists them).
  process.exitCode = await runCli(argv, cliIO());
}

/** The process as the CLI sees it; run as `kubectl-converge` it names itself `kubectl converge`. */
function cliIO(): CliIO {
  const interrupt = new AbortController();
  process.on('SIGINT', () => {
    // The first Ctrl-C stops watches and waits cleanly; a second one exits at once.
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    now: () => new Date(),
    prog: basename(process.argv[1] ?? '').startsWith('kubectl-') ? 'kubectl converge' : 'converge',
    signal: interrupt.signal,
  };
}

export function exitOnError(err: unknown): never {
  process.stderr.write(`converge: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

// `tsx src/main.ts run …` during development; bin/converge.js calls mainEntry in production.
if (process.argv[1]?.endsWith('/src/main.ts')) mainEntry().catch(exitOnError);
