// The composition root: flags and env → clients, stages and the controller; the only place that reads process.env.
import { mkdirSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { parseRunOptions, USAGE, type RunOptions } from './cli/index.ts';
import {
  Controller,
  DriftWatcher,
  GitSourceCache,
  LeaderElector,
  Reconciler,
  SourceStateStore,
  apiWriter,
  stageSteps,
} from './controller/index.ts';
import { KubeClient } from './kube/index.ts';
import { resolveClientTools } from './render/index.ts';
import { EventRecorder } from './report/index.ts';
import { createMetrics, startHttpEndpoints } from './server/index.ts';
import { createGitSource } from './source/index.ts';

function createLogger(opts: RunOptions): Logger {
  if (opts.logFormat === 'pretty') {
    return pino({
      level: opts.logLevel,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino({ level: opts.logLevel });
}

function loadKubeConfig(opts: RunOptions): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

export async function run(argv: string[]): Promise<void> {
  const opts = parseRunOptions(argv, process.env, process.stdout.isTTY === true);
  const logger = createLogger(opts);
  const metrics = createMetrics();
  const client = await KubeClient.fromKubeConfig(loadKubeConfig(opts), {
    onRequest: (r) => metrics.apiRequests.inc({ verb: r.verb, code: String(r.code) }),
  });
  const tools = await resolveClientTools({
    kubectl: opts.kubectl,
    helm: opts.helm,
    pathEnv: process.env.PATH,
  });
  mkdirSync(opts.workDir, { recursive: true });
  const source = createGitSource({
    workDir: opts.workDir,
    logger: logger.child({ stage: 'source' }),
    allowFileUrls: opts.allowFileUrls,
  });

  // The controller and the reconciler share the per-source memory and the GitSource cache.
  const states = new SourceStateStore();
  const cache = new GitSourceCache(client, opts.namespace);
  const drift = new DriftWatcher(client, logger);
  const reconciler = new Reconciler({
    steps: stageSteps({ client, source, tools, metrics }),
    writer: apiWriter(client, new EventRecorder(client, opts.identity, logger), metrics, logger),
    states,
    drift,
    metrics,
    logger,
    getGitSource: (ns, name) => cache.lookup(ns, name),
  });
  const controller = new Controller(client, reconciler, states, cache, drift, logger, metrics, {
    namespace: opts.namespace,
    labelSelector: opts.labelSelector,
    concurrency: opts.concurrency,
    shutdownGraceMs: opts.shutdownGraceMs,
  });
  const http = await startHttpEndpoints({
    metricsAddr: opts.metricsAddr,
    healthAddr: opts.healthAddr,
    registry: metrics.registry,
    ready: () => controller.isSynced,
  });
  logger.info(
    {
      metricsPort: http.metricsPort,
      healthPort: http.healthPort,
      leaderElect: opts.leaderElect,
      identity: opts.identity,
    },
    'converge starting',
  );
  controller.start();

  let elector: LeaderElector | undefined;
  let shuttingDown = false;
  if (opts.leaderElect) {
    elector = new LeaderElector(
      client,
      { namespace: opts.leaseNamespace, name: opts.leaseName, identity: opts.identity },
      logger,
      (leading) => {
        if (leading) controller.setLeading(true);
        else if (!shuttingDown) {
          // Another replica may be writing now: stop at once and let the orchestrator restart us as a standby.
          logger.error('lost leadership; exiting');
          process.exit(1);
        }
      },
    );
    elector.start();
  } else {
    controller.setLeading(true);
  }

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const finished = await controller.stop();
    if (!finished) logger.warn('abandoned in-flight reconciles after the grace period');
    await elector?.stop();
    await http.close();
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
  process.stderr.write(USAGE);
  process.exit(command === undefined || command === 'help' || command === '--help' ? 0 : 2);
}

export function exitOnError(err: unknown): never {
  process.stderr.write(`converge: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

// `tsx src/main.ts run …` during development; bin/converge.js calls mainEntry in production.
if (process.argv[1]?.endsWith('/src/main.ts')) mainEntry().catch(exitOnError);
