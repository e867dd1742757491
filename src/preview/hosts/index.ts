// Pull-request hosts by spec.previews.provider.
import type { PreviewsSpec } from '../../api/index.ts';
import { bitbucket } from './bitbucket.ts';
import { gitea } from './gitea.ts';
import { github } from './github.ts';
import { gitlab } from './gitlab.ts';
import type { PreviewHost } from './types.ts';

export const HOSTS: Record<PreviewsSpec['provider'], PreviewHost> = { github, gitlab, gitea, bitbucket };
export * from './types.ts';
