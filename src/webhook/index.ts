// Push webhooks: verify a provider's signature on the raw body, turn its payload into push facts,
// and wake the GitSources whose repository and ref the push can affect. Pure core, thin HTTP edge.
export { normaliseRepoUrl, repoKeys } from './url.ts';
export { affectedSources, pushedImages, refAffected } from './match.ts';
export { verifyHmacSha256, verifyToken, signBody } from './signature.ts';
export { ReplayGuard } from './replay.ts';
export { providers, providerForPath } from './providers/index.ts';
export {
  decideWebhook,
  parseHookPath,
  HOOK_PATH_NAMES,
  ACCEPTED_BODY,
  UNAUTHORIZED_BODY,
  type SecretCandidate,
  type WebhookDecision,
  type WebhookResult,
} from './receive.ts';
export { createWebhookSecrets, secretBytes, NAMESPACE_SECRET_KEY, type WebhookSecrets } from './secrets.ts';
export {
  startWebhookReceiver,
  MAX_BODY_BYTES,
  type WebhookReceiver,
  type WebhookReceiverOptions,
} from './server.ts';
export { PROVIDERS, PayloadError, type ProviderName, type PushEvent, type PushedRef } from './types.ts';
export { requestReconcileByAnnotation } from './wake.ts';
