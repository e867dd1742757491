// Typed errors: each carries the condition reason it maps to and whether only a user change can help.
import { sanitizeMessage } from './message.ts';

/**
 * Bound of an error message: room for a list of failed objects in logs; conditions and events cut
 * it again to their own bound.
 */
export const ERROR_MAX_BYTES = 4096;
export type FailureReason =
  | 'InvalidSpec'
  | 'AuthenticationFailed'
  | 'RefNotFound'
  | 'FetchFailed'
  | 'RenderFailed'
  | 'ApplyFailed'
  | 'PruneFailed'
  | 'HealthCheckFailed'
  | 'HookFailed'
  | 'DependencyNotReady'
  | 'RBACDenied'
  | 'MissingSecret'
  /** A source's content does not match its digest or signature: nothing from it is applied. */
  | 'VerificationFailed';

/** Reasons that no retry fixes: the GitSource is Stalled until its spec, secret or RBAC changes. */
const STALLING: ReadonlySet<FailureReason> = new Set([
  'InvalidSpec',
  'AuthenticationFailed',
  'RBACDenied',
  'MissingSecret',
]);

export class ConvergeError extends Error {
  override readonly name = 'ConvergeError';
  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    // Messages carry text from git servers, tools and the API server: made safe here, once, so
    // no status, event or log line can hold a terminal escape or grow without bound.
    super(sanitizeMessage(message, { maxBytes: ERROR_MAX_BYTES }), options);
  }

  get stalled(): boolean {
    return STALLING.has(this.reason);
  }
}

export function isConvergeError(err: unknown): err is ConvergeError {
  return err instanceof ConvergeError;
}

/** Any thrown value as a ConvergeError, keeping the reason when it already has one. */
export function asConvergeError(err: unknown, fallback: FailureReason): ConvergeError {
  if (err instanceof ConvergeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ConvergeError(fallback, message, { cause: err });
}

/** Abort reason: a newer commit, spec or deletion replaced this run; it is dropped, not reported. */
export class Superseded extends Error {
  override readonly name = 'Superseded';
  constructor(why = 'superseded by a newer revision or spec') {
    super(why);
  }
}

/** Abort reason: the reconcile ran out of `spec.timeout`; the step that was running is named in the report. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor(readonly timeout: string) {
    super(`timed out after ${timeout}`);
  }
}
