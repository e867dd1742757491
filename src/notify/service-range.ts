// Finds the cluster's Service range (ServiceCIDR objects, Kubernetes ≥ 1.33), so Notifiers cannot reach
// in-cluster Services by their ClusterIP unless the operator's allow list says so.
import type { Logger } from 'pino';
import { isIP } from 'node:net';
import type { KubeClient } from '../kube/index.ts';

interface ServiceCidrList {
  items?: Array<{ spec?: { cidrs?: string[] } }>;
}

/**
 * The ranges of every ServiceCIDR; without that API (or the right to list it), the `kubernetes`
 * Service's own addresses, with a warning to set --service-cidrs. Never throws.
 */
export async function discoverServiceCidrs(client: KubeClient, logger: Logger): Promise<string[]> {
  try {
    const list = await client.request<ServiceCidrList>('GET', '/apis/networking.k8s.io/v1/servicecidrs');
    const cidrs = (list.items ?? []).flatMap((i) => i.spec?.cidrs ?? []);
    if (cidrs.length > 0) return cidrs;
  } catch (err) {
    logger.debug({ err: String(err) }, 'could not list ServiceCIDRs');
  }
  let fallback: string[] = [];
  try {
    const svc = await client.request<{ spec?: { clusterIPs?: string[]; clusterIP?: string } }>(
      'GET',
      '/api/v1/namespaces/default/services/kubernetes',
    );
    const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
    fallback = ips.filter((ip) => isIP(ip)).map((ip) => `${ip}/${isIP(ip) === 4 ? 32 : 128}`);
  } catch (err) {
    logger.debug({ err: String(err) }, 'could not read the kubernetes Service');
  }
  logger.warn(
    { denied: fallback },
    'could not read the Service range from ServiceCIDR objects; Notifiers are denied only the API ' +
      "server Service's address: set --service-cidrs to deny the whole range",
  );
  return fallback;
}
