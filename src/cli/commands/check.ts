// `converge check`: preflight of a cluster — API, CRD version and schema, operator Lease, RBAC mode, your access.
import { GROUP, PLURAL, VERSION, gitSourceCrd } from '../../api/index.ts';
import { ApiError, type KubeClient } from '../../kube/index.ts';
import { formatAge } from '../format/age.ts';
import { DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE } from '../options.ts';
import { noPositionals, str, type Command } from '../command.ts';
import type { CliContext } from '../context.ts';

type Mark = '✓' | '✗' | '!';
export interface CheckLine {
  mark: Mark;
  text: string;
}

const CRD_NAME = `${PLURAL}.${GROUP}`;
const CHART_LABEL = 'app.kubernetes.io/part-of=converge';

interface CrdObject {
  spec?: {
    versions?: {
      name: string;
      served?: boolean;
      storage?: boolean;
      schema?: { openAPIV3Schema?: unknown };
    }[];
  };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

interface Lease {
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

/** Key order does not matter to a schema: compare sorted JSON. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

function reason(err: unknown): string {
  if (err instanceof ApiError) return err.status === 403 ? `forbidden (${err.message})` : err.message;
  return err instanceof Error ? err.message : String(err);
}

async function checkCrd(client: KubeClient): Promise<CheckLine[]> {
  let crd: CrdObject;
  try {
    crd = await client.request<CrdObject>(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 404)
      return [
        {
          mark: '✗',
          text: `CRD ${CRD_NAME} is not installed — helm install converge deploy/helm/converge -n converge-system --create-namespace, or kubectl apply --server-side -f crds/gitsource.yaml`,
        },
      ];
    return [{ mark: '✗', text: `cannot read CRD ${CRD_NAME}: ${reason(err)}` }];
  }
  const version = crd.spec?.versions?.find((v) => v.name === VERSION);
  const established = crd.status?.conditions?.find((c) => c.type === 'Established');
  if (!version?.served)
    return [
      {
        mark: '✗',
        text: `CRD ${CRD_NAME} does not serve ${VERSION} (serves ${
          (crd.spec?.versions ?? [])
            .filter((v) => v.served)
            .map((v) => v.name)
            .join(', ') || 'nothing'
        }) — apply this release's crds/gitsource.yaml`,
      },
    ];
  if (established?.status !== 'True')
    return [
      {
        mark: '✗',
        text: `CRD ${CRD_NAME} is not Established: ${established?.message ?? 'no condition yet'}`,
      },
    ];
  const expected = (gitSourceCrd() as CrdObject).spec?.versions?.find((v) => v.name === VERSION)?.schema
    ?.openAPIV3Schema;
  const same = canonical(version.schema?.openAPIV3Schema) === canonical(expected);
  return [
    { mark: '✓', text: `CRD ${CRD_NAME} serves ${VERSION} and is Established` },
    same
      ? { mark: '✓', text: `CRD schema matches this CLI's` }
      : {
          mark: '!',
          text: `CRD schema differs from this CLI's (another Converge version is installed) — to align, apply this release's crds/gitsource.yaml with kubectl apply --server-side`,
        },
  ];
}

async function checkOperator(client: KubeClient, ns: string, name: string, now: Date): Promise<CheckLine[]> {
  let lease: Lease;
  try {
    lease = await client.request<Lease>(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 404)
      return [
        {
          mark: '✗',
          text: `no Lease ${ns}/${name}: no operator is running with leader election there — install it (helm install converge deploy/helm/converge -n ${ns}) or pass --lease-namespace/--lease-name`,
        },
      ];
    return [{ mark: '✗', text: `cannot read Lease ${ns}/${name}: ${reason(err)}` }];
  }
  const holder = lease.spec?.holderIdentity;
  const renewed = lease.spec?.renewTime ? Date.parse(lease.spec.renewTime) : NaN;
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
  if (!holder)
    return [
      {
        mark: '✗',
        text: `Lease ${ns}/${name} has no holder: the operator released it (stopped) — kubectl -n ${ns} get pods`,
      },
    ];
  if (Number.isNaN(renewed) || now.getTime() - renewed > durationMs)
    return [
      {
        mark: '✗',
        text: `Lease ${ns}/${name} held by ${holder} was last renewed ${formatAge(lease.spec?.renewTime, now)} ago (lease ${durationMs / 1000}s): the operator is not running — kubectl -n ${ns} get pods; kubectl -n ${ns} logs deploy/converge`,
      },
    ];
  return [
    {
      mark: '✓',
      text: `operator ${holder} holds Lease ${ns}/${name} (renewed ${formatAge(lease.spec?.renewTime, now)} ago)`,
    },
  ];
}

async function checkRbacMode(client: KubeClient): Promise<CheckLine> {
  let names: string[];
  try {
    const list = await client.list<{ metadata: { name: string } }>(
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      {
        labelSelector: CHART_LABEL,
      },
    );
    names = list.items.map((r) => r.metadata.name);
  } catch (err) {
    return { mark: '!', text: `cannot tell the RBAC mode: listing ClusterRoles failed: ${reason(err)}` };
  }
  if (names.length === 0)
    return {
      mark: '!',
      text: `RBAC mode unknown: no ClusterRoles labelled ${CHART_LABEL} (the operator was not installed with the chart; its RBAC is managed elsewhere)`,
    };
  const apply = names.find((n) => n.endsWith('-apply'));
  if (apply)
    return { mark: '✓', text: `RBAC mode cluster-admin (ClusterRole ${apply} may apply anything anywhere)` };
  let tenants: string[] = [];
  try {
    const roles = await client.list<{ metadata: { name: string; namespace: string } }>(
      '/apis/rbac.authorization.k8s.io/v1/roles',
      { labelSelector: CHART_LABEL },
    );
    tenants = [
      ...new Set(
        roles.items
          .filter((r) => !r.metadata.name.endsWith('-leader-election'))
          .map((r) => r.metadata.namespace),
      ),
    ];
  } catch {
    // Listing Roles everywhere may be denied; the mode is still known.
  }
  return {
    mark: '✓',
    text: `RBAC mode tenant: GitSources must set spec.serviceAccountName${tenants.length ? `; tenant namespaces: ${tenants.sort().join(', ')}` : ''}`,
  };
}

async function checkAccess(client: KubeClient, ns: string): Promise<CheckLine> {
  const can = async (verb: string) => {
    const review = await client.request<{ status?: { allowed?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { group: GROUP, resource: PLURAL, verb, namespace: ns } },
        },
      },
    );
    return review.status?.allowed === true;
  };
  try {
    const [list, patch] = await Promise.all([can('list'), can('patch')]);
    if (list && patch) return { mark: '✓', text: `you may list and patch GitSources in namespace ${ns}` };
    const missing = [list ? '' : 'list', patch ? '' : 'patch'].filter(Boolean).join(' and ');
    return {
      mark: '!',
      text: `you may not ${missing} GitSources in namespace ${ns}: get/reconcile/suspend/rollback there will be refused`,
    };
  } catch (err) {
    return { mark: '!', text: `cannot review your access: ${reason(err)}` };
  }
}

export const check: Command = {
  name: 'check',
  summary: 'preflight: API reachable, CRD version, operator holding its Lease, RBAC mode',
  usage: '[--lease-namespace NS] [--lease-name NAME]',
  description:
    'Checks the cluster of the current context, one line each (✓ fine, ! worth knowing, ✗ broken,\n' +
    'with what to do): the API server answers; the GitSource CRD serves v1alpha1, is Established and\n' +
    'matches this CLI’s schema; an operator holds the leader Lease and renews it; the RBAC mode of the\n' +
    'chart (cluster-admin or tenant); and your own access to GitSources in -n. Exit 1 when a line is ✗.',
  flags: {
    'lease-namespace': {
      type: 'string',
      value: 'NS',
      help: `namespace of the operator's Lease (default ${DEFAULT_LEASE_NAMESPACE})`,
    },
    'lease-name': {
      type: 'string',
      value: 'NAME',
      help: `name of the Lease (default ${DEFAULT_LEASE_NAME})`,
    },
  },
  ignoresGlobal: ['all-namespaces', 'output'],
  examples: ['converge check', 'converge check --lease-namespace gitops'],
  async run(ctx: CliContext, args) {
    noPositionals(this, args);
    const lines: CheckLine[] = [];
    const print = (l: CheckLine) => {
      lines.push(l);
      ctx.out(`${l.mark} ${l.text}\n`);
    };
    const client = await ctx.client();
    try {
      const version = await client.request<{ gitVersion?: string }>('GET', '/version', { timeoutMs: 10_000 });
      print({
        mark: '✓',
        text: `API server ${client.server} is reachable (Kubernetes ${version.gitVersion ?? 'unknown'})`,
      });
    } catch (err) {
      print({
        mark: '✗',
        text: `cannot reach the API server at ${client.server}: ${reason(err)} — check --kubeconfig/--context and the network`,
      });
      return 1;
    }
    for (const l of await checkCrd(client)) print(l);
    const leaseNs = str(args.values, 'lease-namespace') ?? DEFAULT_LEASE_NAMESPACE;
    const leaseName = str(args.values, 'lease-name') ?? DEFAULT_LEASE_NAME;
    for (const l of await checkOperator(client, leaseNs, leaseName, ctx.io.now())) print(l);
    print(await checkRbacMode(client));
    print(await checkAccess(client, ctx.namespace()));
    return lines.some((l) => l.mark === '✗') ? 1 : 0;
  },
};
