// `converge events NAME`: the events.k8s.io Events about a GitSource, oldest first.
import { KIND } from '../../api/index.ts';
import { requireName, type Command } from '../command.ts';
import { formatAge } from '../format/age.ts';
import { cell, formatTable } from '../format/table.ts';
import { asList, printObjects } from '../print.ts';

interface EventObject {
  type?: string;
  reason?: string;
  note?: string;
  eventTime?: string;
  deprecatedLastTimestamp?: string;
  series?: { lastObservedTime?: string; count?: number };
  metadata: { name: string; creationTimestamp?: string };
}

/** When the event last happened: series, eventTime, the deprecated timestamps, creation. */
export function eventTime(e: EventObject): string {
  return (
    e.series?.lastObservedTime ??
    e.eventTime ??
    e.deprecatedLastTimestamp ??
    e.metadata.creationTimestamp ??
    ''
  );
}

export const events: Command = {
  name: 'events',
  summary: 'the Events recorded for a GitSource, oldest first',
  usage: 'NAME [-o json|yaml]',
  description:
    'Lists events.k8s.io/v1 Events whose regarding object is the GitSource: transitions only\n' +
    '(Changed, Diverged, Converged, DriftCorrected, Pruned, ReconcileFailed), never one per interval.',
  flags: {},
  ignoresGlobal: ['all-namespaces'],
  examples: ['converge events web -n apps'],
  async run(ctx, args) {
    const name = requireName(this, args);
    const namespace = ctx.namespace();
    await ctx.getGitSource(name, namespace);
    const client = await ctx.client();
    const list = await client.list<EventObject>(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
      fieldSelector: `regarding.kind=${KIND},regarding.name=${name}`,
    });
    const items = [...list.items].sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
    if (ctx.flags.output) {
      printObjects(ctx, ctx.flags.output, asList(items));
      return 0;
    }
    if (items.length === 0) {
      ctx.err(`No events for gitsource ${namespace}/${name}.\n`);
      return 0;
    }
    const now = ctx.io.now();
    const rows = items.map((e) => [
      formatAge(eventTime(e) || undefined, now),
      e.type ?? '-',
      e.reason ?? '-',
      cell(`${e.note ?? ''}${e.series?.count ? ` (×${e.series.count})` : ''}`, 160),
    ]);
    ctx.out(formatTable(['LAST SEEN', 'TYPE', 'REASON', 'MESSAGE'], rows));
    return 0;
  },
};
