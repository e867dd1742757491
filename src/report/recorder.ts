// Writes Kubernetes Events (events.k8s.io/v1) about a GitSource; failures to record never fail a reconcile.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { API_VERSION, KIND, sanitizeMessage } from '../api/index.ts';
import type { KubeClient } from '../kube/index.ts';
import type { EventSpec } from './events.ts';

export interface EventTarget {
  name: string;
  namespace: string;
  uid: string;
  /** Kind of the object the Events are about (default GitSource; Notifier for delivery failures). */
  kind?: string;
}

/** An Event as recorded, for in-process readers (the status page keeps the recent ones). */
export interface RecordedEvent extends EventSpec {
  target: EventTarget;
  time: string;
}

export class EventRecorder {
  private readonly listeners = new Set<(event: RecordedEvent) => void>();

  constructor(
    private readonly client: KubeClient,
    private readonly instance: string,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** `listener` runs after each Event the API server accepted; returns an unsubscribe. */
  onRecorded(listener: (event: RecordedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async record(target: EventTarget, events: readonly EventSpec[]): Promise<void> {
    // Every note is made safe here, whoever built it: notes quote git, tools, services and the API server.
    for (const e of events.map((x) => ({ ...x, note: sanitizeMessage(x.note) }))) {
      const time = this.now()
        .toISOString()
        .replace(/(\.\d{3})Z$/, '$1000Z');
      const body = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace: target.namespace },
        eventTime: time,
        reportingController: 'gitops.converge.dev/converge',
        reportingInstance: this.instance,
        action: 'Reconcile',
        reason: e.reason,
        note: e.note,
        type: e.type,
        regarding: {
          apiVersion: API_VERSION,
          kind: target.kind ?? KIND,
          name: target.name,
          namespace: target.namespace,
          uid: target.uid,
        },
      };
      try {
        await this.client.request('POST', `/apis/events.k8s.io/v1/namespaces/${target.namespace}/events`, {
          body,
        });
        for (const listener of this.listeners) listener({ ...e, target, time });
      } catch (err) {
        this.logger.warn({ err: String(err), reason: e.reason }, 'could not record event');
      }
    }
  }
}
