// The preview comment: marker first, summary, objects grouped by change with a diff each, Secret values
// as the planner masked them, prune list, errors shown as text, and a hard cut at the host's limit.
import { describe, expect, it } from 'vitest';
import type { ChangeSet, PlannedObject } from '../../../src/plan/index.ts';
import { commentMarker, renderComment } from '../../../src/preview/index.ts';

const HEAD = 'abcdef1234567890abcdef1234567890abcdef12';

function planned(
  kind: string,
  name: string,
  action: PlannedObject['action'],
  live?: object,
  after?: object,
): PlannedObject {
  const object = { apiVersion: 'v1', kind, metadata: { name, namespace: 'apps' } };
  return {
    id: `apps_${name}__${kind}`,
    ref: { group: '', version: 'v1', kind, namespace: 'apps', name },
    action,
    object,
    force: false,
    createOnly: false,
    ...(action === 'configure' ? { changes: [{ path: '/data/x', from: '1', to: '2' }] } : {}),
    compared: { live: live as never, after: (after ?? object) as never },
  } as PlannedObject;
}

const changeSet = (objects: PlannedObject[], stale: ChangeSet['stale'] = []): ChangeSet => ({
  owner: { name: 'web', namespace: 'apps' },
  objects,
  stale,
});

describe('renderComment', () => {
  it('starts with the marker and groups creates, configures and prunes with their diffs', () => {
    const body = renderComment({
      namespace: 'apps',
      name: 'web',
      head: HEAD,
      changeSet: changeSet(
        [
          planned('ConfigMap', 'new', 'create'),
          planned('ConfigMap', 'conf', 'configure', { data: { x: '1' } }, { data: { x: '2' } }),
          planned(
            'Secret',
            'creds',
            'configure',
            { data: { password: '***' } },
            { data: { password: '*** (changed)' } },
          ),
          planned('ConfigMap', 'same', 'unchanged'),
        ],
        [
          {
            id: 'apps_old__ConfigMap',
            ref: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'old' },
          },
        ],
      ),
      maxLength: 65_536,
    });
    expect(body.startsWith(commentMarker('apps', 'web'))).toBe(true);
    expect(body).toContain('`abcdef1`');
    expect(body).toContain('**1 to create, 2 to configure, 1 to prune**');
    expect(body).toContain('#### Create (1)');
    expect(body).toContain('#### Configure (2)');
    expect(body).toContain('#### Prune (1)');
    expect(body).toContain("-  x: '1'");
    expect(body).toContain("+  x: '2'");
    expect(body).toContain("password: '***'");
    expect(body).not.toContain('same');
  });

  it('cuts long diffs to the limit and says how many changes were left out', () => {
    const big = Array.from({ length: 200 }, (_, i) =>
      planned('ConfigMap', `cm-${i}`, 'create', undefined, { data: { blob: 'x'.repeat(500) } }),
    );
    const body = renderComment({
      namespace: 'apps',
      name: 'web',
      head: HEAD,
      changeSet: changeSet(big),
      maxLength: 20_000,
    });
    expect(body.length).toBeLessThanOrEqual(20_000);
    const left = /_(\d+) more change\(s\) left out/.exec(body);
    expect(Number(left?.[1])).toBeGreaterThan(100);
    expect(body).toContain('#### Create (200)');
  });

  it('shows a render failure as text, with no diff', () => {
    const body = renderComment({
      namespace: 'apps',
      name: 'web',
      head: HEAD,
      error: 'app/broken.yaml: line 3: bad indentation',
      maxLength: 65_536,
    });
    expect(body).toContain('The head cannot be applied');
    expect(body).toContain('app/broken.yaml: line 3');
    expect(body).not.toContain('to create');
  });

  it('keeps a diff line holding ``` inside its block', () => {
    const body = renderComment({
      namespace: 'apps',
      name: 'web',
      head: HEAD,
      changeSet: changeSet([
        planned('ConfigMap', 'md', 'create', undefined, { data: { readme: '```\nrm -rf /\n```' } }),
      ]),
      maxLength: 65_536,
    });
    expect(body).toContain('~~~~diff');
  });
});
