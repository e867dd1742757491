// Where webhook secrets come from: a mounted file (the operator-wide secret) and, for tenants, a
// Secret of a fixed name in a GitSource's namespace. Both re-read after a short TTL, so a rotated
// secret takes effect without a restart; neither is ever logged.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ApiError, type KubeClient } from '../kube/index.ts';
import type { SecretCandidate } from './receive.ts';

export interface WebhookSecrets {
  /** Secrets that may sign a request to `/<provider>` (namespace undefined) or `/<provider>/<namespace>`. */
  candidates(namespace: string | undefined): Promise<SecretCandidate[]>;
  /** True when at least one source of secrets is configured. */
  readonly configured: boolean;
}

export interface WebhookSecretOptions {
  /** File holding the operator-wide secret (a mounted Secret key); trailing newlines are ignored. */
  file?: string | undefined;
  /** Name of the Secret (key `token`) a namespace may hold for `/<provider>/<namespace>`. */
  namespaceSecretName?: string | undefined;
  client?: KubeClient;
  /** Only namespaces with a GitSource are asked for their secret: no API call for made-up names. */
  hasSources: (namespace: string) => boolean;
  logger: Logger;
  ttlMs?: number;
  now?: () => number;
}

export const NAMESPACE_SECRET_KEY = 'token';

/** The secret bytes of a file or Secret value: trailing CR/LF dropped; empty means none. */
export function secretBytes(raw: Buffer): Buffer | undefined {
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 0x0a || raw[end - 1] === 0x0d)) end--;
  return end > 0 ? raw.subarray(0, end) : undefined;
}

export function createWebhookSecrets(opts: WebhookSecretOptions): WebhookSecrets {
  const ttl = opts.ttlMs ?? 10_000;
  const now = opts.now ?? (() => Date.now());
  let fileCache: { at: number; value: Promise<Buffer | undefined> } | undefined;
  const nsCache = new Map<string, { at: number; value: Promise<Buffer | undefined> }>();
  let warnedFile = false;

  const fileSecret = (): Promise<Buffer | undefined> => {
    if (!opts.file) return Promise.resolve(undefined);
    if (fileCache && now() - fileCache.at < ttl) return fileCache.value;
    const value = readFile(opts.file).then(
      (raw) => {
        const s = secretBytes(raw);
        if (!s && !warnedFile) opts.logger.warn({ file: opts.file }, 'webhook secret file is empty');
        warnedFile = warnedFile || !s;
        return s;
      },
      (err: NodeJS.ErrnoException) => {
        if (!warnedFile)
          opts.logger.warn({ file: opts.file, code: err.code }, 'cannot read webhook secret file');
        warnedFile = true;
        return undefined;
      },
    );
    fileCache = { at: now(), value };
    return value;
  };

  const namespaceSecret = (ns: string): Promise<Buffer | undefined> => {
    const name = opts.namespaceSecretName;
    if (!name || !opts.client || !opts.hasSources(ns)) return Promise.resolve(undefined);
    const cached = nsCache.get(ns);
    if (cached && now() - cached.at < ttl) return cached.value;
    const value = opts.client
      .request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/secrets/${name}`)
      .then(
        (secret) => {
          const b64 = secret.data?.[NAMESPACE_SECRET_KEY];
          return b64 ? secretBytes(Buffer.from(b64, 'base64')) : undefined;
        },
        (err: unknown) => {
          if (!(err instanceof ApiError && err.status === 404))
            opts.logger.debug(
              { namespace: ns, secret: name, err: String(err) },
              'cannot read webhook secret',
            );
          return undefined;
        },
      );
    nsCache.set(ns, { at: now(), value });
    // Namespaces come and go: keep the memory bounded by dropping expired entries as we go.
    if (nsCache.size > 1000) for (const [k, v] of nsCache) if (now() - v.at >= ttl) nsCache.delete(k);
    return value;
  };

  return {
    configured: !!opts.file || !!opts.namespaceSecretName,
    async candidates(namespace) {
      const [global, own] = await Promise.all([
        fileSecret(),
        namespace ? namespaceSecret(namespace) : undefined,
      ]);
      const out: SecretCandidate[] = [];
      // The operator-wide secret on a namespaced path wakes only that namespace, as its URL says.
      if (global) out.push({ secret: global, scope: namespace ?? '*' });
      if (own && namespace) out.push({ secret: own, scope: namespace });
      return out;
    },
  };
}
