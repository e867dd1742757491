// The Helm chart rendered by the real helm binary: lint, the objects and hardening it renders, the
// CRD kept identical to crds/, values the schema rejects, and RBAC bounded in tenant mode.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRunOptions } from '../../../src/cli/options.ts';
import { resolveClientTools } from '../../../src/localcluster/index.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const chart = join(root, 'deploy', 'helm', 'converge');
const tenantArgs = ['--set', 'rbac.mode=tenant', '--set', 'rbac.tenantNamespaces={team-a,team-b}'];

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
interface Rendered {
  kind: string;
  apiVersion: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  rules?: Rule[];
}
// Rendered YAML is untyped; the assertions themselves check its shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Rendered & Record<string, any>;

let helmPath: string;

beforeAll(async () => {
  // Pinned bundled helm (as the cluster tests use) unless CONVERGE_HELM names another.
  helmPath = (await resolveClientTools({ helm: process.env.CONVERGE_HELM, searchPath: false })).helm;
});

function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(helmPath, args, { maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function render(...extra: string[]): Promise<Rendered[]> {
  const r = await helm(['template', 'conv', chart, '--namespace', 'converge-system', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return yaml.loadAll(r.stdout).filter((d): d is Rendered => d !== null && typeof d === 'object');
}

function only(docs: Rendered[], kind: string, name?: string): Doc {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  expect(found, `${kind}${name ? `/${name}` : ''}`).toHaveLength(1);
  return found[0] as Doc;
}

function kinds(docs: Rendered[]): string[] {
  return docs.map((d) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`).sort();
}

describe('helm lint', () => {
  it('passes in strict mode with default and tenant values', async () => {
    for (const extra of [[], tenantArgs]) {
      const r = await helm(['lint', '--strict', chart, ...extra]);
      expect(r.stdout + r.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(r.code).toBe(0);
    }
  });
});

describe('helm template, default values', () => {
  let docs: Rendered[];
  beforeAll(async () => {
    docs = await render();
  });

  it('renders exactly the operator objects, the ServiceMonitor only on request', async () => {
    expect(kinds(docs)).toEqual(
      [
        'ServiceAccount/converge-system/conv-converge',
        'ClusterRole//conv-converge-gitsources',
        'ClusterRoleBinding//conv-converge-gitsources',
        'Role/converge-system/conv-converge-leader-election',
        'RoleBinding/converge-system/conv-converge-leader-election',
        'ClusterRole//conv-converge-sources',
        'ClusterRoleBinding//conv-converge-sources',
        'ClusterRole//conv-converge-apply',
        'ClusterRoleBinding//conv-converge-apply',
        'Deployment/converge-system/conv-converge',
        'Service/converge-system/conv-converge-metrics',
      ].sort(),
    );
    const withMonitor = await render(
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'serviceMonitor.labels.release=prom',
    );
    const monitor = only(withMonitor, 'ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels?.release).toBe('prom');
    expect(monitor.spec.endpoints).toEqual([
      { port: 'http-metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' },
    ]);
    // The ServiceMonitor must select the metrics Service by its labels.
    const service = only(withMonitor, 'Service');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
      expect(service.metadata.labels?.[k]).toBe(v);
  });

  it('runs 2 hardened replicas with leader election, probes and the downward API', () => {
    const deploy = only(docs, 'Deployment');
    expect(deploy.spec.replicas).toBe(2);
    const pod = deploy.spec.template.spec;
    expect(pod.serviceAccountName).toBe('conv-converge');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    expect(c.image).toBe('converge:0.1.0');
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.args).toEqual([
      'run',
      '--leader-elect=true',
      '--concurrency=4',
      '--log-level=info',
      '--log-format=json',
      '--metrics-addr=:8080',
      '--health-addr=:8081',
      '--work-dir=/tmp/converge',
      '--ui-addr=127.0.0.1:9090',
      // No webhook secret configured: no receiver, no port.
      '--webhook-addr=off',
    ]);
    const port = (name: string) => c.ports.find((p: { name: string }) => p.name === name)?.containerPort;
    expect(port('http-metrics')).toBe(8080);
    expect(port('http-health')).toBe(8081);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-health' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-health' });
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ]),
    );
    expect(c.resources.requests).toMatchObject({ cpu: '100m', memory: '256Mi' });
    expect(c.resources.limits).toMatchObject({ memory: '1Gi' });
    // The only writable place is the emptyDir holding the git cache (--work-dir is inside it).
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } }]);

    const service = only(docs, 'Service');
    expect(service.spec.ports).toEqual([
      { name: 'http-metrics', port: 8080, targetPort: 'http-metrics', protocol: 'TCP' },
    ]);
    for (const [k, v] of Object.entries(service.spec.selector))
      expect(deploy.spec.template.metadata.labels[k]).toBe(v);
  });

  it('passes flags from values', async () => {
    const d = await render(
      '--set',
      'replicas=1',
      '--set',
      'leaderElection.enabled=false',
      '--set',
      'concurrency=9',
      '--set',
      'logLevel=debug',
      '--set',
      'watchNamespace=apps',
      '--set',
      'labelSelector=shard=a',
    );
    const deploy = only(d, 'Deployment');
    expect(deploy.spec.replicas).toBe(1);
    const [, ...args] = deploy.spec.template.spec.containers[0].args as string[];
    expect(
      parseRunOptions(args, { KUBERNETES_SERVICE_HOST: '10.0.0.1', POD_NAME: 'p' }, false),
    ).toMatchObject({
      leaderElect: false,
      concurrency: 9,
      logLevel: 'debug',
      namespace: 'apps',
      labelSelector: 'shard=a',
    });
    expect(deploy.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining([
        '--leader-elect=false',
        '--concurrency=9',
        '--log-level=debug',
        '--namespace=apps',
        '--label-selector=shard=a',
      ]),
    );
  });

  it('passes flags that `converge run` accepts, with POD_NAME and POD_NAMESPACE from the pod', () => {
    const [command, ...args] = only(docs, 'Deployment').spec.template.spec.containers[0].args as string[];
    expect(command).toBe('run');
    const env = {
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
      POD_NAME: 'conv-converge-abc',
      POD_NAMESPACE: 'converge-system',
    };
    expect(parseRunOptions(args, env, false)).toMatchObject({
      leaderElect: true,
      leaseNamespace: 'converge-system',
      leaseName: 'converge-leader',
      identity: 'conv-converge-abc',
      concurrency: 4,
      logLevel: 'info',
      logFormat: 'json',
      metricsAddr: ':8080',
      healthAddr: ':8081',
      workDir: '/tmp/converge',
      uiAddr: '127.0.0.1:9090',
    });
  });

  it('grants the operator exactly its own needs, plus * on * only through the apply ClusterRole', () => {
    expect(only(docs, 'ClusterRole', 'conv-converge-gitsources').rules).toEqual([
      {
        apiGroups: ['gitops.converge.dev'],
        resources: ['gitsources'],
        verbs: ['get', 'list', 'watch', 'update', 'patch'],
      },
      {
        apiGroups: ['gitops.converge.dev'],
        resources: ['gitsources/status'],
        verbs: ['get', 'update', 'patch'],
      },
      { apiGroups: ['gitops.converge.dev'], resources: ['gitsources/finalizers'], verbs: ['update'] },
      { apiGroups: ['gitops.converge.dev'], resources: ['notifiers'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['gitops.converge.dev'],
        resources: ['notifiers/status'],
        verbs: ['get', 'update', 'patch'],
      },
      { apiGroups: ['gitops.converge.dev'], resources: ['imagepolicies'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['gitops.converge.dev'],
        resources: ['imagepolicies/status'],
        verbs: ['get', 'update', 'patch'],
      },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['servicecidrs'], verbs: ['list'] },
    ]);
    expect(only(docs, 'ClusterRole', 'conv-converge-sources').rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
      { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
    ]);
    expect(only(docs, 'ClusterRole', 'conv-converge-apply').rules).toEqual([
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    ]);
    const lease = only(docs, 'Role', 'conv-converge-leader-election');
    expect(lease.metadata.namespace).toBe('converge-system');
    expect(lease.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['converge-leader'],
        verbs: ['get', 'update'],
      },
    ]);
    for (const binding of docs.filter((d) => d.kind.endsWith('Binding'))) {
      const b = binding as Doc;
      expect(b.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'conv-converge', namespace: 'converge-system' },
      ]);
      expect(docs.some((d) => d.kind === b.roleRef.kind && d.metadata.name === b.roleRef.name)).toBe(true);
    }
  });

  it('ships the CRDs byte-identical to crds/', async () => {
    for (const file of ['gitsource.yaml', 'notifier.yaml', 'imagepolicy.yaml']) {
      const chartCrd = readFileSync(join(chart, 'crds', file));
      const repoCrd = readFileSync(join(root, 'crds', file));
      expect(chartCrd.equals(repoCrd), `${file}: run \`npm run generate\``).toBe(true);
    }
    const withCrds = await render('--include-crds');
    expect(
      withCrds
        .filter((d) => d.kind === 'CustomResourceDefinition')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual([
      'gitsources.gitops.converge.dev',
      'imagepolicies.gitops.converge.dev',
      'notifiers.gitops.converge.dev',
    ]);
  });
});

describe('helm template, status page', () => {
  const token = ['--set', 'ui.tokenSecret.name=converge-ui'];

  it('is on by default on the pod loopback only, with no Service, port or token', async () => {
    const docs = await render();
    const c = only(docs, 'Deployment').spec.template.spec.containers[0];
    expect(c.args.filter((a: string) => a.startsWith('--ui-'))).toEqual(['--ui-addr=127.0.0.1:9090']);
    expect(c.ports.map((p: { name: string }) => p.name)).not.toContain('http-ui');
    expect(docs.filter((d) => d.metadata.name.endsWith('-ui'))).toEqual([]);
  });

  it('is off with ui.enabled=false', async () => {
    const c = only(await render('--set', 'ui.enabled=false'), 'Deployment').spec.template.spec.containers[0];
    expect(c.args.filter((a: string) => a.startsWith('--ui-'))).toEqual([]);
  });

  it('mounts the token Secret read-only and passes --ui-token-file', async () => {
    const deploy = only(await render(...token, '--set', 'ui.tokenSecret.key=t'), 'Deployment');
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    expect(c.args).toEqual(
      expect.arrayContaining(['--ui-addr=127.0.0.1:9090', '--ui-token-file=/etc/converge/ui/token']),
    );
    expect(c.volumeMounts).toContainEqual({
      name: 'ui-token',
      mountPath: '/etc/converge/ui',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({
      name: 'ui-token',
      secret: { secretName: 'converge-ui', items: [{ key: 't', path: 'token' }] },
    });
    const [, ...args] = c.args as string[];
    expect(parseRunOptions(args, { KUBERNETES_SERVICE_HOST: 'x', POD_NAME: 'p' }, false)).toMatchObject({
      uiAddr: '127.0.0.1:9090',
      uiTokenFile: '/etc/converge/ui/token',
    });
  });

  it('with an Ingress: a Service to a named port, listening on all interfaces', async () => {
    const docs = await render(
      ...token,
      '--set',
      'ui.ingress.enabled=true',
      '--set',
      'ui.ingress.host=converge.example.com',
      '--set',
      'ui.ingress.className=nginx',
    );
    const c = only(docs, 'Deployment').spec.template.spec.containers[0];
    expect(c.args).toContain('--ui-addr=:9090');
    expect(c.ports).toContainEqual({ name: 'http-ui', containerPort: 9090, protocol: 'TCP' });
    const service = only(docs, 'Service', 'conv-converge-ui');
    expect(service.spec.ports).toEqual([
      { name: 'http-ui', port: 9090, targetPort: 'http-ui', protocol: 'TCP' },
    ]);
    const ingress = only(docs, 'Ingress');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.rules).toEqual([
      {
        host: 'converge.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'conv-converge-ui', port: { name: 'http-ui' } } },
            },
          ],
        },
      },
    ]);
    const lint = await helm([
      'lint',
      '--strict',
      chart,
      ...token,
      '--set',
      'ui.ingress.enabled=true',
      '--set',
      'ui.ingress.host=converge.example.com',
    ]);
    expect(lint.code).toBe(0);
  });

  it('renders examples/notify-egress/values.yaml into flags the operator accepts, and grants the ServiceCIDR list', async () => {
    const docs = await render('-f', join(root, 'examples', 'notify-egress', 'values.yaml'));
    const args = only(docs, 'Deployment').spec.template.spec.containers[0].args as string[];
    expect(args).toContain('--notify-allow-cidrs=10.96.12.34/32');
    expect(args).toContain('--service-cidrs=10.96.0.0/12');
    expect(
      parseRunOptions(args.slice(1), { KUBERNETES_SERVICE_HOST: '10.0.0.1', POD_NAME: 'p' }, false),
    ).toMatchObject({
      notifyDenyCidrs: expect.arrayContaining(['169.254.0.0/16', '10.244.0.0/16']),
      notifyAllowCidrs: ['10.96.12.34/32'],
      serviceCidrs: ['10.96.0.0/12'],
    });
    // Without values the operator keeps its own safe default and discovers the Service range.
    const plain = only(await render(), 'Deployment').spec.template.spec.containers[0].args as string[];
    expect(plain.filter((a) => /notify|service-cidrs/.test(a))).toEqual([]);
    const role = only(docs, 'ClusterRole', 'conv-converge-gitsources');
    expect(role.rules).toContainEqual({
      apiGroups: ['networking.k8s.io'],
      resources: ['servicecidrs'],
      verbs: ['list'],
    });
    const bad = await helm([
      'template',
      'conv',
      chart,
      '--set',
      'notify.allowCidrs={metadata.google.internal}',
    ]);
    expect(bad.code).not.toBe(0);
  });

  it('renders examples/status-page/values-ingress.yaml', async () => {
    const docs = await render('-f', join(root, 'examples', 'status-page', 'values-ingress.yaml'));
    expect(only(docs, 'Ingress').spec.tls).toEqual([
      { secretName: 'converge-ui-tls', hosts: ['converge.example.com'] },
    ]);
    expect(only(docs, 'Deployment').spec.template.spec.containers[0].args).toContain(
      '--ui-token-file=/etc/converge/ui/token',
    );
  });

  it('refuses a Service or Ingress without a token, and an Ingress without a host', async () => {
    for (const set of ['ui.service.enabled=true', 'ui.ingress.enabled=true']) {
      const r = await helm(['template', 'conv', chart, '--set', set, '--set', 'ui.ingress.host=h']);
      expect(r.code, set).not.toBe(0);
      expect(r.stderr).toMatch(
        /ui\.tokenSecret\.name: a status page reachable through a Service or Ingress needs/,
      );
    }
    const r = await helm(['template', 'conv', chart, ...token, '--set', 'ui.ingress.enabled=true']);
    expect(r.stderr).toMatch(/ui\.ingress\.host: the Ingress needs a host name/);
  });
});

describe('helm template, tenant mode', () => {
  let docs: Rendered[];
  beforeAll(async () => {
    docs = await render(...tenantArgs);
  });

  const writeVerbs = [
    '*',
    'create',
    'update',
    'patch',
    'delete',
    'deletecollection',
    'impersonate',
    'escalate',
    'bind',
  ];

  it('has no cluster-wide write beyond GitSources, Notifier status and Events, and no cluster-wide secrets or impersonation', () => {
    const clusterRoles = docs.filter((d) => d.kind === 'ClusterRole');
    expect(clusterRoles.map((r) => r.metadata.name)).toEqual(['conv-converge-gitsources']);
    for (const role of clusterRoles) {
      for (const rule of role.rules ?? []) {
        expect(rule.resources).not.toContain('*');
        expect(rule.apiGroups).not.toContain('*');
        expect(rule.resources).not.toContain('secrets');
        if (rule.verbs.some((v) => writeVerbs.includes(v))) {
          expect(rule.verbs).not.toContain('*');
          for (const r of rule.resources ?? [])
            expect([
              'gitsources',
              'gitsources/status',
              'gitsources/finalizers',
              'notifiers/status',
              'imagepolicies/status',
              'events',
            ]).toContain(r);
        }
      }
    }
    // Bindings to anything broader, e.g. the built-in cluster-admin, would defeat the above.
    for (const b of docs.filter((d) => d.kind === 'ClusterRoleBinding') as Doc[]) {
      expect(b.roleRef.name).toBe('conv-converge-gitsources');
    }
  });

  it('lets the operator read Secrets and impersonate only inside each tenant namespace', () => {
    const roles = docs.filter((d) => d.kind === 'Role');
    expect(roles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`).sort()).toEqual([
      'converge-system/conv-converge-leader-election',
      'team-a/conv-converge-deployer',
      'team-a/conv-converge-tenant',
      'team-b/conv-converge-deployer',
      'team-b/conv-converge-tenant',
    ]);
    for (const ns of ['team-a', 'team-b']) {
      const tenant = roles.find(
        (r) => r.metadata.namespace === ns && r.metadata.name === 'conv-converge-tenant',
      );
      expect(tenant?.rules).toEqual([
        { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
        { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
      ]);
      // The deployer ServiceAccount applies everything namespaced there, but cannot borrow identities.
      const deployer = roles.find(
        (r) => r.metadata.namespace === ns && r.metadata.name === 'conv-converge-deployer',
      );
      expect(deployer?.rules).toHaveLength(1);
      expect(deployer?.rules?.[0]?.verbs).not.toContain('*');
      expect(deployer?.rules?.[0]?.verbs).not.toContain('impersonate');
      expect(deployer?.rules?.[0]?.verbs).toEqual(
        expect.arrayContaining(['create', 'patch', 'delete', 'list', 'watch']),
      );
      expect(
        only(
          docs.filter((d) => d.metadata.namespace === ns),
          'ServiceAccount',
        ).metadata.name,
      ).toBe('converge-deployer');
    }
  });

  it('limits impersonation to named ServiceAccounts when asked', async () => {
    const d = await render(...tenantArgs, '--set', 'rbac.impersonableServiceAccounts={deployer}');
    const tenant = d.find(
      (r) =>
        r.kind === 'Role' && r.metadata.namespace === 'team-a' && r.metadata.name === 'conv-converge-tenant',
    );
    expect(tenant?.rules?.[1]).toEqual({
      apiGroups: [''],
      resources: ['serviceaccounts'],
      resourceNames: ['deployer'],
      verbs: ['impersonate'],
    });
  });
});

describe('helm template, push webhooks', () => {
  it('serves the receiver with the secret mounted as a file, behind a Service', async () => {
    const docs = await render('--set', 'webhook.secretName=hook-secret');
    const deploy = only(docs, 'Deployment');
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    const [, ...args] = c.args as string[];
    expect(args).toEqual(
      expect.arrayContaining(['--webhook-addr=:9292', '--webhook-secret-file=/etc/converge/webhook/token']),
    );
    expect(
      parseRunOptions(args, { KUBERNETES_SERVICE_HOST: '10.0.0.1', POD_NAME: 'p' }, false),
    ).toMatchObject({
      webhookAddr: ':9292',
      webhookSecretFile: '/etc/converge/webhook/token',
    });
    expect(c.ports).toContainEqual({ name: 'http-webhook', containerPort: 9292, protocol: 'TCP' });
    expect(c.volumeMounts).toContainEqual({
      name: 'webhook-secret',
      mountPath: '/etc/converge/webhook',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({
      name: 'webhook-secret',
      secret: {
        secretName: 'hook-secret',
        defaultMode: 0o440 /* 288 */,
        items: [{ key: 'token', path: 'token' }],
      },
    });
    // The secret never reaches argv or the environment: only its file path does.
    expect(JSON.stringify(c.env)).not.toContain('hook-secret');
    const service = only(docs, 'Service', 'conv-converge-webhook');
    expect(service.spec.ports).toEqual([
      { name: 'http-webhook', port: 9292, targetPort: 'http-webhook', protocol: 'TCP' },
    ]);
    for (const [k, v] of Object.entries(service.spec.selector))
      expect(deploy.spec.template.metadata.labels[k]).toBe(v);
    expect(docs.filter((d) => d.kind === 'Ingress')).toEqual([]);
  });

  it('renders the optional Ingress, ports and per-namespace secrets from values', async () => {
    const docs = await render(
      ...tenantArgs,
      '--set',
      'webhook.namespaceSecretName=converge-webhook',
      '--set',
      'webhook.port=9393',
      '--set',
      'webhook.service.port=80',
      '--set',
      'webhook.service.type=LoadBalancer',
      '--set',
      'webhook.ingress.enabled=true',
      '--set',
      'webhook.ingress.host=hooks.example.com',
      '--set',
      'webhook.ingress.className=nginx',
      '--set',
      'webhook.ingress.path=/converge/',
      '--set',
      'webhook.ingress.tls[0].secretName=hooks-tls',
      '--set',
      'webhook.ingress.tls[0].hosts[0]=hooks.example.com',
    );
    const c = only(docs, 'Deployment').spec.template.spec.containers[0];
    expect(c.args).toEqual(
      expect.arrayContaining(['--webhook-addr=:9393', '--webhook-namespace-secret=converge-webhook']),
    );
    expect(c.args.some((a: string) => a.startsWith('--webhook-secret-file'))).toBe(false);
    expect(c.ports).toContainEqual({ name: 'http-webhook', containerPort: 9393, protocol: 'TCP' });
    const service = only(docs, 'Service', 'conv-converge-webhook');
    expect(service.spec).toMatchObject({
      type: 'LoadBalancer',
      ports: [{ port: 80, targetPort: 'http-webhook' }],
    });
    const ingress = only(docs, 'Ingress');
    expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ secretName: 'hooks-tls', hosts: ['hooks.example.com'] }],
      rules: [
        {
          host: 'hooks.example.com',
          http: {
            paths: [
              {
                path: '/converge/',
                pathType: 'Prefix',
                backend: { service: { name: 'conv-converge-webhook', port: { name: 'http-webhook' } } },
              },
            ],
          },
        },
      ],
    });
  });

  it.each([
    [['webhook.port=0'], /\/webhook\/port.*minimum/],
    [['webhook.secretName=Bad_Name'], /\/webhook\/secretName.*pattern/],
    [['webhook.service.type=ExternalName'], /\/webhook\/service\/type.*one of/],
    [['webhook.token=abc'], /additional properties 'token' not allowed/],
    [['webhook.secretName=s', 'webhook.ingress.enabled=true'], /webhook\.ingress\.host: the Ingress needs/],
    [
      ['webhook.ingress.enabled=true', 'webhook.ingress.host=h'],
      /webhook\.ingress\.enabled: needs webhook\.secretName/,
    ],
  ])('rejects %j', async (sets, message) => {
    const r = await helm(['template', 'conv', chart, ...sets.flatMap((s) => ['--set', s])]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

describe('helm template, sharding', () => {
  const argsOf = (docs: Rendered[]) =>
    only(docs, 'Deployment').spec.template.spec.containers[0].args as string[];
  const leaseRule = (docs: Rendered[]) =>
    (only(docs, 'Role', 'conv-converge-leader-election').rules as { resourceNames?: string[] }[]).find(
      (r) => r.resourceNames,
    )?.resourceNames;

  it('a shard release reconciles only its labelled GitSources and elects its leader through its own Lease', async () => {
    const docs = await render('--set', 'sharding.shard=team-a', '--set', 'labelSelector=env=prod');
    const args = argsOf(docs);
    expect(args).toContain('--label-selector=gitops.converge.dev/shard=team-a,env=prod');
    expect(args).toContain('--lease-name=converge-leader-team-a');
    expect(leaseRule(docs)).toEqual(['converge-leader-team-a']);
    const [, ...flags] = args;
    expect(parseRunOptions(flags, { POD_NAME: 'p', POD_NAMESPACE: 'converge-system' }, false)).toMatchObject({
      labelSelector: 'gitops.converge.dev/shard=team-a,env=prod',
      leaseName: 'converge-leader-team-a',
    });
  });

  it('the default release of a sharded install skips labelled GitSources and keeps the default Lease', async () => {
    const docs = await render('--set', 'sharding.enabled=true');
    expect(argsOf(docs)).toContain('--label-selector=!gitops.converge.dev/shard');
    expect(argsOf(docs).some((a) => a.startsWith('--lease-name'))).toBe(false);
    expect(leaseRule(docs)).toEqual(['converge-leader']);
  });

  it('refuses a shard name that cannot be a label value and Lease name', async () => {
    const r = await helm(['template', 'conv', chart, '--set', 'sharding.shard=Team_A']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/sharding\/shard/);
  });
});

describe('values.schema.json', () => {
  it.each([
    ['replicas=-1', /\/replicas.*minimum/],
    ['replicas=two', /\/replicas.*want integer/],
    ['concurrency=0', /\/concurrency.*minimum/],
    ['logLevel=loud', /\/logLevel.*one of/],
    ['rbac.mode=admin', /\/rbac\/mode.*one of 'cluster-admin', 'tenant'/],
    ['rbac.mode=tenant', /\/rbac\/tenantNamespaces.*minItems/],
    ['replica=3', /additional properties 'replica' not allowed/],
    ['metrics.port=70000', /\/metrics\/port.*maximum/],
    ['image.pullPolicy=Sometimes', /\/image\/pullPolicy.*one of/],
    ['ui.port=0', /\/ui\/port.*minimum/],
    ['ui.enabled=yes', /\/ui\/enabled.*want boolean/],
    ['ui.tokenSecret.name=Bad_Name', /\/ui\/tokenSecret\/name.*pattern/],
  ])('rejects %s', async (set, message) => {
    const r = await helm(['template', 'conv', chart, '--set', set]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('rejects more than one replica without leader election', async () => {
    const r = await helm([
      'template',
      'conv',
      chart,
      '--set',
      'replicas=3',
      '--set',
      'leaderElection.enabled=false',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/leaderElection\.enabled: must be true when replicas > 1/);
  });

  it('describes every key of values.yaml, and values.yaml sets every key it describes', () => {
    const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));
    const values = yaml.load(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const missing: string[] = [];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking JSON schema and YAML together
    const walk = (s: any, v: any, path: string) => {
      for (const key of Object.keys(s.properties ?? {})) {
        if (path === '' && key === 'global') continue; // Helm's own key for umbrella charts
        if (!(key in v)) missing.push(path + key);
        else if (s.properties[key].properties && v[key]) walk(s.properties[key], v[key], `${path}${key}.`);
      }
    };
    walk(schema, values, '');
    expect(missing).toEqual([]);
  });
});

describe('values.yaml', () => {
  it('documents every value: each leaf key or one of its parents has a comment right above it', () => {
    const lines = readFileSync(join(chart, 'values.yaml'), 'utf8').split('\n');
    const undocumented: string[] = [];
    // Stack of open keys: indent, path, and whether it or a parent carries a comment.
    const stack: Array<{ indent: number; path: string; documented: boolean }> = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)([A-Za-z][\w-]*):/.exec(line);
      if (!m) return;
      const indent = m[1]!.length;
      while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
      const parent = stack[stack.length - 1];
      const commented = /^\s*#/.test(lines[i - 1] ?? '');
      const path = parent ? `${parent.path}.${m[2]}` : m[2]!;
      const documented = commented || (parent?.documented ?? false);
      const next = lines.slice(i + 1).find((l) => l.trim() !== '' && !/^\s*#/.test(l));
      const isParent = next !== undefined && /^(\s*)[A-Za-z][\w-]*:/.test(next) && next.search(/\S/) > indent;
      if (!isParent && !documented) undocumented.push(path);
      stack.push({ indent, path, documented });
    });
    expect(undocumented).toEqual([]);
  });
});
