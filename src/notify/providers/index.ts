// Every provider by type: one small file each, pure functions from a notification to an HTTP request.
import type { NotifierType } from '../../api/index.ts';
import type { Provider } from '../types.ts';
import { bitbucket } from './bitbucket.ts';
import { bitbucketserver } from './bitbucketserver.ts';
import { gitea } from './gitea.ts';
import { github } from './github.ts';
import { gitlab } from './gitlab.ts';
import { msteams } from './msteams.ts';
import { opsgenie } from './opsgenie.ts';
import { pagerduty } from './pagerduty.ts';
import { slack } from './slack.ts';
import { webhook } from './webhook.ts';

export const PROVIDERS: Record<NotifierType, Provider> = {
  slack,
  msteams,
  opsgenie,
  pagerduty,
  webhook,
  github,
  gitlab,
  bitbucket,
  bitbucketserver,
  gitea,
};

export const INCIDENT_TYPES: ReadonlySet<NotifierType> = new Set(['opsgenie', 'pagerduty']);
export const COMMIT_STATUS_TYPES: ReadonlySet<NotifierType> = new Set([
  'github',
  'gitlab',
  'bitbucket',
  'bitbucketserver',
  'gitea',
]);

export { signBody, SIGNATURE_HEADER } from './webhook.ts';
export { bitbucketKey } from './bitbucket.ts';
