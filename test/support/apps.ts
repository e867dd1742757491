// Small but real application manifests for end-to-end tests.

export function configMap(name: string, data: Record<string, string>): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data }, null, 2);
}

/**
 * How the kwok fake nodes treat a workload's pods (label `converge.dev/kwok`, see hack/kwok/README.md):
 * unset runs them Ready; `never-ready` runs them never Ready; `fail` makes their container exit 1.
 */
export type PodBehaviour = 'never-ready' | 'fail';

const podLabels = (name: string, pods?: PodBehaviour) =>
  pods ? `{ app: ${name}, converge.dev/kwok: ${pods} }` : `{ app: ${name} }`;

export function deployment(
  name: string,
  replicas: number,
  image = 'nginx:1.27',
  pods?: PodBehaviour,
): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  replicas: ${replicas}`,
    '  selector:',
    `    matchLabels: { app: ${name} }`,
    '  template:',
    '    metadata:',
    `      labels: ${podLabels(name, pods)}`,
    '    spec:',
    '      containers:',
    `        - name: ${name}`,
    `          image: ${image}`,
    '',
  ].join('\n');
}

/** A StatefulSet with its headless Service. */
export function statefulSet(name: string, replicas: number, image = 'redis:7', pods?: PodBehaviour): string {
  return [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  clusterIP: None',
    `  selector: { app: ${name} }`,
    '  ports: [{ port: 6379 }]',
    '---',
    'apiVersion: apps/v1',
    'kind: StatefulSet',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  serviceName: ${name}`,
    `  replicas: ${replicas}`,
    '  selector:',
    `    matchLabels: { app: ${name} }`,
    '  template:',
    '    metadata:',
    `      labels: ${podLabels(name, pods)}`,
    '    spec:',
    `      containers: [{ name: ${name}, image: "${image}" }]`,
    '',
  ].join('\n');
}

export function daemonSet(name: string, image = 'fluent-bit:3', pods?: PodBehaviour): string {
  return [
    'apiVersion: apps/v1',
    'kind: DaemonSet',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  selector:',
    `    matchLabels: { app: ${name} }`,
    '  template:',
    '    metadata:',
    `      labels: ${podLabels(name, pods)}`,
    '    spec:',
    `      containers: [{ name: ${name}, image: "${image}" }]`,
    '',
  ].join('\n');
}

/** A Job of one pod that is not retried (backoffLimit 0). */
export function job(name: string, image = 'busybox:1', pods?: PodBehaviour): string {
  return [
    'apiVersion: batch/v1',
    'kind: Job',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  backoffLimit: 0',
    '  template:',
    '    metadata:',
    `      labels: ${podLabels(name, pods)}`,
    '    spec:',
    '      restartPolicy: Never',
    `      containers: [{ name: ${name}, image: "${image}" }]`,
    '',
  ].join('\n');
}

export function service(name: string, port = 80): string {
  return [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  selector: { app: ${name} }`,
    '  ports:',
    `    - port: ${port}`,
    '      targetPort: 8080',
    '',
  ].join('\n');
}

export function configMapWithAnnotations(
  name: string,
  data: Record<string, string>,
  annotations: Record<string, string>,
): string {
  return JSON.stringify(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, annotations }, data },
    null,
    2,
  );
}
