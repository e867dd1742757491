// Builds objects shaped like what the API server returns, with status as the controllers write it.
import type { KubeObject } from '../../../src/api/index.ts';

export function obj(
  apiVersion: string,
  kind: string,
  parts: {
    name?: string;
    namespace?: string | null;
    generation?: number;
    spec?: unknown;
    status?: unknown;
  } = {},
): KubeObject {
  const o: KubeObject = {
    apiVersion,
    kind,
    metadata: {
      name: parts.name ?? 'web',
      ...(parts.namespace === null ? {} : { namespace: parts.namespace ?? 'apps' }),
      generation: parts.generation ?? 1,
      uid: '3f2b8c1e-0000-4000-8000-000000000001',
      resourceVersion: '1234',
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
  };
  if (parts.spec !== undefined) o['spec'] = parts.spec;
  if (parts.status !== undefined) o['status'] = parts.status;
  return o;
}

export function cond(type: string, status: 'True' | 'False' | 'Unknown', reason?: string, message?: string) {
  return {
    type,
    status,
    lastTransitionTime: '2025-01-01T00:00:10Z',
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}
