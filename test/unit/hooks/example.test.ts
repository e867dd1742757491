import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyObjects, wavesOf } from '../../../src/hooks/index.ts';
import { renderManifests } from '../../../src/render/index.ts';
import type { ChangeSet } from '../../../src/plan/index.ts';
import { refOf } from '../../../src/api/index.ts';
import { clientTools } from '../render/support.ts';

const root = path.join(import.meta.dirname, '..', '..', '..');

describe('examples/hooks', () => {
  it('renders into a PreSync hook, three waves and a PostSync hook, all in the GitSource namespace', async () => {
    const objects = await renderManifests({
      root,
      path: 'examples/hooks',
      targetNamespace: 'shop',
      tools: { kubectl: '/nonexistent', helm: '/nonexistent' },
    });
    const plan = classifyObjects(objects, { install: true });
    expect(plan.hooks.pre.map((h) => h.identity)).toEqual(['Job/shop/migrate-*']);
    expect(plan.hooks.post.map((h) => h.identity)).toEqual(['Job/shop/smoke-test']);
    const changeSet: ChangeSet = {
      owner: { name: 'shop', namespace: 'shop' },
      objects: plan.managed.map((o) => ({
        id: o.metadata.name,
        ref: refOf(o),
        action: 'create',
        object: o,
        force: false,
        createOnly: false,
      })),
      stale: [],
    };
    expect(
      wavesOf(changeSet).map((w) => [
        w.wave,
        w.changeSet.objects.map((o) => `${o.ref.kind}/${o.ref.namespace}/${o.ref.name}`),
      ]),
    ).toEqual([
      [-1, ['ConfigMap/shop/shop-config']],
      [0, ['Deployment/shop/shop']],
      [1, ['Service/shop/shop']],
    ]);
  });

  it('examples/helm-hooks: pre-install/upgrade migration, post-install notification, test hook skipped, release namespace', async () => {
    const objects = await renderManifests({
      root,
      path: 'examples/helm-hooks',
      targetNamespace: 'shop',
      helm: { releaseName: 'shop', namespace: 'shop', values: {} },
      tools: await clientTools(),
    });
    const install = classifyObjects(objects, { install: true });
    expect(install.managed.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'Deployment/shop/shop',
    ]);
    expect(install.hooks.pre.map((h) => h.identity)).toEqual(['Job/shop/shop-migrate']);
    expect(install.hooks.post.map((h) => h.identity)).toEqual(['Job/shop/shop-notify']);
    expect([...install.hooks.post[0]!.deletePolicies]).toEqual(['hook-succeeded']);
    const upgrade = classifyObjects(objects, { install: false });
    expect(upgrade.hooks.pre.map((h) => h.identity)).toEqual(['Job/shop/shop-migrate']);
  });
});
