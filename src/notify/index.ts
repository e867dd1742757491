// The notify stage: GitSource transitions out to chat, incident tools, webhooks and Git hosts' commit statuses.
export { NotificationDispatcher, incidentKey, selects, type DispatcherOptions } from './dispatcher.ts';
export { DeliveryGate, type GateDecision } from './gate.ts';
export {
  PROVIDERS,
  INCIDENT_TYPES,
  COMMIT_STATUS_TYPES,
  signBody,
  SIGNATURE_HEADER,
  bitbucketKey,
} from './providers/index.ts';
export { parseRepository, webUrl, type Repository } from './repo.ts';
export { sendRequest, retryAfterMs, sanitize, type SendOptions, type SendResult } from './send.ts';
export {
  createTransport,
  NotifierConfigError,
  type HttpAnswer,
  type Resolver,
  type Transport,
} from './http.ts';
export {
  ALLOW_ALL,
  DEFAULT_NOTIFY_DENY_CIDRS,
  createAddressPolicy,
  normalizeAddress,
  parseCidrList,
  type AddressPolicy,
} from './address.ts';
export { notificationsFor, commitOf, isFailing } from './transitions.ts';
export type {
  BuildResult,
  HttpRequest,
  Notification,
  Provider,
  ProviderInput,
  SecretValues,
} from './types.ts';
export { discoverServiceCidrs } from './service-range.ts';
