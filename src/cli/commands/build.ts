// `converge build`: the manifests exactly as the operator renders them, from a GitSource's revision or a local directory.
import { CliError, str, type Command } from '../command.ts';
import { renderDesired, RENDER_FLAGS } from '../desired.ts';
import { toYaml } from '../format/changes.ts';
import { asList, printObjects } from '../print.ts';

export const build: Command = {
  name: 'build',
  summary: 'print the manifests as the operator renders them (GitSource revision or --path DIR)',
  usage: 'NAME [--path DIR] | --path DIR [--gitsource NAME]',
  description:
    'Renders with the operator’s own renderer: kustomize, Helm chart or plain YAML, then ${VAR}\n' +
    'substitution, include/exclude and the target namespace from the GitSource’s spec. Without --path\n' +
    'the GitSource’s revision (status.revision) is fetched into a temporary directory. With --path\n' +
    'alone, no cluster is needed: namespaced objects without a namespace go to -n (default: default).\n' +
    'SOPS files are decrypted with local keys (--decryption-key FILE, repeatable; SOPS_AGE_KEY_FILE;\n' +
    'SOPS_AGE_KEY; ~/.config/sops/age/keys.txt); without keys, build names the encrypted files and fails.',
  flags: {
    ...RENDER_FLAGS,
    gitsource: {
      type: 'string',
      value: 'NAME',
      help: 'take spec settings from this GitSource (same as NAME)',
    },
  },
  ignoresGlobal: ['all-namespaces'],
  examples: [
    'converge build web -n apps',
    'converge build web -n apps --path ./clusters/prod',
    'converge build --path ./clusters/prod -n apps -o json',
    'SOPS_AGE_KEY_FILE=age.agekey converge build --path ./apps',
  ],
  async run(ctx, args) {
    const [positional, extra] = args.positionals;
    if (extra) throw new CliError(`build: unexpected argument "${extra}"`, 2);
    const flagName = str(args.values, 'gitsource');
    if (positional && flagName && positional !== flagName)
      throw new CliError(`build: NAME ${positional} and --gitsource ${flagName} differ`, 2);
    const name = positional ?? flagName;
    if (!name && str(args.values, 'path') === undefined)
      throw new CliError(`build: give a GitSource NAME or --path DIR (usage: build ${this.usage})`, 2);
    const gs = name ? await ctx.getGitSource(name) : undefined;
    const namespace = gs ? gs.metadata.namespace : ctx.namespaceWithoutCluster();
    const desired = await renderDesired(ctx, gs, args.values, namespace);
    if (ctx.flags.output === 'json') printObjects(ctx, 'json', asList(desired.objects));
    else ctx.out(desired.objects.map((o) => `---\n${toYaml(o)}`).join(''));
    ctx.err(`# ${desired.objects.length} object(s) rendered from ${desired.from}\n`);
    return 0;
  },
};
