// `converge get [NAME] [-A] [-w]`: GitSources as a table (or -o json|yaml); -w streams changes.
import { gitSourceListPath } from '../../controller/index.ts';
import type { WatchEvent } from '../../kube/index.ts';
import { CliError, bool, type Command } from '../command.ts';
import type { CliContext, ListedGitSource } from '../context.ts';
import { getHeaders, getRow, hasRemote } from '../format/gitsource.ts';
import { formatTable } from '../format/table.ts';
import { asList, printObjects } from '../print.ts';

export const get: Command = {
  name: 'get',
  summary: 'list GitSources: ready, reason, revision, last change, age (-w to watch)',
  usage: '[NAME] [-A] [-w] [-o json|yaml]',
  description:
    'Shows GitSources with their Ready condition, the applied revision (short; - until one is applied,\n' +
    'a fetched one that failed is not shown), when the last revision was applied or tried, and their age;\n' +
    'a CLUSTER column (context@server) when any applies to a remote cluster (spec.kubeConfig).\n' +
    'With -w, keeps printing a row whenever one changes (Ctrl-C stops). With a NAME, also lists its\n' +
    'pull-request previews (spec.previews): number, head, state, namespace.',
  flags: { watch: { type: 'boolean', short: 'w', help: 'after the list, print each change as it happens' } },
  examples: ['converge get -A', 'converge get web -n apps -o yaml', 'converge get -n apps -w'],
  async run(ctx, args) {
    const [name, extra] = args.positionals;
    if (extra) throw new CliError(`get: unexpected argument "${extra}"`, 2);
    const namespace = ctx.flags.allNamespaces && !name ? undefined : ctx.namespace();
    if (bool(args.values, 'watch')) return watch(ctx, namespace, name);
    const items = name ? [await ctx.getGitSource(name, namespace)] : await ctx.listGitSources(namespace);
    if (ctx.flags.output) {
      printObjects(ctx, ctx.flags.output, name ? items[0] : asList(items));
      return 0;
    }
    if (items.length === 0) {
      ctx.err(namespace ? `No gitsources found in namespace ${namespace}.\n` : 'No gitsources found.\n');
      return 0;
    }
    const withNs = namespace === undefined;
    const withCluster = hasRemote(items);
    const now = ctx.io.now();
    ctx.out(
      formatTable(
        getHeaders(withNs, withCluster),
        sorted(items).map((gs) => getRow(gs, now, withNs, withCluster)),
      ),
    );
    // One GitSource: its pull-request previews (spec.previews) below the row.
    const previews = name ? (items[0]?.status?.previews ?? []) : [];
    if (previews.length > 0) {
      ctx.out('\nPull request previews:\n');
      ctx.out(
        formatTable(
          ['PR', 'HEAD', 'STATE', 'NAMESPACE', 'MESSAGE'],
          previews.map((p) => [
            `#${p.number}`,
            p.head.slice(0, 7),
            p.state,
            p.namespace ?? '',
            (p.message ?? '').slice(0, 80),
          ]),
        ),
      );
    }
    return 0;
  },
};

function sorted(items: ListedGitSource[]): ListedGitSource[] {
  return [...items].sort(
    (a, b) =>
      a.metadata.namespace.localeCompare(b.metadata.namespace) ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

/** The list, then one line per change of a shown row, until Ctrl-C. Uses the list+watch of src/kube. */
async function watch(
  ctx: CliContext,
  namespace: string | undefined,
  name: string | undefined,
): Promise<number> {
  const client = await ctx.client();
  const withNs = namespace === undefined;
  let withCluster = false;
  let headers = getHeaders(withNs);
  const shown = new Map<string, string[]>(); // ns/name → last printed row
  let synced = false;
  const key = (gs: ListedGitSource) => `${gs.metadata.namespace}/${gs.metadata.name}`;
  const print = (gs: ListedGitSource) => {
    if (ctx.flags.output) return printObjects(ctx, ctx.flags.output, gs);
    const row = getRow(gs, ctx.io.now(), withNs, withCluster);
    const before = shown.get(key(gs));
    shown.set(key(gs), row);
    if (!synced || (before && before.join('\0') === row.join('\0'))) return;
    // Widths from every row seen so far keep the columns roughly aligned with the first table.
    const table = formatTable(headers, [...shown.values()]).split('\n');
    const index = [...shown.keys()].indexOf(key(gs));
    ctx.out(`${table[index + 1]}\n`);
  };
  let failure: unknown;
  // A failing first list (no CRD, no access) ends the command; later failures are retried by the watch.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.io.signal.addEventListener('abort', onAbort, { once: true });
  await client.watch<ListedGitSource>(
    gitSourceListPath(namespace),
    {
      signal: stop.signal,
      ...(name ? { fieldSelector: `metadata.name=${name}` } : {}),
      onError: (err) => {
        if (synced) return;
        failure = err;
        stop.abort();
      },
    },
    (event: WatchEvent<ListedGitSource>) => {
      if (event.type === 'SYNCED') {
        if (synced) return;
        synced = true;
        const items = sorted(event.objects);
        withCluster = hasRemote(items);
        headers = getHeaders(withNs, withCluster);
        if (ctx.flags.output) items.forEach((gs) => printObjects(ctx, ctx.flags.output!, gs));
        else if (items.length) {
          for (const gs of items) shown.set(key(gs), getRow(gs, ctx.io.now(), withNs, withCluster));
          ctx.out(formatTable(headers, [...shown.values()]));
        }
        return;
      }
      if (event.type === 'DELETED') {
        shown.delete(key(event.object));
        if (!ctx.flags.output) ctx.err(`${key(event.object)} deleted\n`);
        return;
      }
      print(event.object);
    },
  );
  ctx.io.signal.removeEventListener('abort', onAbort);
  if (failure) throw failure;
  return 0;
}
