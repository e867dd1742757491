// The vocabulary of the receiver: providers, request headers, and the push facts a payload yields.

export const PROVIDERS = [
  'github',
  'gitlab',
  'bitbucket',
  'bitbucket-server',
  'gitea',
  'generic',
  'distribution',
  'harbor',
] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Request headers by lower-case name (as node:http delivers them). */
export type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** One ref a push moved. */
export interface PushedRef {
  kind: 'branch' | 'tag';
  /** Short name: `main`, `v1.2.0`. */
  name: string;
  /** New commit, when the payload says (absent for deletions). */
  commit?: string;
  deleted?: boolean;
}

/** What a verified push says: which repository (every URL form the payload carries) and which refs. */
export interface PushEvent {
  repoUrls: string[];
  /** Empty means "some ref, unknown which" (the generic endpoint without `ref`). */
  refs: PushedRef[];
  /**
   * Set for pull-request events (opened, pushed to, labelled, closed): `refs` then holds the base
   * branch, and only the previews of the GitSources following it are woken (spec.previews).
   */
  pullRequest?: { number: number; action: string };
}

/** How the headers classify a request before its body is read. */
export type EventKind = 'push' | 'pull_request' | 'ping' | 'other';

export interface Provider {
  name: ProviderName;
  /** True when the request carries a valid signature (or token) for `secret`; constant time. */
  verify(headers: Headers, body: Buffer, secret: Buffer): boolean;
  /** The provider's delivery id, for replay protection; undefined when it sends none. */
  deliveryId(headers: Headers): string | undefined;
  eventKind(headers: Headers): EventKind;
  /** A verified push body as push facts; undefined when the event is not a push after all. */
  parsePush(payload: unknown): PushEvent | undefined;
  /** A verified pull-request body (eventKind 'pull_request'): the base branch as the pushed ref. */
  parsePullRequest?(payload: unknown): PushEvent | undefined;
}

/** A verified body that is not the JSON shape its provider documents. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** refs/heads/x → branch x, refs/tags/y → tag y; anything else (notes, pull refs) is no ref we follow. */
export function parseFullRef(ref: unknown): Omit<PushedRef, 'commit' | 'deleted'> | undefined {
  if (typeof ref !== 'string') return undefined;
  if (ref.startsWith('refs/heads/') && ref.length > 11) return { kind: 'branch', name: ref.slice(11) };
  if (ref.startsWith('refs/tags/') && ref.length > 10) return { kind: 'tag', name: ref.slice(10) };
  return undefined;
}

export const ZERO_SHA = /^0+$/;
