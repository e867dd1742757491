// Small but real application manifests for end-to-end tests.

export function configMap(name: string, data: Record<string, string>): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data }, null, 2);
}

export function deployment(name: string, replicas: number, image = 'nginx:1.27'): string {
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
    `      labels: { app: ${name} }`,
    '    spec:',
    '      containers:',
    `        - name: ${name}`,
    `          image: ${image}`,
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
