// Shared by the providers: a verified body checked against the shape its provider documents.
import type { z } from 'zod';
import { PayloadError } from '../types.ts';

export function parsePayload<T>(schema: z.ZodType<T>, payload: unknown, what: string): T {
  const r = schema.safeParse(payload);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new PayloadError(`not a ${what} payload: ${issue.path.join('.') || '(body)'}: ${issue.message}`);
}
