// `converge diff NAME`: what applying the render would change in the live cluster (server-side dry-run); exit 0/1/2.
import { inventoryEntries, parseSpec } from '../../api/index.ts';
import { classifyObjects } from '../../hooks/index.ts';
import { planChanges } from '../../plan/index.ts';
import { CliError, requireName, type Command } from '../command.ts';
import { renderDesired, RENDER_FLAGS } from '../desired.ts';
import { renderChangeSet } from '../format/changes.ts';
import { describeChange } from '../../plan/index.ts';
import { describeRef } from '../../api/index.ts';
import { printObjects } from '../print.ts';

export const diff: Command = {
  name: 'diff',
  summary: 'what applying a render would change in the cluster (dry-run); exit 0 none, 1 changes, 2 error',
  usage: 'NAME [--path DIR] [--color|--no-color]',
  description:
    'Renders like `build`, then plans against the live cluster with the operator’s planner: a\n' +
    'server-side dry-run apply per existing object, compared with the live object. Prints a unified\n' +
    'diff per object that would be created or changed, then what would be pruned (objects in the\n' +
    'inventory that left Git). Secret values are masked. Runs with your credentials; no operator needed.\n' +
    'SOPS files are decrypted with local keys (--decryption-key, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY), never\n' +
    'the cluster’s key Secret; without keys the encrypted files are named and nothing is planned.\n' +
    'A GitSource with spec.kubeConfig is planned against that cluster, with the kubeconfig in its Secret.\n' +
    'Exit status: 0 no changes, 1 changes, 2 error (as `kubectl diff`) — usable as a pull-request check.',
  flags: {
    ...RENDER_FLAGS,
    color: {
      type: 'boolean',
      help: 'colour the diff even when stdout is not a terminal (--no-color: never)',
    },
  },
  ignoresGlobal: ['all-namespaces'],
  errorExitCode: 2,
  examples: [
    'converge diff web -n apps',
    'converge diff web -n apps --path ./clusters/prod   # in CI, on a pull request',
    'converge diff web -n apps --decryption-key ~/.config/sops/age/keys.txt',
  ],
  async run(ctx, args) {
    const name = requireName(this, args);
    const gs = await ctx.getGitSource(name);
    const parsed = parseSpec(gs.spec);
    if (!parsed.ok) throw new CliError(`gitsource ${gs.metadata.namespace}/${name}: ${parsed.error}`);
    const spec = parsed.spec;
    const desired = await renderDesired(ctx, gs, args.values, gs.metadata.namespace);
    // The cluster the GitSource applies to (spec.kubeConfig), as the operator plans there.
    const client = await ctx.targetClient(gs);
    // As the operator: Helm / Argo CD hooks run around a revision and are never planned.
    const managed = classifyObjects(desired.objects, { install: !gs.status?.lastAppliedRevision }).managed;
    const changeSet = await planChanges(client, client.mapper, managed, {
      owner: { name, namespace: gs.metadata.namespace },
      ignore: spec.ignore,
      inventory: inventoryEntries(gs.status),
      force: spec.force,
      withObjects: true,
      signal: ctx.io.signal,
    });
    // As the operator: with prune: false nothing that left Git is deleted.
    if (!spec.prune) changeSet.stale = [];
    const explicit = args.values.color;
    const color =
      typeof explicit === 'boolean' ? explicit : ctx.io.stdout.isTTY === true && !ctx.io.env.NO_COLOR;
    const rendered = renderChangeSet(changeSet, { color });
    if (ctx.flags.output) {
      printObjects(ctx, ctx.flags.output, {
        gitsource: `${gs.metadata.namespace}/${name}`,
        from: desired.from,
        changed: rendered.changed,
        summary: rendered.summary,
        objects: changeSet.objects
          .filter((o) => o.action !== 'unchanged')
          .map((o) => ({ object: describeRef(o.ref), action: o.action, change: describeChange(o) })),
        prune: changeSet.stale.filter((s) => !s.keep).map((s) => describeRef(s.ref)),
      });
    } else {
      ctx.out(rendered.text);
      ctx.out(`${rendered.summary}\n`);
    }
    return rendered.changed ? 1 : 0;
  },
};
