// The data of a Secret or ConfigMap as bytes (Secrets decoded from base64): one reader for every stage.
import type { KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';

/**
 * `data` of Secret or ConfigMap `namespace/name`; undefined when it does not exist. A 403 is thrown
 * as the ApiError it is (the caller names the field that asked).
 */
export async function readObjectData(
  client: KubeClient,
  kind: 'Secret' | 'ConfigMap',
  namespace: string,
  name: string,
): Promise<Record<string, Buffer> | undefined> {
  const plural = kind === 'Secret' ? 'secrets' : 'configmaps';
  let object: { data?: Record<string, string> };
  try {
    object = await client.request('GET', `/api/v1/namespaces/${namespace}/${plural}/${name}`);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return Object.fromEntries(
    Object.entries(object.data ?? {}).map(([k, v]) => [
      k,
      kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'),
    ]),
  );
}
