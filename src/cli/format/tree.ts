// The inventory as a tree (namespace → kind → name) with each object's health: pure text rendering.
import type { HealthStatus } from '../../health/index.ts';
import { paint } from './unified.ts';

export interface TreeObject {
  namespace: string;
  group: string;
  kind: string;
  name: string;
  health: HealthStatus | 'NotFound';
  /** The health rule's detail, without the object's name. */
  message: string;
}

const GLYPH: Record<TreeObject['health'], { mark: string; colour: 'green' | 'red' | 'cyan' }> = {
  Current: { mark: '✓', colour: 'green' },
  InProgress: { mark: '…', colour: 'cyan' },
  Failed: { mark: '✗', colour: 'red' },
  Unknown: { mark: '?', colour: 'cyan' },
  NotFound: { mark: '✗', colour: 'red' },
};

/** `Deployment.apps`, `ConfigMap`: the kind with its group, as kubectl names resources. */
export function kindLabel(o: Pick<TreeObject, 'kind' | 'group'>): string {
  return o.group ? `${o.kind}.${o.group}` : o.kind;
}

/** Cluster-scoped objects first under `(cluster)`, then each namespace; kinds and names sorted. */
export function renderTree(root: string, objects: readonly TreeObject[], color = false): string {
  const byNs = new Map<string, Map<string, TreeObject[]>>();
  for (const o of objects) {
    const ns = o.namespace || '(cluster)';
    const kinds = byNs.get(ns) ?? new Map<string, TreeObject[]>();
    const list = kinds.get(kindLabel(o)) ?? [];
    list.push(o);
    kinds.set(kindLabel(o), list);
    byNs.set(ns, kinds);
  }
  const namespaces = [...byNs.keys()].sort((a, b) =>
    a === '(cluster)' ? -1 : b === '(cluster)' ? 1 : a.localeCompare(b),
  );
  const lines = [root];
  if (objects.length === 0) lines.push('└── (no objects in the inventory)');
  namespaces.forEach((ns, i) => {
    const lastNs = i === namespaces.length - 1;
    lines.push(`${lastNs ? '└── ' : '├── '}${ns}`);
    const kinds = byNs.get(ns)!;
    const kindNames = [...kinds.keys()].sort();
    kindNames.forEach((kind, j) => {
      const lastKind = j === kindNames.length - 1;
      const p1 = lastNs ? '    ' : '│   ';
      lines.push(`${p1}${lastKind ? '└── ' : '├── '}${kind}`);
      const items = [...kinds.get(kind)!].sort((a, b) => a.name.localeCompare(b.name));
      const width = Math.max(...items.map((o) => o.name.length));
      items.forEach((o, k) => {
        const p2 = `${p1}${lastKind ? '    ' : '│   '}`;
        const g = GLYPH[o.health];
        const status = paint(`${g.mark} ${o.health}`, g.colour, color);
        const detail = o.health === 'Current' || !o.message ? '' : `: ${o.message}`;
        lines.push(
          `${p2}${k === items.length - 1 ? '└── ' : '├── '}${o.name.padEnd(width)}  ${status}${detail}`,
        );
      });
    });
  });
  return `${lines.join('\n')}\n`;
}
