// NotificationDispatcher: watches Notifiers, turns GitSource transitions into deliveries on a bounded
// queue per Notifier (one worker each, so a source's messages keep their order), and records the outcome.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  API_VERSION,
  GROUP,
  NOTIFIER_KIND,
  NOTIFIER_PLURAL,
  STATUS_FIELD_MANAGER,
  VERSION,
  parseDuration,
  parseNotifierSpec,
  type Delivery,
  type GitSource,
  type GitSourceStatus,
  type Incident,
  type Notifier,
  type NotifierSpec,
  type NotifierStatus,
  type NotifyEvent,
} from '../api/index.ts';
import { ApiError, type KubeClient } from '../kube/index.ts';
import {
  findCondition,
  mergeConditions,
  sameStatus,
  type EventRecorder,
  type EventSpec,
  type ConditionUpdate,
} from '../report/index.ts';
import type { Metrics } from '../server/index.ts';
import { DeliveryGate } from './gate.ts';
import { INCIDENT_TYPES, PROVIDERS } from './providers/index.ts';
import { parseRepository } from './repo.ts';
import { ALLOW_ALL } from './address.ts';
import { createTransport, type Transport } from './http.ts';
import { hostOf, sanitize, sendRequest, type SendOptions } from './send.ts';
import { notificationsFor } from './transitions.ts';
import type { Notification, SecretValues } from './types.ts';

export interface DispatcherOptions {
  client: KubeClient;
  logger: Logger;
  metrics: Metrics;
  events: EventRecorder;
  /** Watch Notifiers of one namespace only (as the controller's --namespace). */
  namespace?: string | undefined;
  /** How requests reach the network; the composition root passes one bound to the address policy. */
  transport?: Transport;
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Runs fn after ms; returns a cancel function. Timers must not keep the process alive. */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** Jobs waiting per Notifier before the oldest is dropped (default 100). */
  queueCapacity?: number;
  /** Attempts, backoff and timeouts of one delivery. */
  send?: Pick<SendOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs' | 'timeoutMs' | 'maxRetryAfterMs'>;
}

interface Job {
  notification: Notification;
  /** Incident types: the alias / dedup_key this job opens (Failed) or closes (Recovered). */
  incidentKey?: string | undefined;
}

interface NotifierState {
  key: string;
  obj: Notifier;
  spec: NotifierSpec | undefined;
  invalid: string | undefined;
  gate: DeliveryGate;
  windowMs: number;
  queue: Job[];
  running: boolean;
  timers: Map<string, () => void>;
  abort: AbortController;
  openIncidents: Incident[];
  failedDeliveries: number;
  lastDelivery: Delivery | undefined;
  ready: ConditionUpdate;
  writing: boolean;
  dirty: boolean;
  /** The status as last written or seen, for "write only when it changed". */
  written: NotifierStatus | undefined;
}

const DEFAULT_WINDOW_MS = 120_000;

const notifierPath = (namespace?: string, name?: string) =>
  `/apis/${GROUP}/${VERSION}/${namespace ? `namespaces/${namespace}/` : ''}${NOTIFIER_PLURAL}${name ? `/${name}` : ''}`;

/** Stable per GitSource and reason, so a repeated failure de-duplicates at Opsgenie/PagerDuty. */
export function incidentKey(n: Notification): string {
  const key = `converge/${n.source.namespace}/${n.source.name}/${n.reason}`;
  return key.length <= 250 ? key : `converge/${createHash('sha256').update(key).digest('hex')}`;
}

export function selects(spec: NotifierSpec, labels: Record<string, string> | undefined): boolean {
  const want = spec.sources?.matchLabels ?? {};
  return Object.entries(want).every(([k, v]) => labels?.[k] === v);
}

export class NotificationDispatcher {
  private readonly notifiers = new Map<string, NotifierState>();
  /** GitSources that failed since they were last Ready (Recovered needs it across passes). */
  private readonly failing = new Set<string>();
  private readonly abort = new AbortController();
  private readonly now: () => Date;
  private readonly transport: Transport;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly setTimer: (fn: () => void, ms: number) => () => void;
  private leading = false;
  private started = false;
  private watchFailures = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: DispatcherOptions) {
    this.now = opts.now ?? (() => new Date());
    this.transport = opts.transport ?? createTransport(ALLOW_ALL);
    this.sleep = opts.sleep ?? defaultSleep;
    this.setTimer =
      opts.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return () => clearTimeout(t);
      });
  }

  /** Starts the Notifier list+watch. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.opts.client
      .watch<Notifier>(
        notifierPath(this.opts.namespace),
        {
          signal: this.abort.signal,
          onError: (err) => {
            // A missing Notifier CRD would repeat this every few seconds: say it once at warn.
            this.watchFailures++;
            const level = this.watchFailures === 1 ? 'warn' : 'debug';
            this.opts.logger[level]({ err: String(err) }, 'Notifier watch interrupted; resuming');
          },
        },
        (event) => {
          if (event.type === 'SYNCED') return;
          this.watchFailures = 0;
          if (event.type === 'DELETED') this.removeNotifier(event.object);
          else this.upsertNotifier(event.object);
        },
      )
      .catch((err: unknown) => this.opts.logger.error({ err: String(err) }, 'Notifier watch ended'));
  }

  /** Only the leader delivers and writes Notifier status (reconciles run only there anyway). */
  setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) for (const s of this.notifiers.values()) this.observe(s);
  }

  /** Lets queued deliveries finish for up to graceMs, then cancels the rest. Idempotent. */
  async stop(graceMs = 0): Promise<void> {
    if (graceMs > 0 && !this.isIdle()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.idle(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    this.abort.abort();
    for (const s of this.notifiers.values()) {
      s.abort.abort();
      for (const cancel of s.timers.values()) cancel();
    }
  }

  /** Resolves when every queue is empty and no delivery runs (tests, shutdown). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return [...this.notifiers.values()].every((s) => !s.running && s.queue.length === 0 && !s.writing);
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  upsertNotifier(obj: Notifier): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const parsed = parseNotifierSpec(obj.spec);
    let state = this.notifiers.get(key);
    const windowMs =
      parsed.ok && parsed.spec.flapWindow ? parseDuration(parsed.spec.flapWindow) : DEFAULT_WINDOW_MS;
    if (!state) {
      state = {
        key,
        obj,
        spec: undefined,
        invalid: undefined,
        gate: new DeliveryGate(windowMs),
        windowMs,
        queue: [],
        running: false,
        timers: new Map(),
        abort: new AbortController(),
        // Survive restarts: incidents opened before are still closed on recovery.
        openIncidents: [...(obj.status?.openIncidents ?? [])],
        failedDeliveries: obj.status?.failedDeliveries ?? 0,
        lastDelivery: obj.status?.lastDelivery,
        ready: { type: 'Ready', status: 'True', reason: 'Ready', message: 'No notification sent yet' },
        writing: false,
        dirty: false,
        written: obj.status,
      };
      const old = findCondition(obj.status?.conditions, 'Ready');
      if (old) state.ready = { type: 'Ready', status: old.status, reason: old.reason, message: old.message };
      this.notifiers.set(key, state);
    } else if (state.windowMs !== windowMs) {
      state.gate = new DeliveryGate(windowMs);
      state.windowMs = windowMs;
    }
    state.obj = obj;
    state.spec = parsed.ok ? parsed.spec : undefined;
    state.invalid = parsed.ok ? undefined : parsed.error;
    this.observe(state);
  }

  removeNotifier(obj: Pick<Notifier, 'metadata'>): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const state = this.notifiers.get(key);
    if (!state) return;
    state.abort.abort();
    for (const cancel of state.timers.values()) cancel();
    this.notifiers.delete(key);
    this.checkIdle();
  }

  /** A GitSource was deleted: forget what we remember about it. */
  forgetSource(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.failing.delete(key);
    for (const s of this.notifiers.values()) s.gate.forget(key);
  }

  /**
   * The reconciler's status writer calls this after each status change. It only enqueues: it never
   * throws, never awaits, and never slows the reconcile down.
   */
  onTransition(
    gs: GitSource,
    before: GitSourceStatus | undefined,
    after: GitSourceStatus,
    events: readonly EventSpec[],
  ): void {
    try {
      this.handleTransition(gs, before, after, events);
    } catch (err) {
      this.opts.logger.error({ err: String(err) }, 'notification dispatch failed');
    }
  }

  private handleTransition(
    gs: GitSource,
    before: GitSourceStatus | undefined,
    after: GitSourceStatus,
    events: readonly EventSpec[],
  ): void {
    const ns = gs.metadata.namespace;
    const key = `${ns}/${gs.metadata.name}`;
    const candidates = [...this.notifiers.values()].filter(
      (s) =>
        s.obj.metadata.namespace === ns && s.spec && !s.spec.suspend && selects(s.spec, gs.metadata.labels),
    );
    const wasFailing =
      this.failing.has(key) || candidates.some((s) => s.openIncidents.some((i) => i.source === key));
    const notifications = notificationsFor({
      gs,
      before,
      after,
      events,
      wasFailing,
      time: this.now().toISOString(),
    });
    if (notifications.some((n) => n.event === 'Failed')) this.failing.add(key);
    if (findCondition(after.conditions, 'Ready')?.status === 'True') this.failing.delete(key);
    if (notifications.length === 0 || !this.leading) return;
    for (const state of candidates) {
      const spec = state.spec!;
      const provider = PROVIDERS[spec.type];
      const wanted = new Set<NotifyEvent>(spec.events ?? provider.defaultEvents);
      // An incident that recovered is never left open, whatever spec.events says.
      if (INCIDENT_TYPES.has(spec.type)) wanted.add('Recovered');
      for (const n of notifications) {
        if (!wanted.has(n.event)) continue;
        this.offer(state, n);
      }
    }
  }

  private offer(state: NotifierState, n: Notification): void {
    const type = state.spec!.type;
    const decision = state.gate.offer(n, this.now().getTime());
    if (decision.action === 'duplicate') {
      this.opts.metrics.notifications.inc({ type, result: 'duplicate' });
      return;
    }
    if (decision.action === 'hold') {
      this.opts.metrics.notifications.inc({ type, result: 'held' });
      if (!decision.first) return;
      const sourceKey = `${n.source.namespace}/${n.source.name}`;
      const delay = Math.max(0, decision.flushAt - this.now().getTime());
      state.timers.get(sourceKey)?.();
      state.timers.set(
        sourceKey,
        this.setTimer(() => {
          state.timers.delete(sourceKey);
          if (this.notifiers.get(state.key) !== state) return;
          const summary = state.gate.flush(sourceKey, this.now().getTime());
          if (summary) this.enqueue(state, summary);
        }, delay),
      );
      return;
    }
    this.enqueue(state, decision.notification);
  }

  private enqueue(state: NotifierState, n: Notification): void {
    const type = state.spec?.type;
    if (!type || !this.leading) return;
    const source = `${n.source.namespace}/${n.source.name}`;
    const jobs: Job[] = [];
    if (INCIDENT_TYPES.has(type)) {
      if (n.event === 'Failed') {
        const key = incidentKey(n);
        if (!state.openIncidents.some((i) => i.key === key)) {
          state.openIncidents.push({ source, key });
          this.markDirty(state);
        }
        jobs.push({ notification: n, incidentKey: key });
      } else if (n.event === 'Recovered') {
        // Closed at enqueue time: the close follows the open on the same queue, whatever became of it.
        const open = state.openIncidents.filter((i) => i.source === source);
        if (open.length === 0) return;
        state.openIncidents = state.openIncidents.filter((i) => i.source !== source);
        this.markDirty(state);
        for (const i of open) jobs.push({ notification: n, incidentKey: i.key });
      } else return;
    } else {
      jobs.push({ notification: n });
    }
    for (const job of jobs) {
      const cap = this.opts.queueCapacity ?? 100;
      if (state.queue.length >= cap) {
        // Drop the oldest job that is not a close: a recovered incident is never left open.
        const victim = state.queue.findIndex((j) => !(j.incidentKey && j.notification.event === 'Recovered'));
        if (victim >= 0) {
          const [dropped] = state.queue.splice(victim, 1);
          this.recordFailure(state, dropped!, `queue full (${cap}): dropped`, 'dropped');
        }
      }
      state.queue.push(job);
    }
    void this.run(state);
  }

  private async run(state: NotifierState): Promise<void> {
    if (state.running) return;
    state.running = true;
    try {
      while (state.queue.length > 0 && !state.abort.signal.aborted) {
        const job = state.queue.shift()!;
        try {
          await this.deliver(state, job);
        } catch (err) {
          this.recordFailure(state, job, `delivery crashed: ${String(err)}`, 'failure');
        }
      }
    } finally {
      state.running = false;
      this.checkIdle();
    }
  }

  private async deliver(state: NotifierState, job: Job): Promise<void> {
    const spec = state.spec;
    if (!spec) return;
    const n = job.notification;
    let secret: SecretValues = {};
    if (spec.secretRef) {
      const read = await this.readSecret(state.obj.metadata.namespace, spec.secretRef.name);
      if (typeof read === 'string') {
        this.recordFailure(state, job, read, 'failure', true);
        return;
      }
      secret = read;
    }
    const provider = PROVIDERS[spec.type];
    const address = secret.address ?? spec.address;
    const built = provider.build({
      notification: n,
      address,
      secret,
      repository: parseRepository(n.source.url),
      incidentKey: job.incidentKey,
      secretName: spec.secretRef
        ? `Secret ${state.obj.metadata.namespace}/${spec.secretRef.name}`
        : 'a Secret (spec.secretRef is not set)',
    });
    if (built.kind === 'skip') return;
    if (built.kind === 'invalid') {
      this.recordFailure(state, job, built.message, 'failure', true);
      return;
    }
    const result = await sendRequest(built.request, {
      transport: this.transport,
      sleep: this.sleep,
      now: () => this.now().getTime(),
      redact: Object.values(secret),
      signal: state.abort.signal,
      ...this.opts.send,
    });
    if (state.abort.signal.aborted) return;
    if (result.ok) {
      this.opts.metrics.notifications.inc({ type: spec.type, result: 'success' });
      state.lastDelivery = {
        time: this.timestamp(),
        source: `${n.source.namespace}/${n.source.name}`,
        event: n.event,
        ...(n.revision ? { revision: n.revision } : {}),
        result: 'Delivered',
        message: `${describeJob(job)} delivered to ${hostOf(built.request.url)} (HTTP ${result.status})`,
      };
      state.ready = {
        type: 'Ready',
        status: 'True',
        reason: 'Delivered',
        message: `Last delivery succeeded: ${describeJob(job)}`,
      };
      this.opts.logger.debug(
        { notifier: state.key, event: n.event, attempts: result.attempts },
        'notification delivered',
      );
      this.markDirty(state);
      return;
    }
    if (result.answer)
      this.opts.logger.debug(
        { notifier: state.key, status: result.status, answer: result.answer },
        'what the service answered',
      );
    this.recordFailure(state, job, result.message, 'failure', result.configuration);
  }

  /** The Secret's values (trimmed, except the HMAC key), or a message saying why it cannot be read. */
  private async readSecret(namespace: string, name: string): Promise<SecretValues | string> {
    try {
      const secret = await this.opts.client.request<{ data?: Record<string, string> }>(
        'GET',
        `/api/v1/namespaces/${namespace}/secrets/${name}`,
      );
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => {
          const text = Buffer.from(v, 'base64').toString('utf8');
          return [k, k === 'key' ? text : text.trim()];
        }),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 404)
        return `secret ${namespace}/${name} (spec.secretRef.name) not found`;
      if (err instanceof ApiError && err.status === 403)
        return `reading secret ${namespace}/${name} (spec.secretRef.name) is forbidden`;
      return `reading secret ${namespace}/${name} failed: ${sanitize(err instanceof Error ? err.message : String(err))}`;
    }
  }

  /**
   * Records a message given up on. `configuration`: the Notifier (address, Secret, policy) must change
   * before any delivery can work, so the reason is InvalidConfiguration rather than DeliveryFailed.
   */
  private recordFailure(
    state: NotifierState,
    job: Job,
    message: string,
    result: 'failure' | 'dropped',
    configuration = false,
  ): void {
    const type = state.spec?.type ?? 'unknown';
    const n = job.notification;
    this.opts.metrics.notifications.inc({ type, result });
    state.failedDeliveries++;
    const source = `${n.source.namespace}/${n.source.name}`;
    // One sanitised text for status, the Event and the log: the message may quote a service or the API server.
    const text = sanitize(`${describeJob(job)} not delivered: ${message}`, [], 1000);
    const reason = configuration ? 'InvalidConfiguration' : 'DeliveryFailed';
    state.lastDelivery = {
      time: this.timestamp(),
      source,
      event: n.event,
      ...(n.revision ? { revision: n.revision } : {}),
      result: 'Failed',
      message: text,
    };
    state.ready = { type: 'Ready', status: 'False', reason, message: text };
    this.opts.logger.warn(
      { notifier: state.key, source, event: n.event, reason, err: text },
      'notification not delivered',
    );
    void this.opts.events.record(
      {
        name: state.obj.metadata.name,
        namespace: state.obj.metadata.namespace,
        uid: state.obj.metadata.uid,
        kind: NOTIFIER_KIND,
      },
      [{ type: 'Warning', reason, note: text }],
    );
    this.markDirty(state);
  }

  /** Spec validity and suspension into the Ready condition (when they decide it). */
  private observe(state: NotifierState): void {
    if (state.invalid) {
      state.ready = { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: state.invalid };
    } else if (state.spec?.suspend) {
      state.ready = {
        type: 'Ready',
        status: 'False',
        reason: 'Suspended',
        message: 'Notifications are suspended',
      };
    } else if (state.ready.reason === 'InvalidSpec' || state.ready.reason === 'Suspended') {
      state.ready = { type: 'Ready', status: 'True', reason: 'Ready', message: 'No notification sent yet' };
    }
    this.markDirty(state);
  }

  private markDirty(state: NotifierState): void {
    state.dirty = true;
    void this.writeStatus(state);
  }

  /** Server-side apply of the status; one write in flight per Notifier, later changes coalesced. */
  private async writeStatus(state: NotifierState): Promise<void> {
    if (state.writing || !this.leading) return;
    state.writing = true;
    try {
      while (state.dirty && !state.abort.signal.aborted) {
        state.dirty = false;
        const status: NotifierStatus = {
          observedGeneration: state.obj.metadata.generation,
          conditions: mergeConditions(
            state.written?.conditions,
            [state.ready],
            [],
            state.obj.metadata.generation,
            this.timestamp(),
          ),
          failedDeliveries: state.failedDeliveries,
          openIncidents: state.openIncidents,
          ...(state.lastDelivery ? { lastDelivery: state.lastDelivery } : {}),
        };
        if (state.written && sameStatus(state.written as GitSourceStatus, status as GitSourceStatus))
          continue;
        try {
          await this.opts.client.request(
            'PATCH',
            `${notifierPath(state.obj.metadata.namespace, state.obj.metadata.name)}/status`,
            {
              query: { fieldManager: STATUS_FIELD_MANAGER, force: true },
              body: {
                apiVersion: API_VERSION,
                kind: NOTIFIER_KIND,
                metadata: { name: state.obj.metadata.name, namespace: state.obj.metadata.namespace },
                status,
              },
              contentType: 'application/apply-patch+yaml',
            },
          );
          state.written = status;
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404))
            this.opts.logger.warn(
              { notifier: state.key, err: String(err) },
              'could not write Notifier status',
            );
        }
      }
    } finally {
      state.writing = false;
      this.checkIdle();
    }
  }

  private timestamp(): string {
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  }
}

/** `Converged apps/web`, `alert converge/apps/web/RenderFailed`, `close converge/apps/web/RenderFailed`. */
function describeJob(job: Job): string {
  const n = job.notification;
  if (job.incidentKey) return `${n.event === 'Recovered' ? 'close' : 'alert'} ${job.incidentKey}`;
  return `${n.event} ${n.source.namespace}/${n.source.name}`;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
