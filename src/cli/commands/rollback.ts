// `converge rollback NAME [--to REV]` pins spec.ref to an earlier applied commit (a chart's
// spec.chart.version to its exact version); `resume-tracking NAME` undoes it.
import { ANNOTATION_ROLLBACK_FROM, GitRefSchema, type GitRef } from '../../api/index.ts';
import { CliError, requireName, str, type Command } from '../command.ts';
import { chartVersionOf } from '../format/gitsource.ts';
import { rollbackTarget } from '../history.ts';

/** What the rollback annotation keeps for a chart: its version range, and the values' ref with url. */
interface SavedChart {
  chart: { version: string };
  ref?: GitRef | undefined;
}

function savedChart(text: string): SavedChart | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<SavedChart>;
    return typeof parsed.chart?.version === 'string' ? (parsed as SavedChart) : undefined;
  } catch {
    return undefined;
  }
}

function describeRefSpec(ref: GitRef | undefined): string {
  if (!ref) return 'branch main';
  if (ref.branch) return `branch ${ref.branch}`;
  if (ref.tag) return `tag ${ref.tag}`;
  if (ref.semver) return `semver ${ref.semver}`;
  return `commit ${ref.commit?.slice(0, 7)}`;
}

/** A merge patch that replaces spec.ref by `ref` (null clears the other keys). */
function refPatch(ref: GitRef): Record<string, string | null> {
  return {
    branch: ref.branch ?? null,
    tag: ref.tag ?? null,
    semver: ref.semver ?? null,
    commit: ref.commit ?? null,
  };
}

export const rollback: Command = {
  name: 'rollback',
  summary: 'pin a GitSource to an earlier applied revision (incident escape hatch)',
  usage: 'NAME [--to REVISION]',
  description:
    'Sets spec.ref to {commit: <sha>} of an earlier applied revision from status.history (default:\n' +
    'the newest one with a different commit than the applied one), and keeps the original ref in the\n' +
    `annotation ${ANNOTATION_ROLLBACK_FROM}. The operator applies that commit and stays there, ignoring\n` +
    'new commits, until `resume-tracking` restores the original ref. Prefer a revert commit in Git\n' +
    'when you can: it keeps Git the truth.\n' +
    'For a chart (spec.chart), it sets spec.chart.version to the exact version of that revision (and\n' +
    'spec.ref to its values commit when spec.url is set); resume-tracking restores the range.',
  flags: {
    to: {
      type: 'string',
      value: 'REVISION',
      help: 'revision (main@sha1:…) or commit SHA prefix from `history`',
    },
  },
  ignoresGlobal: ['all-namespaces', 'output'],
  examples: [
    'converge rollback web -n apps',
    'converge rollback web -n apps --to 4f2c1a0',
    'converge resume-tracking web -n apps',
  ],
  async run(ctx, args) {
    const name = requireName(this, args);
    const namespace = ctx.namespace();
    const gs = await ctx.getGitSource(name, namespace);
    const target = rollbackTarget(gs.status, str(args.values, 'to'));
    if (!target.ok) throw new CliError(`cannot roll back ${namespace}/${name}: ${target.error}`);
    const current = gs.spec?.ref;
    const saved = gs.metadata.annotations?.[ANNOTATION_ROLLBACK_FROM];
    const chart = gs.spec?.chart;
    if (chart) {
      const version = chartVersionOf(target.entry.revision);
      if (!version)
        throw new CliError(
          `cannot roll back ${namespace}/${name}: ${target.entry.revision} is not a chart revision`,
        );
      const sha = /\+.*sha1:([0-9a-f]{40})$/.exec(target.entry.revision)?.[1];
      const keep: SavedChart = {
        chart: { version: chart.version ?? '*' },
        ...(gs.spec?.url ? { ref: current ?? { branch: 'main' } } : {}),
      };
      await ctx.patchGitSource(
        name,
        {
          metadata: {
            annotations: { [ANNOTATION_ROLLBACK_FROM]: saved ?? JSON.stringify(keep) },
            ...(gs.metadata.resourceVersion ? { resourceVersion: gs.metadata.resourceVersion } : {}),
          },
          spec: { chart: { version }, ...(sha && gs.spec?.url ? { ref: refPatch({ commit: sha }) } : {}) },
        },
        namespace,
      );
      const from = savedChart(saved ?? JSON.stringify(keep))?.chart.version ?? '*';
      ctx.out(
        `✔ ${namespace}/${name} pinned to chart ${chart.name} ${version}${sha ? ` with values at commit ${sha.slice(0, 7)}` : ''} (${target.entry.revision}, applied ${target.entry.appliedAt})\n` +
          `  It no longer follows version ${JSON.stringify(from)}. To return: ${ctx.io.prog} resume-tracking ${name} -n ${namespace}\n`,
      );
      return 0;
    }
    // A second rollback keeps the ref saved by the first: resume-tracking returns to the branch, not to a pin.
    const original = saved ?? JSON.stringify(current ?? { branch: 'main' });
    await ctx.patchGitSource(
      name,
      {
        metadata: {
          annotations: { [ANNOTATION_ROLLBACK_FROM]: original },
          ...(gs.metadata.resourceVersion ? { resourceVersion: gs.metadata.resourceVersion } : {}),
        },
        spec: { ref: refPatch({ commit: target.commit }) },
      },
      namespace,
    );
    const back = describeRefSpec(GitRefSchema.safeParse(JSON.parse(original)).data);
    ctx.out(
      `✔ ${namespace}/${name} pinned to commit ${target.commit.slice(0, 7)} (${target.entry.revision}, applied ${target.entry.appliedAt})\n` +
        `  It no longer follows ${back}. To return: ${ctx.io.prog} resume-tracking ${name} -n ${namespace}\n`,
    );
    return 0;
  },
};

export const resumeTracking: Command = {
  name: 'resume-tracking',
  summary: 'undo a rollback: restore the ref the GitSource followed before',
  usage: 'NAME',
  description: `Restores spec.ref from the annotation ${ANNOTATION_ROLLBACK_FROM} written by \`rollback\`, and removes it.`,
  flags: {},
  ignoresGlobal: ['all-namespaces', 'output'],
  examples: ['converge resume-tracking web -n apps'],
  async run(ctx, args) {
    const name = requireName(this, args);
    const namespace = ctx.namespace();
    const gs = await ctx.getGitSource(name, namespace);
    const saved = gs.metadata.annotations?.[ANNOTATION_ROLLBACK_FROM];
    if (saved === undefined)
      throw new CliError(
        `gitsource ${namespace}/${name} is not rolled back (no ${ANNOTATION_ROLLBACK_FROM} annotation)`,
      );
    const chart = savedChart(saved);
    if (chart && gs.spec?.chart) {
      await ctx.patchGitSource(
        name,
        {
          metadata: {
            annotations: { [ANNOTATION_ROLLBACK_FROM]: null },
            ...(gs.metadata.resourceVersion ? { resourceVersion: gs.metadata.resourceVersion } : {}),
          },
          spec: {
            chart: { version: chart.chart.version },
            ...(chart.ref ? { ref: refPatch(chart.ref) } : {}),
          },
        },
        namespace,
      );
      ctx.out(`✔ ${namespace}/${name} follows chart version ${JSON.stringify(chart.chart.version)} again\n`);
      return 0;
    }
    let ref: GitRef;
    try {
      ref = GitRefSchema.parse(JSON.parse(saved));
    } catch {
      throw new CliError(
        `gitsource ${namespace}/${name}: annotation ${ANNOTATION_ROLLBACK_FROM} is not a ref (${saved.slice(0, 80)}); set spec.ref by hand`,
      );
    }
    await ctx.patchGitSource(
      name,
      {
        metadata: {
          annotations: { [ANNOTATION_ROLLBACK_FROM]: null },
          ...(gs.metadata.resourceVersion ? { resourceVersion: gs.metadata.resourceVersion } : {}),
        },
        spec: { ref: refPatch(ref) },
      },
      namespace,
    );
    ctx.out(`✔ ${namespace}/${name} follows ${describeRefSpec(ref)} again\n`);
    return 0;
  },
};
