// The ImagePolicy API (gitops.converge.dev/v1alpha1): which tag of an image is the latest; zod is the
// source of truth and crds/imagepolicy.yaml is generated from it by `npm run generate`.
import { z } from 'zod';
import { API_VERSION, ConditionSchema, DURATION_PATTERN } from './gitsource.ts';

export const IMAGE_POLICY_KIND = 'ImagePolicy';
export const IMAGE_POLICY_PLURAL = 'imagepolicies';

const order = z
  .enum(['asc', 'desc'])
  .default('asc')
  .meta({ description: 'asc picks the highest value, desc the lowest (default asc).' });

export const ImagePolicyChoiceSchema = z
  .object({
    semver: z
      .object({
        range: z.string().min(1).max(256).meta({ description: 'Semver range, e.g. ">=1.0.0 <2.0.0".' }),
      })
      .optional()
      .meta({ description: 'The highest tag that is a semantic version inside range.' }),
    alphabetical: z
      .object({ order })
      .optional()
      .meta({ description: 'The last tag in alphabetical order (e.g. RFC 3339 timestamps).' }),
    numerical: z
      .object({ order })
      .optional()
      .meta({ description: 'The highest number (e.g. a build number or Unix time extracted from the tag).' }),
  })
  .meta({
    description: 'How the latest tag is chosen: exactly one of semver, alphabetical or numerical.',
    'x-kubernetes-validations': [
      {
        rule: '[has(self.semver), has(self.alphabetical), has(self.numerical)].filter(x, x).size() == 1',
        message: 'exactly one of semver, alphabetical or numerical must be set',
      },
    ],
  });

export const ImagePolicySpecSchema = z
  .object({
    image: z
      .string()
      .min(1)
      .max(512)
      .regex(
        /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/,
        'must be an image name without tag or digest, e.g. registry.example.com/team/web',
      )
      .meta({ description: 'Image repository, without tag: registry.example.com/team/web.' }),
    interval: z
      .string()
      .max(32)
      .regex(new RegExp(DURATION_PATTERN), 'must be a Go duration such as 30s, 5m or 1h')
      .default('1m')
      .meta({
        description: 'How often the registry is asked for tags (default 1m, at least 5s).',
        'x-kubernetes-validations': [
          { rule: "duration(self) >= duration('5s')", message: 'must be at least 5s' },
        ],
      }),
    secretRef: z
      .object({ name: z.string().min(1).max(253) })
      .optional()
      .meta({ description: 'A kubernetes.io/dockerconfigjson Secret with credentials for the registry.' }),
    insecure: z
      .boolean()
      .default(false)
      .meta({ description: 'Talk plain HTTP to the registry (a registry on a private network).' }),
    policy: ImagePolicyChoiceSchema,
    filterTags: z
      .object({
        pattern: z.string().min(1).max(1024).meta({
          description:
            'Regular expression a tag must match; Go-style named groups (?P<name>…) are accepted as in Flux.',
        }),
        extract: z
          .string()
          .max(256)
          .optional()
          .meta({ description: 'What the policy compares instead of the tag: $name or ${name} of a group.' }),
      })
      .optional()
      .meta({ description: 'Tags considered at all, and the part of each that is compared.' }),
    suspend: z.boolean().default(false).meta({ description: 'Stop asking the registry while true.' }),
  })
  .meta({ description: 'Which tag of an image is the latest, for image updates written back to Git.' });

export const ImageRefSchema = z.object({
  tag: z.string(),
  digest: z.string().optional().meta({ description: 'sha256 digest of the manifest the tag points at.' }),
});

export const ImagePolicyStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  conditions: z.array(ConditionSchema).optional(),
  latestRef: ImageRefSchema.optional().meta({ description: 'The tag the policy selects now.' }),
  lastScan: z
    .object({
      time: z
        .string()
        .meta({ description: 'When the scan result last changed (an unchanged scan writes nothing).' }),
      tags: z.number().int().meta({ description: 'Tags the registry listed.' }),
      matched: z.number().int().meta({ description: 'Tags left after filterTags and the policy.' }),
    })
    .optional(),
});

export type ImagePolicySpec = z.infer<typeof ImagePolicySpecSchema>;
export type ImagePolicyStatus = z.infer<typeof ImagePolicyStatusSchema>;
export type ImageRef = z.infer<typeof ImageRefSchema>;

export interface ImagePolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof IMAGE_POLICY_KIND;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec: ImagePolicySpec;
  status?: ImagePolicyStatus;
}

export function parseImagePolicySpec(
  raw: unknown,
): { ok: true; spec: ImagePolicySpec } | { ok: false; error: string } {
  const result = ImagePolicySpecSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, error: `spec.${issue.path.join('.')}: ${issue.message}` };
  }
  const chosen = Object.values(result.data.policy).filter((v) => v !== undefined).length;
  if (chosen !== 1)
    return { ok: false, error: 'spec.policy: exactly one of semver, alphabetical or numerical must be set' };
  return { ok: true, spec: result.data };
}
