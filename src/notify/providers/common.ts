// What every provider shares: titles and text of a notification, commit states, URLs and auth headers.
import type { NotifyEvent } from '../../api/index.ts';
import { shortRevision } from '../../report/index.ts';
import type { Notification, ProviderInput } from '../types.ts';

/** `main@sha1:<40 hex>` → `main@sha1:abc1234`; `chart@1.2.3@sha256:<64 hex>` → `…@sha256:abc1234`. */
export { shortRevision };

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function sourceKey(n: Notification): string {
  return `${n.source.namespace}/${n.source.name}`;
}

/** Context / key of commit statuses: one per GitSource. */
export function statusContext(n: Notification): string {
  return `converge/${n.source.namespace}/${n.source.name}`;
}

const VERBS: Record<NotifyEvent, string> = {
  Changed: 'new revision',
  Diverged: 'diverged',
  Converged: 'converged',
  Failed: 'failed',
  Recovered: 'recovered',
  DriftCorrected: 'drift corrected',
};

/** `apps/web converged at main@sha1:abc1234`. */
export function title(n: Notification): string {
  const at = n.revision ? ` at ${shortRevision(n.revision)}` : '';
  return `${sourceKey(n)} ${VERBS[n.event]}${at}`;
}

export function flapNote(n: Notification): string | undefined {
  if (!n.flapping) return undefined;
  return `flapped ${n.flapping.count} times in ${formatWindow(n.flapping.windowMs)}`;
}

export function formatWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** The body of a chat message: message, change lines (at most 10), flapping note. */
export function details(n: Notification, maxLines = 10): string[] {
  const lines = [truncate(n.message, 1000)];
  const changes = n.changes.slice(0, maxLines);
  if (changes.length) lines.push(...changes.map((c) => `• ${truncate(c, 300)}`));
  if (n.changes.length > maxLines) lines.push(`… and ${n.changes.length - maxLines} more`);
  const flap = flapNote(n);
  if (flap) lines.push(`(${flap})`);
  return lines;
}

export function isFailure(event: NotifyEvent): boolean {
  return event === 'Failed';
}

/** The commit state an event means, or undefined when commit statuses ignore it. */
export function commitState(event: NotifyEvent): 'pending' | 'success' | 'failure' | undefined {
  if (event === 'Changed') return 'pending';
  if (event === 'Converged') return 'success';
  if (event === 'Failed') return 'failure';
  return undefined;
}

/** A description of a commit status, bounded as the host wants. */
export function commitDescription(n: Notification, max: number): string {
  const state = commitState(n.event);
  const text =
    state === 'pending'
      ? `Converge is applying ${shortRevision(n.revision)}`
      : state === 'success'
        ? `Converged: ${n.message}`
        : `${n.reason}: ${n.message}`;
  return truncate(text.replace(/\s+/g, ' '), max);
}

/** Base URL + path, whatever slashes the user put at the end of the base. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export const json = (body: unknown) => JSON.stringify(body);

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

export function basic(username: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

/** The address for a self-hostable Git host: spec/secret address, else the GitSource URL's host. */
export function hostBase(input: ProviderInput): string | undefined {
  if (input.address) return input.address;
  if (!input.repository) return undefined;
  return `${input.repository.scheme}://${input.repository.host}`;
}
