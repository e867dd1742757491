// Typed errors: each carries the condition reason it maps to and whether only a user change can help.
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
  | 'Timeout';

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
    super(message, options);
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
