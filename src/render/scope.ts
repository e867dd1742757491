// Which kinds are cluster-scoped: CRDs in the render set, then the caller's discovery, then well-known kinds.
import { groupOf } from '../api/index.ts';

/** Built-in Kubernetes (and a few ubiquitous add-on) kinds that live outside namespaces, by `group/kind`. */
const CLUSTER_SCOPED = new Set([
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  '/ComponentStatus',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'scheduling.k8s.io/PriorityClass',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/ServiceCIDR',
  'node.k8s.io/RuntimeClass',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'resource.k8s.io/DeviceClass',
  'resource.k8s.io/ResourceSlice',
  'policy/PodSecurityPolicy',
  'snapshot.storage.k8s.io/VolumeSnapshotClass',
  'snapshot.storage.k8s.io/VolumeSnapshotContent',
  'gateway.networking.k8s.io/GatewayClass',
  'cert-manager.io/ClusterIssuer',
]);

/** Answers `true`/`false` when the scope is known, `undefined` when it is not (e.g. from API discovery). */
export type ScopeLookup = (apiVersion: string, kind: string) => boolean | undefined;

export interface ScopeResolver {
  /** `true` for cluster-scoped, `false` for namespaced, `undefined` if nobody knows. */
  isClusterScoped(apiVersion: string, kind: string): boolean | undefined;
}

/**
 * CRDs in the same render set come first: they are the desired state, while discovery only
 * knows what is installed now. Unknown kinds are left to the caller (treated as namespaced).
 */
export function scopeResolver(crds: readonly Record<string, unknown>[], lookup?: ScopeLookup): ScopeResolver {
  const declared = new Map<string, boolean>();
  for (const crd of crds) {
    const spec = crd['spec'] as { group?: unknown; names?: { kind?: unknown }; scope?: unknown } | undefined;
    if (typeof spec?.group === 'string' && typeof spec.names?.kind === 'string') {
      declared.set(`${spec.group}/${spec.names.kind}`, spec.scope === 'Cluster');
    }
  }
  return {
    isClusterScoped(apiVersion, kind) {
      const key = `${groupOf(apiVersion)}/${kind}`;
      return declared.get(key) ?? lookup?.(apiVersion, kind) ?? (CLUSTER_SCOPED.has(key) ? true : undefined);
    },
  };
}
