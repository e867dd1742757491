// One small file per provider: how it signs, names its events and delivery ids, and shapes a push.
import type { Provider, ProviderName } from '../types.ts';
import { bitbucket } from './bitbucket.ts';
import { bitbucketServer } from './bitbucket-server.ts';
import { distribution } from './distribution.ts';
import { generic } from './generic.ts';
import { gitea } from './gitea.ts';
import { github } from './github.ts';
import { gitlab } from './gitlab.ts';
import { harbor } from './harbor.ts';

export const providers: Readonly<Record<ProviderName, Provider>> = {
  github,
  gitlab,
  bitbucket,
  'bitbucket-server': bitbucketServer,
  gitea,
  generic,
  distribution,
  harbor,
};

/** URL path → provider: `/github`, `/gitlab`, `/bitbucket`, `/bitbucket-server`, `/gitea` (`/forgejo`), `/generic`;
 * OCI registries: `/distribution` (notification envelope), `/harbor`. */
export function providerForPath(path: string): Provider | undefined {
  const name = path.replace(/\/+$/, '').replace(/^\/+/, '');
  if (name === 'forgejo') return gitea;
  return (providers as Record<string, Provider>)[name];
}
