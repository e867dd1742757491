// The shapes notify/ works with: a notification about one GitSource transition, and the HTTP request a provider makes of it.
import type { NotifierType, NotifyEvent } from '../api/index.ts';
import type { Repository } from './repo.ts';

export interface Notification {
  /** `cluster`: the target of a GitSource with spec.kubeConfig (`context@host:port`); absent for the local cluster. */
  source: { namespace: string; name: string; url: string; cluster?: string | undefined };
  event: NotifyEvent;
  /** The condition reason behind it (e.g. RenderFailed, NewRevision, Succeeded). */
  reason: string;
  /** Full revision (`main@sha1:<40 hex>`) the event is about, when there is one. */
  revision?: string | undefined;
  /** The 40-hex commit of `revision`. */
  commit?: string | undefined;
  message: string;
  /** Change lines of the last change set (`Deployment/apps/web configured: …`), at most 20. */
  changes: string[];
  /** RFC 3339 time of the transition. */
  time: string;
  /** Set when this one message stands for several (a flapping source). */
  flapping?: { count: number; windowMs: number } | undefined;
}

/** Values of the Notifier's Secret (decoded); secrets live only here and in the request. */
export type SecretValues = Record<string, string>;

export interface ProviderInput {
  notification: Notification;
  /** spec.address, or the Secret's `address` key (which wins). */
  address?: string | undefined;
  secret: SecretValues;
  /** Derived from the GitSource URL; undefined when it does not parse. */
  repository?: Repository | undefined;
  /** Incident types: the Opsgenie alias / PagerDuty dedup_key this request opens or closes. */
  incidentKey?: string | undefined;
  /** Where the keys come from, for messages: `Secret apps/creds`, or that spec.secretRef is unset. */
  secretName?: string | undefined;
}

export interface HttpRequest {
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Either the request to make, nothing to do for this event, or a reason it cannot be built. */
export type BuildResult =
  { kind: 'request'; request: HttpRequest } | { kind: 'skip' } | { kind: 'invalid'; message: string };

export interface Provider {
  type: NotifierType;
  /** Events sent when spec.events is unset. */
  defaultEvents: readonly NotifyEvent[];
  /** The Secret keys this type reads, for docs and errors. */
  secretKeys: string;
  build(input: ProviderInput): BuildResult;
}

export const request = (r: HttpRequest): BuildResult => ({ kind: 'request', request: r });
export const skip: BuildResult = { kind: 'skip' };
export const invalid = (message: string): BuildResult => ({ kind: 'invalid', message });
