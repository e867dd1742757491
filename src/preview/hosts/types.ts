// The vocabulary of pull-request hosts: a pull request, a comment, and the HTTP requests a host's API takes.

export interface PullRequest {
  number: number;
  title: string;
  /** Head commit SHA. */
  head: string;
  /** Branch the pull request merges into. */
  base: string;
  labels: string[];
  /** The head lives in another repository (a fork): its code is untrusted. */
  fork: boolean;
  /** The pull request's page on the host. */
  url: string;
  /** Ref the host keeps for the head in the base repository (refs/pull/N/head, refs/merge-requests/N/head). */
  headRef: string;
}

export interface HostComment {
  id: string;
  body: string;
}

export interface HostRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HostAnswer {
  status: number;
  headers: Headers;
  json: unknown;
}

export interface Page<T> {
  items: T[];
  /** The next page's URL, when the host says there is one. */
  next?: string | undefined;
}

export type CommitState = 'pending' | 'success' | 'failure';

export interface HostCredentials {
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

/** Where the API is and which repository: from spec.url (or spec.previews.address). */
export interface HostTarget {
  /** API base: https://api.github.com, https://gitea.example/api/v1, https://gitlab.example/api/v4. */
  api: string;
  owner: string;
  name: string;
  credentials: HostCredentials;
}

/** One Git host's API as pure request builders and answer parsers (no I/O). */
export interface PreviewHost {
  name: string;
  /** Longest comment body the host takes. */
  maxCommentLength: number;
  /** The API base for a repository on `webBase` (scheme://host) when spec.previews.address is unset. */
  apiBase(webBase: string): string;
  listPulls(t: HostTarget, base: string): HostRequest;
  /** Every pull request of the page (the caller keeps those into its branch: pages are counted whole). */
  parsePulls(answer: HostAnswer): Page<PullRequest>;
  listComments(t: HostTarget, pr: number): HostRequest;
  parseComments(answer: HostAnswer): Page<HostComment>;
  createComment(t: HostTarget, pr: number, body: string): HostRequest;
  updateComment(t: HostTarget, pr: number, id: string, body: string): HostRequest;
  setStatus(
    t: HostTarget,
    sha: string,
    status: { state: CommitState; context: string; description: string; targetUrl?: string | undefined },
  ): HostRequest;
  /** A GET of another page (pagination URLs come back whole). */
  page(t: HostTarget, url: string): HostRequest;
}

/** The `rel="next"` URL of an RFC 8288 Link header. */
export function nextLink(headers: Headers): string | undefined {
  const link = headers.get('link');
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (m) return m[1];
  }
  return undefined;
}

export function jsonBody(value: unknown): string {
  return JSON.stringify(value);
}

export const enc = encodeURIComponent;

/** Reads a field of an untrusted JSON object without trusting its shape. */
export function field(o: unknown, ...path: string[]): unknown {
  let v = o;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

export const str = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';

export class HostAnswerError extends Error {
  override readonly name = 'HostAnswerError';
}

export function asArray(json: unknown, what: string): unknown[] {
  if (!Array.isArray(json)) throw new HostAnswerError(`${what}: the host did not answer with a JSON list`);
  return json;
}
