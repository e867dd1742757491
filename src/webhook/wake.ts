// Waking a GitSource from a replica that does not lead: the documented on-demand annotation, which
// the leader's watch turns into a reconcile (a Service may route a webhook to any replica).
import { ANNOTATION_REQUESTED_AT, GROUP, PLURAL, VERSION, type GitSource } from '../api/index.ts';
import type { KubeClient } from '../kube/index.ts';

export async function requestReconcileByAnnotation(
  client: KubeClient,
  gs: GitSource,
  at: string = new Date().toISOString(),
): Promise<void> {
  await client.request(
    'PATCH',
    `/apis/${GROUP}/${VERSION}/namespaces/${gs.metadata.namespace}/${PLURAL}/${gs.metadata.name}`,
    {
      body: { metadata: { annotations: { [ANNOTATION_REQUESTED_AT]: `push-${at}` } } },
      contentType: 'application/merge-patch+json',
    },
  );
}
