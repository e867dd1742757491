// Finishing Jobs by hand: kwok runs a pod labelled converge.dev/kwok: never-ready without ending it,
// the test writes how it ended, and the real job controller turns that into Complete or Failed.
import type { PodBehaviour } from './apps.ts';
import { eventually, kubectl, kubectlOk } from './cluster.ts';

interface Pod {
  metadata: { name: string; creationTimestamp: string };
  spec: { containers: { name: string; image: string }[] };
  status?: { phase?: string };
}

async function podsOf(namespace: string, job: string): Promise<Pod[]> {
  const out = await kubectlOk([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    `batch.kubernetes.io/job-name=${job}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(out) as { items: Pod[] }).items;
}

/**
 * Ends the Job's newest pod as Succeeded (exit 0) or Failed (exit 1 with `message` as the
 * container's termination message), and waits for the job controller to mark the Job.
 */
export async function finishJob(
  namespace: string,
  job: string,
  outcome: 'Succeeded' | 'Failed',
  message = '',
): Promise<void> {
  const pod = await eventually(
    async () =>
      (await podsOf(namespace, job)).sort((a, b) =>
        b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp),
      )[0],
    { timeoutMs: 30_000, what: `a pod of Job ${namespace}/${job}` },
  );
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const exitCode = outcome === 'Succeeded' ? 0 : 1;
  const status = {
    phase: outcome,
    startTime: now,
    containerStatuses: pod.spec.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode,
          reason: outcome === 'Succeeded' ? 'Completed' : 'Error',
          ...(message ? { message } : {}),
          startedAt: now,
          finishedAt: now,
        },
      },
    })),
  };
  await kubectlOk([
    'patch',
    'pod',
    pod.metadata.name,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
  const want = outcome === 'Succeeded' ? 'Complete' : 'Failed';
  await eventually(
    async () => {
      const r = await kubectl(['get', 'job', job, '-n', namespace, '-o', 'json']);
      // Gone: the operator already saw it finish and deleted it (a hook's delete policy).
      if (r.code !== 0) return /NotFound/.test(r.stderr);
      const conds = (JSON.parse(r.stdout) as { status?: { conditions?: { type: string; status: string }[] } })
        .status?.conditions;
      return conds?.some((c) => c.type === want && c.status === 'True');
    },
    { timeoutMs: 30_000, what: `Job ${namespace}/${job} ${want}` },
  );
}

/** A Job that runs once (no retries), as hooks usually are. */
export function jobManifest(
  name: string,
  annotations: Record<string, string>,
  extra: { generateName?: boolean; pods?: PodBehaviour } = {},
): string {
  return JSON.stringify(
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { ...(extra.generateName ? { generateName: name } : { name }), annotations },
      spec: {
        backoffLimit: 0,
        template: {
          ...(extra.pods ? { metadata: { labels: { 'converge.dev/kwok': extra.pods } } } : {}),
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'run', image: 'busybox:1.36', command: ['true'] }],
          },
        },
      },
    },
    null,
    2,
  );
}
