// `converge suspend NAME` / `converge resume NAME`: patch spec.suspend (resume also asks for a reconcile now).
import { ANNOTATION_REQUESTED_AT } from '../../api/index.ts';
import { requireName, type Command } from '../command.ts';

export const suspend: Command = {
  name: 'suspend',
  summary: 'stop reconciling a GitSource (spec.suspend: true), e.g. during an incident',
  usage: 'NAME',
  description:
    'Sets spec.suspend: true. The operator stops fetching, applying, correcting drift and pruning for\n' +
    'this GitSource (Ready=False Suspended) until `resume`. Objects already applied stay as they are.',
  flags: {},
  ignoresGlobal: ['all-namespaces', 'output'],
  examples: ['converge suspend web -n apps'],
  async run(ctx, args) {
    const name = requireName(this, args);
    const namespace = ctx.namespace();
    await ctx.patchGitSource(name, { spec: { suspend: true } }, namespace);
    ctx.out(`✔ ${namespace}/${name} suspended; ${ctx.io.prog} resume ${name} -n ${namespace} to continue\n`);
    return 0;
  },
};

export const resume: Command = {
  name: 'resume',
  summary: 'resume a suspended GitSource and reconcile it now',
  usage: 'NAME',
  description:
    'Sets spec.suspend: false and the requested-at annotation, so the operator reconciles at once.',
  flags: {},
  ignoresGlobal: ['all-namespaces', 'output'],
  examples: [
    'converge resume web -n apps',
    'converge resume web -n apps && converge reconcile web -n apps --wait',
  ],
  async run(ctx, args) {
    const name = requireName(this, args);
    const namespace = ctx.namespace();
    const at = ctx.io.now().toISOString();
    await ctx.patchGitSource(
      name,
      { spec: { suspend: false }, metadata: { annotations: { [ANNOTATION_REQUESTED_AT]: at } } },
      namespace,
    );
    ctx.out(`✔ ${namespace}/${name} resumed; reconcile requested\n`);
    return 0;
  },
};
