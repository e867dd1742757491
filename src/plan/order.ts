// Apply order: CRDs and Namespaces, then cluster-wide kinds, then namespaced kinds, webhooks last. Prune runs it backwards.

/** Stage 0 objects must exist (CRDs Established, Namespaces Active) before anything else is applied. */
export const FOUNDATION_STAGE = 0;

const WEBHOOK_KINDS = new Set([
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'APIService',
]);

/** Namespaced kinds other objects refer to: identities, permissions, configuration, storage claims. */
const CONFIG_KINDS = [
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'LimitRange',
  'ResourceQuota',
  'NetworkPolicy',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
];

/** Then what consumes them; unknown kinds (custom resources) after these, webhooks last. */
const WORKLOAD_KINDS = [
  'Service',
  'Endpoints',
  'EndpointSlice',
  'PodDisruptionBudget',
  'Pod',
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'Ingress',
];

const CLUSTER_KINDS = [
  'PriorityClass',
  'StorageClass',
  'IngressClass',
  'RuntimeClass',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
];

export interface Orderable {
  kind: string;
  group: string;
  /** "" for cluster-scoped objects. */
  namespace: string;
}

export const STAGE_NAMES = [
  'CRDs and Namespaces',
  'cluster-wide objects',
  'namespaced configuration',
  'namespaced objects',
  'webhooks and API services',
] as const;

export function applyStage(obj: Orderable): number {
  if (
    (obj.kind === 'CustomResourceDefinition' && obj.group === 'apiextensions.k8s.io') ||
    (obj.kind === 'Namespace' && obj.group === '')
  )
    return FOUNDATION_STAGE;
  if (WEBHOOK_KINDS.has(obj.kind)) return 4;
  if (!obj.namespace) return 1;
  if (CONFIG_KINDS.includes(obj.kind)) return 2;
  return 3;
}

/** Rank inside a stage: known kinds in the listed order, unknown kinds after them. */
function kindRank(kind: string): number {
  for (const list of [CLUSTER_KINDS, CONFIG_KINDS, WORKLOAD_KINDS]) {
    const i = list.indexOf(kind);
    if (i >= 0) return i;
  }
  return 1000;
}

export function compareApplyOrder(a: Orderable & { name: string }, b: Orderable & { name: string }): number {
  return (
    applyStage(a) - applyStage(b) ||
    kindRank(a.kind) - kindRank(b.kind) ||
    a.kind.localeCompare(b.kind) ||
    a.namespace.localeCompare(b.namespace) ||
    a.name.localeCompare(b.name)
  );
}

/** Items grouped by stage, in apply order (or prune order when reverse). Empty stages are left out. */
export function stagesOf<T>(
  items: readonly T[],
  refOf: (item: T) => Orderable & { name: string },
  reverse = false,
): { stage: number; items: T[] }[] {
  const sorted = [...items].sort((a, b) => compareApplyOrder(refOf(a), refOf(b)));
  const stages = new Map<number, T[]>();
  for (const item of sorted) {
    const stage = applyStage(refOf(item));
    const list = stages.get(stage) ?? [];
    list.push(item);
    stages.set(stage, list);
  }
  const out = [...stages].map(([stage, list]) => ({ stage, items: reverse ? list.reverse() : list }));
  out.sort((a, b) => (reverse ? b.stage - a.stage : a.stage - b.stage));
  return out;
}
