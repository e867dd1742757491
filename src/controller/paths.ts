// Where GitSources live in the API.
import { GROUP, PLURAL, VERSION } from '../api/index.ts';

export function gitSourcePath(namespace: string, name?: string): string {
  const base = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`;
  return name ? `${base}/${name}` : base;
}

export function gitSourceListPath(namespace?: string): string {
  return namespace ? gitSourcePath(namespace) : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
}
