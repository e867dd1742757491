// Pure diff rendering: the line diff, unified hunks, colour, and a ChangeSet as `converge diff` prints it.
import { describe, expect, it } from 'vitest';
import { renderChangeSet, toYaml } from '../../../src/cli/format/changes.ts';
import { colorizeDiff, diffLines, unifiedDiff } from '../../../src/cli/format/unified.ts';
import { comparedObjects, type ChangeSet, type PlannedObject } from '../../../src/plan/index.ts';
import type { KubeObject } from '../../../src/api/index.ts';

/** Applies a line diff to `a`: must give `b`. */
function applyDiff(lines: ReturnType<typeof diffLines>): { a: string[]; b: string[] } {
  return {
    a: lines.filter((l) => l.op !== '+').map((l) => l.text),
    b: lines.filter((l) => l.op !== '-').map((l) => l.text),
  };
}

describe('diffLines', () => {
  it('is a minimal edit script that turns a into b', () => {
    const a = 'a b c a b b a'.split(' ');
    const b = 'c b a b a c'.split(' ');
    const lines = diffLines(a, b);
    expect(applyDiff(lines)).toEqual({ a, b });
    // Myers' example: 5 edits.
    expect(lines.filter((l) => l.op !== ' ')).toHaveLength(5);
  });
  it('handles empty sides and equal inputs', () => {
    expect(diffLines([], ['x'])).toEqual([{ op: '+', text: 'x' }]);
    expect(diffLines(['x'], [])).toEqual([{ op: '-', text: 'x' }]);
    expect(diffLines(['x', 'y'], ['x', 'y']).every((l) => l.op === ' ')).toBe(true);
  });
  it('stays correct on random inputs', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 4;
    for (let i = 0; i < 50; i++) {
      const a = Array.from({ length: 20 }, () => String(rnd()));
      const b = Array.from({ length: 17 }, () => String(rnd()));
      expect(applyDiff(diffLines(a, b))).toEqual({ a, b });
    }
  });
});

describe('unifiedDiff', () => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n');
  it('prints diff -u hunks with three lines of context, separate hunks for distant changes', () => {
    const after = before.replace('line 2\n', 'line two\n').replace('line 18\n', 'line eighteen\n');
    expect(unifiedDiff(before, after, { from: 'a', to: 'b' })).toEqual([
      '--- a',
      '+++ b',
      '@@ -1,5 +1,5 @@',
      ' line 1',
      '-line 2',
      '+line two',
      ' line 3',
      ' line 4',
      ' line 5',
      '@@ -15,6 +15,6 @@',
      ' line 15',
      ' line 16',
      ' line 17',
      '-line 18',
      '+line eighteen',
      ' line 19',
      ' line 20',
    ]);
  });
  it('is empty for equal texts; a creation is one hunk from -0,0', () => {
    expect(unifiedDiff('a\n', 'a\n', { from: 'x', to: 'y' })).toEqual([]);
    expect(unifiedDiff('', 'a\nb\n', { from: 'x', to: 'y' }).slice(2)).toEqual([
      '@@ -0,0 +1,2 @@',
      '+a',
      '+b',
    ]);
  });
  it('colours removals red, additions green, hunks cyan', () => {
    const [h1, , hunk, minus, plus] = colorizeDiff(['--- a', '+++ b', '@@ -1 +1 @@', '-x', '+y']);
    expect(h1).toBe('\x1b[1m--- a\x1b[0m');
    expect(hunk).toContain('\x1b[36m');
    expect(minus).toBe('\x1b[31m-x\x1b[0m');
    expect(plus).toBe('\x1b[32m+y\x1b[0m');
  });
});

const cm = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps', resourceVersion: '5', uid: 'u' },
  data,
});

function planned(p: Partial<PlannedObject> & Pick<PlannedObject, 'action'>): PlannedObject {
  return {
    id: 'x',
    ref: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'web' },
    object: cm('web', {}),
    force: false,
    createOnly: false,
    ...p,
  };
}

describe('renderChangeSet', () => {
  it('prints a diff per created or changed object, the prune list and a summary; unchanged ones not at all', () => {
    const changeSet: ChangeSet = {
      owner: { name: 'web', namespace: 'apps' },
      objects: [
        planned({
          action: 'configure',
          compared: comparedObjects(cm('web', { a: '1' }), cm('web', { a: '2' })),
        }),
        planned({
          action: 'create',
          ref: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'new' },
          compared: comparedObjects(undefined, cm('new', { b: '1' })),
        }),
        planned({
          action: 'unchanged',
          ref: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'same' },
        }),
      ],
      stale: [
        {
          id: 'apps_old__ConfigMap',
          ref: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'old' },
        },
        {
          id: 'apps_keep__ConfigMap',
          ref: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'keep' },
          keep: 'gitops.converge.dev/prune: disabled',
        },
      ],
    };
    const out = renderChangeSet(changeSet, { color: false });
    expect(out.changed).toBe(true);
    expect(out.summary).toBe('1 to create, 1 to configure, 1 to prune, 1 unchanged');
    expect(out.text).toContain('--- ConfigMap/apps/web (live)\n+++ ConfigMap/apps/web (after apply)\n');
    expect(out.text).toContain("-  a: '1'\n+  a: '2'\n");
    expect(out.text).toContain('--- ConfigMap/apps/new (absent)');
    expect(out.text).toContain('+kind: ConfigMap');
    expect(out.text).toContain('Would prune (no longer in Git):\n- ConfigMap/apps/old\n');
    expect(out.text).toContain('ConfigMap/apps/keep (gitops.converge.dev/prune: disabled)');
    expect(out.text).not.toContain('same');
    expect(out.text).not.toContain('resourceVersion');
  });
  it('says no changes when everything is in sync', () => {
    const out = renderChangeSet(
      { owner: { name: 'w', namespace: 'a' }, objects: [planned({ action: 'unchanged' })], stale: [] },
      { color: true },
    );
    expect(out).toEqual({ text: '', changed: false, summary: 'no changes (1 object(s) in sync)' });
  });
  it('never shows Secret values: unchanged ones as ***, changed ones as *** (before) / *** (after)', () => {
    const secret = (data: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 's',
        namespace: 'apps',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"c2VjcmV0"}}',
        },
      },
      data,
    });
    const compared = comparedObjects(
      secret({ password: 'c2VjcmV0', user: 'YWRtaW4=' }),
      secret({ password: 'bmV3', user: 'YWRtaW4=' }),
      [],
      true,
    );
    const text = toYaml(compared.live) + toYaml(compared.after);
    expect(text).not.toMatch(/c2VjcmV0|bmV3|YWRtaW4/);
    expect(compared.live!.data).toEqual({ password: '*** (before)', user: '***' });
    expect(compared.after.data).toEqual({ password: '*** (after)', user: '***' });
  });
  it('orders keys as manifests are written: apiVersion, kind, metadata, then the rest', () => {
    expect(toYaml({ data: { a: '1' }, metadata: { name: 'x' }, kind: 'ConfigMap', apiVersion: 'v1' })).toBe(
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: '1'\n",
    );
  });
});
