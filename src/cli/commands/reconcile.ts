// `converge reconcile NAME [--wait]`: sets requested-at, then follows the reconcile to Ready True (0) or False (1).
import { parseDuration } from '../../api/index.ts';
import { gitSourceListPath } from '../../controller/index.ts';
import { findCondition, shortRevision } from '../../report/index.ts';
import { CliError, bool, requireName, str, type Command } from '../command.ts';
import type { CliContext, ListedGitSource } from '../context.ts';
import { Progress } from '../progress.ts';

export const reconcile: Command = {
  name: 'reconcile',
  summary: 'reconcile a GitSource now (--wait: follow it until Ready or failed)',
  usage: 'NAME [--wait] [--timeout DURATION]',
  description:
    'Sets the annotation gitops.converge.dev/requested-at to a new value; the operator fetches,\n' +
    'plans and applies at once instead of at the next interval. With --wait, shows the current step\n' +
    'until the operator has handled this request (status.lastHandledReconcileAt) and Ready is True\n' +
    '(exit 0) or False (exit 1, printing the reason and message).',
  flags: {
    wait: { type: 'boolean', short: 'w', help: 'follow the reconcile until it succeeds or fails' },
    timeout: { type: 'string', value: 'DURATION', help: 'give up waiting after this long (default 5m)' },
  },
  ignoresGlobal: ['all-namespaces', 'output'],
  examples: ['converge reconcile web -n apps --wait', 'converge reconcile web -n apps --wait --timeout 10m'],
  async run(ctx, args) {
    const name = requireName(this, args);
    const timeoutText = str(args.values, 'timeout') ?? '5m';
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(timeoutText);
    } catch {
      throw new CliError(`--timeout ${timeoutText}: must be a duration such as 90s, 5m or 1h`, 2);
    }
    const namespace = ctx.namespace();
    const gs = await ctx.getGitSource(name, namespace);
    if (gs.spec?.suspend)
      throw new CliError(
        `gitsource ${namespace}/${name} is suspended; resume it first: ${ctx.io.prog} resume ${name} -n ${namespace}`,
      );
    const at = await ctx.requestReconcile(name, namespace);
    ctx.err(`► reconcile requested for ${namespace}/${name} (requested-at ${at})\n`);
    if (!bool(args.values, 'wait')) return 0;
    return follow(ctx, namespace, name, at, timeoutMs, timeoutText);
  },
};

type Outcome = { done: false; step: string } | { done: true; ok: boolean; line: string };

/** Where the reconcile of request `at` stands, judged from the GitSource alone (pure). */
export function reconcileOutcome(gs: ListedGitSource, at: string): Outcome {
  const ready = findCondition(gs.status?.conditions, 'Ready');
  const reconciling = findCondition(gs.status?.conditions, 'Reconciling');
  const handled = gs.status?.lastHandledReconcileAt === at;
  if (handled && ready?.status === 'True')
    return {
      done: true,
      ok: true,
      line: `✔ ${gs.metadata.namespace}/${gs.metadata.name} is Ready at ${shortRevision(gs.status?.lastAppliedRevision)}: ${ready.message}`,
    };
  // Ready stays False with the last failure while a retry runs: only a pass that ended (no
  // Reconciling) decides.
  if (handled && ready?.status === 'False' && reconciling?.status !== 'True')
    return {
      done: true,
      ok: false,
      line: `✗ ${gs.metadata.namespace}/${gs.metadata.name} failed: ${ready.reason}: ${ready.message}`,
    };
  return {
    done: false,
    step:
      reconciling?.message ??
      (handled ? (ready?.message ?? 'working') : 'waiting for the operator to pick up the request'),
  };
}

async function follow(
  ctx: CliContext,
  namespace: string,
  name: string,
  at: string,
  timeoutMs: number,
  timeoutText: string,
): Promise<number> {
  const client = await ctx.client();
  const progress = new Progress(ctx.io.stderr);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.io.signal.addEventListener('abort', onAbort, { once: true });
  let result: Outcome | undefined;
  let last: ListedGitSource | undefined;
  let timedOut = false;
  let synced = false;
  let failure: unknown;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, timeoutMs);
  const judge = (gs: ListedGitSource) => {
    last = gs;
    const outcome = reconcileOutcome(gs, at);
    if (outcome.done) {
      result = outcome;
      stop.abort();
    } else progress.update(outcome.step);
  };
  try {
    await client.watch<ListedGitSource>(
      gitSourceListPath(namespace),
      {
        signal: stop.signal,
        fieldSelector: `metadata.name=${name}`,
        // A first list that fails (access denied) ends the wait; later failures are retried by the watch.
        onError: (err) => {
          if (synced) return;
          failure = err;
          stop.abort();
        },
      },
      (event) => {
        if (event.type === 'SYNCED') {
          synced = true;
          if (event.objects.length === 0) {
            result = { done: true, ok: false, line: `✗ gitsource ${namespace}/${name} was deleted` };
            stop.abort();
          }
          return;
        }
        if (event.type === 'DELETED') {
          result = { done: true, ok: false, line: `✗ gitsource ${namespace}/${name} was deleted` };
          stop.abort();
          return;
        }
        judge(event.object);
      },
    );
  } finally {
    clearTimeout(timer);
    progress.stop();
    ctx.io.signal.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure;
  if (result?.done) {
    (result.ok ? ctx.out.bind(ctx) : ctx.err.bind(ctx))(`${result.line}\n`);
    return result.ok ? 0 : 1;
  }
  const ready = findCondition(last?.status?.conditions, 'Ready');
  const state = ready ? `; Ready=${ready.status} ${ready.reason}: ${ready.message}` : '';
  const picked = last?.status?.lastHandledReconcileAt === at;
  const hint = picked
    ? ''
    : ` (the operator never picked up the request: is it running? see \`${ctx.io.prog} check\`)`;
  if (timedOut)
    throw new CliError(`timed out after ${timeoutText} waiting for ${namespace}/${name}${state}${hint}`);
  throw new CliError(`interrupted while waiting for ${namespace}/${name}${state}`, 130);
}
