// The Notifier API (gitops.converge.dev/v1alpha1): where GitSource transitions are sent; zod is the
// source of truth and crds/notifier.yaml is generated from it by `npm run generate`.
import { z } from 'zod';
import { API_VERSION, ConditionSchema, DURATION_PATTERN } from './gitsource.ts';

export const NOTIFIER_KIND = 'Notifier';
export const NOTIFIER_PLURAL = 'notifiers';

export const NOTIFIER_TYPES = [
  'slack',
  'msteams',
  'opsgenie',
  'pagerduty',
  'webhook',
  'github',
  'gitlab',
  'bitbucket',
  'bitbucketserver',
  'gitea',
] as const;
export type NotifierType = (typeof NOTIFIER_TYPES)[number];

/** What a Notifier can be told about a GitSource: one per condition transition. */
export const NOTIFY_EVENTS = [
  'Changed',
  'Diverged',
  'Converged',
  'Failed',
  'Recovered',
  'DriftCorrected',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export const NotifierSpecSchema = z
  .object({
    type: z.enum(NOTIFIER_TYPES).meta({ description: 'Where notifications go.' }),
    address: z
      .string()
      .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
      .max(2048)
      .optional()
      .meta({
        description:
          "API base or webhook URL; defaults to the service's public API, or for self-hostable Git hosts to the GitSource URL's host. The Secret's `address` key wins.",
      }),
    secretRef: z
      .object({ name: z.string().min(1).max(253) })
      .optional()
      .meta({
        description:
          'Secret read at send time: token, address (webhook URL), username+password, or key (HMAC), per type.',
      }),
    sources: z
      .object({
        matchLabels: z
          .record(z.string(), z.string())
          .optional()
          .meta({ description: 'GitSources of this namespace whose labels include all of these.' }),
      })
      .optional()
      .meta({ description: 'Which GitSources of this namespace to tell about; empty selects all.' }),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .optional()
      .meta({ description: 'Which transitions to send; the default depends on the type.' }),
    flapWindow: z
      .string()
      .max(32)
      .regex(new RegExp(DURATION_PATTERN), 'must be a Go duration such as 30s, 5m or 1h')
      .optional()
      .meta({
        description:
          'A GitSource that repeats an event within this window is summarised in one message at its end (default 2m).',
      }),
    suspend: z.boolean().default(false).meta({ description: 'Send nothing while true.' }),
  })
  .meta({ description: 'Where GitSource transitions are sent and which ones.' });

export const DeliverySchema = z.object({
  time: z.string(),
  source: z.string().meta({ description: 'namespace/name of the GitSource' }),
  event: z.string(),
  revision: z.string().optional(),
  result: z.enum(['Delivered', 'Failed']),
  message: z.string(),
});

export const IncidentSchema = z.object({
  source: z.string().meta({ description: 'namespace/name of the GitSource' }),
  key: z.string().meta({ description: 'Opsgenie alias or PagerDuty dedup_key' }),
});

export const NotifierStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  conditions: z.array(ConditionSchema).optional(),
  lastDelivery: DeliverySchema.optional(),
  failedDeliveries: z.number().int().optional(),
  openIncidents: z
    .array(IncidentSchema)
    .optional()
    .meta({ description: 'Incidents opened and not yet closed, so a restart still closes them.' }),
});

export type NotifierSpec = z.infer<typeof NotifierSpecSchema>;
export type NotifierStatus = z.infer<typeof NotifierStatusSchema>;
export type Delivery = z.infer<typeof DeliverySchema>;
export type Incident = z.infer<typeof IncidentSchema>;

export interface Notifier {
  apiVersion: typeof API_VERSION;
  kind: typeof NOTIFIER_KIND;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  spec: NotifierSpec;
  status?: NotifierStatus;
}

export function parseNotifierSpec(
  raw: unknown,
): { ok: true; spec: NotifierSpec } | { ok: false; error: string } {
  const result = NotifierSpecSchema.safeParse(raw ?? {});
  if (result.success) return { ok: true, spec: result.data };
  const issue = result.error.issues[0]!;
  return { ok: false, error: `spec.${issue.path.join('.')}: ${issue.message}` };
}
