// The pull-request comment of a preview: objects grouped by change, a field-level diff each, Secret
// values masked (the planner's compared objects), cut to the host's limit with a count of what was left out.
import { describeRef } from '../api/index.ts';
import { objectDiff } from '../cli/index.ts';
import { describeChange, summarize, type ChangeSet } from '../plan/index.ts';

/** Hidden first line that finds this GitSource's comment again (one comment per GitSource per pull request). */
export function commentMarker(namespace: string, name: string): string {
  return `<!-- converge-preview ${namespace}/${name} -->`;
}

export interface CommentInput {
  namespace: string;
  name: string;
  head: string;
  /** What the head renders to, planned against the live cluster; absent when it failed. */
  changeSet?: ChangeSet | undefined;
  /** The render or plan error (already free of secrets), when it failed. */
  error?: string | undefined;
  /** Deploy mode: where and how the preview runs. */
  deployment?: string | undefined;
  maxLength: number;
}

/** "2 to create, 1 to configure, 1 to prune" (or "no changes"). */
export function previewSummary(changeSet: ChangeSet): string {
  const s = summarize(changeSet);
  if (s.created + s.configured + s.pruned === 0) return `no changes (${s.objects} object(s) in sync)`;
  return `${s.created} to create, ${s.configured} to configure, ${s.pruned} to prune`;
}

const fence = (lines: string[]) => {
  // A diff line holding ``` must not close the block early.
  const ticks = lines.some((l) => l.includes('```')) ? '~~~~' : '```';
  return [`${ticks}diff`, ...lines, ticks];
};

/** The comment body, never longer than `maxLength`. */
export function renderComment(input: CommentInput): string {
  const head = [
    commentMarker(input.namespace, input.name),
    `### Converge preview of \`${input.namespace}/${input.name}\` at \`${input.head.slice(0, 7)}\``,
    '',
  ];
  if (input.error !== undefined || !input.changeSet) {
    head.push(
      '**The head cannot be applied.**',
      '',
      fence([input.error ?? 'unknown error'])
        .join('\n')
        .replace(/^```diff/, '```text'),
    );
    return cut(head.join('\n'), input.maxLength);
  }
  const cs = input.changeSet;
  head.push(`**${previewSummary(cs)}** (server-side dry-run against the live cluster)`);
  if (input.deployment) head.push('', input.deployment);
  const groups: Array<[string, string[][]]> = [
    ['Create', []],
    ['Configure', []],
  ];
  for (const planned of cs.objects) {
    if (planned.action === 'unchanged') continue;
    const lines = objectDiff(planned, false);
    const title = describeChange(planned);
    groups[planned.action === 'create' ? 0 : 1]![1].push([title, ...lines]);
  }
  const prune = cs.stale.filter((s) => !s.keep).map((s) => describeRef(s.ref));
  const footer = '\n\n<sub>Posted by Converge; edited on every push to this pull request.</sub>';
  let body = head.join('\n');
  let omitted = 0;
  const budget = input.maxLength - footer.length - 200;
  for (const [label, items] of groups) {
    if (items.length === 0) continue;
    let section = `\n\n#### ${label} (${items.length})\n`;
    for (const [title, ...lines] of items) {
      const block = `\n<details><summary>${escapeHtml(title!)}</summary>\n\n${fence(lines).join('\n')}\n</details>\n`;
      if (body.length + section.length + block.length > budget) {
        omitted++;
        continue;
      }
      section += block;
    }
    body += section;
  }
  if (prune.length > 0) {
    let section = `\n\n#### Prune (${prune.length})\n`;
    for (const p of prune) {
      const line = `- \`${p}\`\n`;
      if (body.length + section.length + line.length > budget) {
        omitted++;
        continue;
      }
      section += line;
    }
    body += section;
  }
  if (omitted > 0)
    body += `\n\n_${omitted} more change(s) left out to fit the comment; run \`converge diff\` for all._`;
  return cut(body + footer, input.maxLength);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 20)}\n\n_(cut to fit)_`;
}
