// `converge run` flags and environment, parsed once with zod into the operator's configuration.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_NOTIFY_DENY_CIDRS, parseCidrList } from '../notify/index.ts';

/** Where the operator's Lease lives unless told otherwise; `converge check` looks there too. */
export const DEFAULT_LEASE_NAMESPACE = 'converge-system';
export const DEFAULT_LEASE_NAME = 'converge-leader';

export const RunOptionsSchema = z.object({
  kubeconfig: z.string().optional(),
  namespace: z.string().optional(),
  labelSelector: z.string().optional(),
  concurrency: z.coerce.number().int().min(1).max(256).default(4),
  leaderElect: z.boolean(),
  leaseNamespace: z.string().default(DEFAULT_LEASE_NAMESPACE),
  leaseName: z.string().default(DEFAULT_LEASE_NAME),
  identity: z.string().min(1),
  metricsAddr: z.string().default(':8080'),
  healthAddr: z.string().default(':8081'),
  workDir: z.string().default('/tmp/converge'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  logFormat: z.enum(['json', 'pretty']),
  allowFileUrls: z.boolean().default(false),
  kubectl: z.string().optional(),
  helm: z.string().optional(),
  shutdownGraceMs: z.coerce.number().int().min(0).default(20_000),
  // Status page (src/ui): off unless an address is given.
  uiAddr: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[^:]*):\d{1,5}$/, 'must be host:port or :port')
    .optional(),
  uiTokenFile: z.string().min(1).optional(),
  // Push webhooks (src/webhook): "off" or "" disables the receiver.
  webhookAddr: z
    .string()
    .default(':9292')
    .transform((a) => (a === 'off' ? '' : a)),
  webhookSecretFile: z.string().min(1).optional(),
  webhookNamespaceSecret: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Secret name')
    .optional(),
  // Notifier egress (src/notify/address.ts): ranges a Notifier may not make the operator dial.
  notifyDenyCidrs: z.array(z.string()),
  notifyAllowCidrs: z.array(z.string()),
  /** The cluster's Service range; undefined: discovered from ServiceCIDR objects at start. */
  serviceCidrs: z.array(z.string()).optional(),
  // Remote clusters (spec.kubeConfig): every unsafe kubeconfig feature is an explicit opt-in.
  allowKubeconfigExec: z.boolean().default(false),
  allowKubeconfigFiles: z.boolean().default(false),
  clusterTimeoutMs: z.coerce.number().int().min(1000).default(10_000),
  clusterConcurrency: z.coerce.number().int().min(1).max(256).optional(),
});
export type RunOptions = z.infer<typeof RunOptionsSchema>;

export const USAGE = `Usage: converge run [flags]

  --kubeconfig PATH        kubeconfig (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)
  --namespace NS           watch GitSources in one namespace only (default: all)
  --label-selector SEL     watch only GitSources matching SEL (sharding)
  --concurrency N          GitSources reconciled at once (default 4)
  --leader-elect[=false]   hold a Lease before reconciling (default: true in-cluster, false elsewhere)
  --lease-namespace NS     namespace of the Lease (default $POD_NAMESPACE or converge-system)
  --metrics-addr ADDR      Prometheus /metrics listen address (default :8080)
  --health-addr ADDR       /healthz and /readyz listen address (default :8081)
  --work-dir DIR           git caches and image update checkouts (default /tmp/converge)
  --log-level LEVEL        trace|debug|info|warn|error (default info)
  --log-format FORMAT      json|pretty (default: pretty on a terminal)
  --allow-file-urls        accept file:// repository URLs (development only)
  --kubectl PATH, --helm PATH   renderer binaries (default: PATH, then the bundled copies)
  --ui-addr ADDR           serve the read-only status page here, e.g. 127.0.0.1:9090 (default: off)
  --ui-token-file PATH     require the bearer token in PATH (e.g. a mounted Secret; at least 16 characters)
                           for the status page; without it the page answers only requests to localhost
                           (kubectl port-forward)
  --lease-name NAME        name of the leader election Lease (default converge-leader)
  --shutdown-grace-ms MS   how long in-flight reconciles may finish after SIGTERM (default 20000)

Notifiers (where the operator may send notifications; comma-separated CIDR ranges):
  --notify-deny-cidrs LIST  addresses Notifiers may not reach (default: loopback, link-local and
                           unspecified: ${DEFAULT_NOTIFY_DENY_CIDRS.join(',')}); the cluster's
                           Service range is always added
  --notify-allow-cidrs LIST  holes in the deny list, e.g. 10.0.0.17/32 for an in-cluster receiver
  --service-cidrs LIST     the cluster's Service range, denied to Notifiers unless allowed (default:
                           read from the cluster's ServiceCIDR objects)

Push webhooks (POST /github, /gitlab, /bitbucket, /bitbucket-server, /gitea, /forgejo, /generic,
registry pushes on /distribution and /harbor; append /<namespace> to use that namespace's secret). Served only when a secret is configured:
  --webhook-addr ADDR      webhook listen address (default :9292; "off" disables)
  --webhook-secret-file PATH   file holding the shared secret (a mounted Secret key; never a flag value)
  --webhook-namespace-secret NAME   also accept, on /<provider>/<namespace>, the key "token" of the
                           Secret NAME in that namespace (tenant mode; wakes only that namespace)

Image updates: ImagePolicies (kubectl get imagepolicies) in the watched namespaces are scanned by the leader;
a GitSource with spec.imageUpdates writes their latest tags into fields marked
# {"$imagepolicy": "<ns>:<name>"} under its path, commits, pushes and converges the commit.

Remote clusters (GitSources with spec.kubeConfig.secretRef; the Secret is read in the GitSource's namespace):
  --allow-kubeconfig-exec  accept kubeconfigs with exec plugins or auth providers (EKS, GKE, AKS
                           logins). Off by default: they run commands in the operator's pod, and
                           anyone who can write a Secret in a GitSource namespace could run them
  --allow-kubeconfig-files accept kubeconfigs that name files (certificate-authority, client-certificate,
                           client-key, tokenFile). Off by default: a Secret could make the operator
                           send its own service-account token to another server
  --cluster-timeout-ms MS  bound of one request to a remote API server (default 10000)
  --cluster-concurrency N  reconciles at once against one remote cluster (default: half of
                           --concurrency, at least 1), so a slow cluster cannot hold every worker
`;

/** Every flag of `converge run`; USAGE and README's "Operating it" list each one (a unit test checks). */
export const RUN_FLAGS = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  'label-selector': { type: 'string' },
  concurrency: { type: 'string' },
  'leader-elect': { type: 'string' },
  'lease-namespace': { type: 'string' },
  'lease-name': { type: 'string' },
  'metrics-addr': { type: 'string' },
  'health-addr': { type: 'string' },
  'work-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'allow-file-urls': { type: 'boolean' },
  kubectl: { type: 'string' },
  helm: { type: 'string' },
  'shutdown-grace-ms': { type: 'string' },
  'ui-addr': { type: 'string' },
  'ui-token-file': { type: 'string' },
  'webhook-addr': { type: 'string' },
  'webhook-secret-file': { type: 'string' },
  'webhook-namespace-secret': { type: 'string' },
  'notify-deny-cidrs': { type: 'string' },
  'notify-allow-cidrs': { type: 'string' },
  'service-cidrs': { type: 'string' },
  'allow-kubeconfig-exec': { type: 'boolean' },
  'allow-kubeconfig-files': { type: 'boolean' },
  'cluster-timeout-ms': { type: 'string' },
  'cluster-concurrency': { type: 'string' },
} as const;

/** Parses argv (after `run`) and env into options; throws with a message naming the bad flag. */
export function parseRunOptions(argv: string[], env: NodeJS.ProcessEnv, isTTY: boolean): RunOptions {
  // `--leader-elect` alone means true, as with Go's boolean flags.
  const args = argv.map((a) => (a === '--leader-elect' ? '--leader-elect=true' : a));
  const { values } = parseArgs({ args, strict: true, options: RUN_FLAGS });
  const inCluster = !!env.KUBERNETES_SERVICE_HOST && !values.kubeconfig && !env.KUBECONFIG;
  const bool = (v: string | undefined, dflt: boolean) =>
    v === undefined ? dflt : !['false', '0', 'no'].includes(v);
  const result = RunOptionsSchema.safeParse({
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    namespace: values.namespace,
    labelSelector: values['label-selector'],
    concurrency: values.concurrency,
    leaderElect: bool(values['leader-elect'], inCluster),
    leaseNamespace: values['lease-namespace'] ?? env.POD_NAMESPACE,
    leaseName: values['lease-name'],
    identity: env.POD_NAME ?? `${env.HOSTNAME ?? 'converge'}-${process.pid}`,
    metricsAddr: values['metrics-addr'],
    healthAddr: values['health-addr'],
    workDir: values['work-dir'],
    logLevel: values['log-level'],
    logFormat: values['log-format'] ?? (isTTY ? 'pretty' : 'json'),
    allowFileUrls: values['allow-file-urls'],
    kubectl: values.kubectl ?? env.CONVERGE_KUBECTL,
    helm: values.helm ?? env.CONVERGE_HELM,
    shutdownGraceMs: values['shutdown-grace-ms'],
    uiAddr: values['ui-addr'],
    uiTokenFile: values['ui-token-file'],
    webhookAddr: values['webhook-addr'],
    webhookSecretFile: values['webhook-secret-file'],
    webhookNamespaceSecret: values['webhook-namespace-secret'],
    notifyDenyCidrs:
      values['notify-deny-cidrs'] === undefined
        ? [...DEFAULT_NOTIFY_DENY_CIDRS]
        : parseCidrList(values['notify-deny-cidrs'], '--notify-deny-cidrs'),
    notifyAllowCidrs: parseCidrList(values['notify-allow-cidrs'], '--notify-allow-cidrs'),
    serviceCidrs:
      values['service-cidrs'] === undefined
        ? undefined
        : parseCidrList(values['service-cidrs'], '--service-cidrs'),
    allowKubeconfigExec: values['allow-kubeconfig-exec'],
    allowKubeconfigFiles: values['allow-kubeconfig-files'],
    clusterTimeoutMs: values['cluster-timeout-ms'],
    clusterConcurrency: values['cluster-concurrency'],
  });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const flag = String(issue.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new Error(`--${flag}: ${issue.message}`);
  }
  if (result.data.uiTokenFile && !result.data.uiAddr)
    throw new Error('--ui-token-file: the status page is off; set --ui-addr too');
  return result.data;
}
