// How a GitSource's target cluster is named to people (CLI, status page, notifications): pure, never credentials.
import type { GitSource } from './gitsource.ts';

type Targeting = Pick<GitSource, 'spec' | 'status'>;

/** Whether the GitSource applies to a remote cluster (spec.kubeConfig). */
export function isRemote(gs: Targeting): boolean {
  return !!gs.spec?.kubeConfig || !!gs.status?.cluster;
}

/**
 * `context@host:port` once the operator resolved the kubeconfig (status.cluster), `secret/NAME`
 * before, `in-cluster` for the cluster the operator runs in.
 */
export function clusterLabel(gs: Targeting): string {
  const c = gs.status?.cluster;
  if (c) {
    let host = c.server;
    try {
      host = new URL(c.server).host;
    } catch {
      // not a URL: shown as written
    }
    return `${c.context}@${host}`;
  }
  const ref = gs.spec?.kubeConfig?.secretRef;
  return ref ? `secret/${ref.name}` : 'in-cluster';
}
