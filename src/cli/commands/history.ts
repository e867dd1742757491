// `converge history NAME`: the last revisions applied or tried (status.history), newest first.
import { requireName, type Command } from '../command.ts';
import { formatAge } from '../format/age.ts';
import { commitOf } from '../format/gitsource.ts';
import { formatTable } from '../format/table.ts';
import { asList, printObjects } from '../print.ts';

export const history: Command = {
  name: 'history',
  summary: 'the last revisions a GitSource applied or tried, with results and durations',
  usage: 'NAME [-o json|yaml]',
  description:
    'Shows status.history (the last 5 revisions, newest first): revision, result (Succeeded, Drifted,\n' +
    'or the failure reason), when, and how long the reconcile took. `*` marks the applied revision;\n' +
    '`rollback --to` takes any applied one.',
  flags: {},
  ignoresGlobal: ['all-namespaces'],
  examples: ['converge history web -n apps', 'converge rollback web -n apps --to 4f2c1a0'],
  async run(ctx, args) {
    const name = requireName(this, args);
    const gs = await ctx.getGitSource(name);
    const entries = gs.status?.history ?? [];
    if (ctx.flags.output) {
      printObjects(ctx, ctx.flags.output, asList(entries));
      return 0;
    }
    if (entries.length === 0) {
      ctx.err(`No history yet for gitsource ${gs.metadata.namespace}/${name}.\n`);
      return 0;
    }
    const now = ctx.io.now();
    const applied = gs.status?.lastAppliedRevision;
    let marked = false;
    const rows = entries.map((h) => {
      const current = !marked && h.revision === applied && ['Succeeded', 'Drifted'].includes(h.result);
      if (current) marked = true;
      return [
        current ? '*' : '',
        h.revision,
        commitOf(h.revision)?.slice(0, 7) ?? '-',
        h.result,
        h.appliedAt,
        formatAge(h.appliedAt, now),
        h.duration,
      ];
    });
    ctx.out(formatTable(['', 'REVISION', 'COMMIT', 'RESULT', 'AT', 'AGE', 'DURATION'], rows));
    return 0;
  },
};
