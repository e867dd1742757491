// ApiError: a failed API request with the fields of the server's Status object, and its mapping to reasons.
import {
  ConvergeError,
  describeRef,
  sanitizeMessage,
  type FailureReason,
  type ObjectRef,
} from '../api/index.ts';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** A non-2xx answer from the API server (or a transport failure, status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: StatusCause[] = [],
    readonly method = '',
    readonly path = '',
    options?: { cause?: unknown },
  ) {
    // The API server's messages quote what was sent (object names, field values from Git): made safe
    // at the door, so no later log line, condition or Event carries an escape sequence or bidi override.
    super(sanitizeMessage(message, { maxBytes: 4096 }), options);
  }

  /** Builds the error from the response body, which is a metav1.Status when the server wrote it. */
  static fromResponse(status: number, body: string, method: string, path: string): ApiError {
    let parsed: { reason?: string; message?: string; details?: { causes?: StatusCause[] } } | undefined;
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    const reason = parsed?.reason ?? defaultReason(status);
    const message = parsed?.message ?? (body.trim().slice(0, 300) || `HTTP ${status}`);
    const causes = (parsed?.details?.causes ?? []).map((c) => ({
      ...c,
      ...(c.message !== undefined
        ? { message: sanitizeMessage(String(c.message), { maxBytes: 16_384 }) }
        : {}),
      ...(c.field !== undefined ? { field: sanitizeMessage(String(c.field), { maxBytes: 512 }) } : {}),
    }));
    return new ApiError(status, sanitizeMessage(reason, { maxBytes: 128 }), message, causes, method, path);
  }
}

function defaultReason(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    default:
      return status >= 500 ? 'InternalError' : 'Unknown';
  }
}

export function isApiError(err: unknown, status?: number): err is ApiError {
  return err instanceof ApiError && (status === undefined || err.status === status);
}

export const isNotFound = (err: unknown): boolean => isApiError(err, 404);

/** The 422 the API server answers when an apply changes a field that cannot change after creation. */
export function immutableFields(err: unknown): string[] | undefined {
  if (!isApiError(err, 422)) return undefined;
  const pattern = /immutable|may not change|cannot be changed|cannot change/i;
  const fields = err.causes.filter((c) => pattern.test(c.message ?? '')).map((c) => c.field ?? '');
  if (fields.length > 0) return fields.map((f) => f || '(unknown field)');
  return pattern.test(err.message) ? ['(unknown field)'] : undefined;
}

const HTTP_VERBS: Record<string, string> = {
  GET: 'get',
  PATCH: 'patch',
  PUT: 'update',
  POST: 'create',
  DELETE: 'delete',
};

/** `/apis/apps/v1/namespaces/x/deployments/web` → `deployments`. */
function resourceOfPath(path: string): string | undefined {
  const parts = path.split('/').filter(Boolean);
  let i = parts[0] === 'api' ? 2 : 3;
  if (parts[i] === 'namespaces' && parts.length > i + 2) i += 2;
  return parts[i];
}

/** An API failure on one object as a ConvergeError naming the object, with the reason conditions show. */
export function objectError(
  ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>,
  verb: string,
  err: unknown,
  fallback: FailureReason,
  resource: string = ref.kind,
): ConvergeError {
  if (err instanceof ConvergeError) return err;
  const what = describeRef(ref);
  if (isApiError(err, 403)) {
    // What was refused is the request's, not the step's: a plan can be denied a GET.
    verb = HTTP_VERBS[err.method] ?? verb;
    resource = resourceOfPath(err.path) ?? resource;
    const where = ref.namespace ? ` in namespace ${ref.namespace}` : ' at cluster scope';
    return new ConvergeError(
      'RBACDenied',
      `${what}: RBAC denied ${verb} on ${resource}${where}: ${err.message}`,
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ConvergeError(fallback, `${what}: ${message}`, { cause: err });
}

export interface ObjectFailure {
  ref: ObjectRef;
  error: ConvergeError;
}

/** One error for many failed objects: RBACDenied wins (only a user can fix it), the message lists each object. */
export function combineFailures(failures: readonly ObjectFailure[], what: string, max = 10): ConvergeError {
  const reason: FailureReason = failures.some((f) => f.error.reason === 'RBACDenied')
    ? 'RBACDenied'
    : (failures[0]?.error.reason ?? 'ApplyFailed');
  const lines = failures.slice(0, max).map((f) => f.error.message);
  if (failures.length > max) lines.push(`… and ${failures.length - max} more`);
  const head = failures.length === 1 ? '' : `${failures.length} objects failed to ${what}: `;
  return new ConvergeError(reason, head + lines.join('; '), { cause: failures[0]?.error });
}

/** The error for an immutable field changed without force: names the object and the fields, and the way out. */
export function immutableFieldError(
  ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>,
  fields: readonly string[],
  err: unknown,
): ConvergeError {
  const detail = err instanceof Error ? err.message : String(err);
  return new ConvergeError(
    'ApplyFailed',
    `${describeRef(ref)}: immutable field ${fields.join(', ')} cannot change; set spec.force or annotate gitops.converge.dev/force: enabled to recreate the object (${detail})`,
    { cause: err },
  );
}

/** `spec.template.spec` → `/spec/template/spec` (API server field paths to JSON pointers, indexes kept). */
export function fieldToPointer(field: string): string {
  if (field.startsWith('(')) return field;
  return (
    '/' +
    field
      .replace(/\[(\d+)\]/g, '.$1')
      .replace(/\[[^\]]*\]/g, '')
      .split('.')
      .filter(Boolean)
      .join('/')
  );
}
