// renderInputFor: the one spec → render input mapping shared by the operator and `converge build/diff`.
import { describe, expect, it } from 'vitest';
import { GitSourceSpecSchema } from '../../../src/api/index.ts';
import { renderInputFor } from '../../../src/render/index.ts';

const tools = { kubectl: '/bin/kubectl', helm: '/bin/helm' };

describe('renderInputFor', () => {
  it('takes path, globs, substitution, target namespace and the Helm release from the spec', () => {
    const spec = GitSourceSpecSchema.parse({
      url: 'https://x/y.git',
      path: './clusters/prod',
      include: ['**/*.yaml'],
      exclude: ['**/test/**'],
      substitute: { CLUSTER: 'prod' },
      targetNamespace: 'web',
      helm: { values: { replicas: 2 }, releaseName: 'site' },
    });
    expect(renderInputFor({ name: 'web', namespace: 'apps', spec }, '/checkout', tools)).toEqual({
      root: '/checkout',
      path: './clusters/prod',
      include: ['**/*.yaml'],
      exclude: ['**/test/**'],
      substitute: { CLUSTER: 'prod' },
      targetNamespace: 'web',
      helm: { values: { replicas: 2 }, releaseName: 'site', namespace: 'web' },
      tools,
    });
  });
  it('defaults the target namespace and release to the GitSource (DESIGN: "else the GitSource namespace")', () => {
    const spec = GitSourceSpecSchema.parse({ url: 'https://x/y.git' });
    const input = renderInputFor({ name: 'web', namespace: 'apps', spec }, '/checkout', tools, {
      path: 'local',
    });
    expect(input).toMatchObject({
      path: 'local',
      targetNamespace: 'apps',
      helm: { values: {}, releaseName: 'web', namespace: 'apps' },
    });
  });
});
