// `converge tree NAME`: the inventory (status.inventory) as namespace → kind → name, each with its health.
import { describeRef, inventoryEntries, parseObjectId, type KubeObject } from '../../api/index.ts';
import { assessHealth } from '../../health/index.ts';
import { mapLimit, resourcePath } from '../../kube/index.ts';
import { findCondition, shortRevision } from '../../report/index.ts';
import { requireName, type Command } from '../command.ts';
import { renderTree, type TreeObject } from '../format/tree.ts';
import { printObjects } from '../print.ts';

export const tree: Command = {
  name: 'tree',
  summary: 'the objects a GitSource applied, as a tree with each one’s health',
  usage: 'NAME [-o json|yaml]',
  description:
    'Reads the GitSource’s inventory (status.inventory: what the last apply recorded) and each object\n' +
    'live, and judges its health with the operator’s own rules (Current, InProgress, Failed, Unknown).\n' +
    'With spec.kubeConfig, the objects are read in that cluster.',
  flags: {},
  ignoresGlobal: ['all-namespaces'],
  examples: ['converge tree web -n apps'],
  async run(ctx, args) {
    const name = requireName(this, args);
    const gs = await ctx.getGitSource(name);
    // Objects live in the cluster the GitSource applies to (spec.kubeConfig).
    const client = await ctx.targetClient(gs);
    const entries = inventoryEntries(gs.status);
    const settled = await mapLimit(entries, 16, async (e): Promise<TreeObject> => {
      const ref = parseObjectId(e.id, e.v);
      const base = { namespace: ref.namespace, group: ref.group, kind: ref.kind, name: ref.name };
      const mapping = await client.mapper.tryMappingFor(ref);
      const live = mapping
        ? await client.getIfExists<KubeObject>(resourcePath(mapping, ref.namespace, ref.name), {
            signal: ctx.io.signal,
          })
        : undefined;
      if (!live) return { ...base, health: 'NotFound', message: mapping ? 'not found' : 'kind not served' };
      const h = assessHealth(live);
      // Health messages start with the object's name, which the tree already shows.
      const label = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}: `;
      return {
        ...base,
        health: h.status,
        message: h.message.startsWith(label) ? h.message.slice(label.length) : h.message,
      };
    });
    const objects = settled.map((r, i) => {
      if (r.status === 'fulfilled') return r.value;
      const ref = parseObjectId(entries[i]!.id, entries[i]!.v);
      const reason = r.reason instanceof Error ? r.reason.message : String(r.reason);
      return {
        namespace: ref.namespace,
        group: ref.group,
        kind: ref.kind,
        name: ref.name,
        health: 'Unknown' as const,
        message: `cannot read ${describeRef(ref)}: ${reason}`,
      };
    });
    const ready = findCondition(gs.status?.conditions, 'Ready');
    if (ctx.flags.output) {
      printObjects(ctx, ctx.flags.output, {
        gitsource: `${gs.metadata.namespace}/${gs.metadata.name}`,
        ready: ready ? { status: ready.status, reason: ready.reason, message: ready.message } : null,
        revision: gs.status?.lastAppliedRevision ?? null,
        cluster: gs.status?.cluster ?? null,
        objects,
      });
      return 0;
    }
    const root =
      `GitSource/${gs.metadata.namespace}/${gs.metadata.name}` +
      ` (Ready=${ready?.status ?? 'Unknown'}${ready?.reason ? ` ${ready.reason}` : ''},` +
      ` ${shortRevision(gs.status?.lastAppliedRevision)})` +
      (gs.status?.cluster
        ? ` in cluster ${gs.status.cluster.server} (context ${gs.status.cluster.context})`
        : '');
    ctx.out(renderTree(root, objects, ctx.io.stdout.isTTY === true));
    return 0;
  },
};
