// Shared reading of status fields and conditions for the per-kind health rules.
import type { KubeObject } from '../../api/index.ts';

export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Unknown';

export interface HealthResult {
  status: HealthStatus;
  message: string;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

/** `Deployment apps/web` or `Namespace web`, the prefix of every message. */
export function label(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${obj.kind} ${ns}/${obj.metadata.name}` : `${obj.kind} ${obj.metadata.name}`;
}

export function result(status: HealthStatus, obj: KubeObject, detail: string): HealthResult {
  return { status, message: `${label(obj)}: ${detail}` };
}

export function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function statusOf(obj: KubeObject): Record<string, unknown> | undefined {
  return record(obj['status']);
}

export function specOf(obj: KubeObject): Record<string, unknown> {
  return record(obj['spec']) ?? {};
}

export function conditions(obj: KubeObject): Condition[] {
  const list = statusOf(obj)?.['conditions'];
  if (!Array.isArray(list)) return [];
  return list.flatMap((c) => {
    const r = record(c);
    const type = str(r?.['type']);
    const status = str(r?.['status']);
    if (!r || !type || !status) return [];
    return [
      {
        type,
        status,
        reason: str(r['reason']),
        message: str(r['message']),
        observedGeneration: num(r['observedGeneration']),
      },
    ];
  });
}

export function condition(obj: KubeObject, type: string): Condition | undefined {
  return conditions(obj).find((c) => c.type === type);
}

/** The reason and message of a condition, for the end of a health message. */
export function explain(c: Condition | undefined): string {
  if (!c) return '';
  const parts = [c.reason, c.message].filter((p): p is string => !!p);
  return parts.length ? ` (${parts.join(': ')})` : '';
}

/**
 * InProgress while the controller has not yet seen the latest spec. Kinds whose controllers
 * always write observedGeneration treat its absence as "not seen yet" (`required`).
 */
export function staleGeneration(obj: KubeObject, required: boolean): HealthResult | undefined {
  const generation = num(obj.metadata['generation']);
  const observed = num(statusOf(obj)?.['observedGeneration']);
  if (observed === undefined) {
    return required
      ? result('InProgress', obj, 'waiting for the controller to observe the object')
      : undefined;
  }
  if (generation !== undefined && observed < generation) {
    return result(
      'InProgress',
      obj,
      `waiting for the controller to observe generation ${generation} (at ${observed})`,
    );
  }
  return undefined;
}

/** spec.replicas with the API default of 1. */
export function desiredReplicas(obj: KubeObject): number {
  return num(specOf(obj)['replicas']) ?? 1;
}
