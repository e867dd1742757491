// The GitSource API (gitops.converge.dev/v1alpha1): zod schemas are the single source of truth;
// crds/gitsource.yaml is generated from them by `npm run generate`.
import { z } from 'zod';

export const GROUP = 'gitops.converge.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'GitSource';
export const PLURAL = 'gitsources';

/** Go-style duration ("1m", "90s", "1h30m"), as Flux and Kubernetes users write them. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';

const duration = (description: string, min?: string) =>
  z
    .string()
    .max(32)
    .regex(new RegExp(DURATION_PATTERN), 'must be a Go duration such as 30s, 5m or 1h')
    .meta({
      description,
      ...(min
        ? {
            'x-kubernetes-validations': [
              { rule: `duration(self) >= duration('${min}')`, message: `must be at least ${min}` },
            ],
          }
        : {}),
    });

const name = z.string().min(1).max(253);

export const GitRefSchema = z
  .object({
    branch: z.string().min(1).optional().meta({ description: 'Branch to follow (default main).' }),
    tag: z.string().min(1).optional().meta({ description: 'Tag to check out.' }),
    semver: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Semver range; the highest matching tag is checked out.' }),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'must be a full 40-character commit SHA')
      .optional()
      .meta({ description: 'Full commit SHA to pin.' }),
    digest: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>')
      .optional()
      .meta({ description: 'OCI artifacts: the manifest digest to pin (sha256:…).' }),
  })
  .meta({
    description:
      'Which revision to follow: exactly one of branch, tag, semver or commit (Git), tag, semver or digest (oci://).',
    'x-kubernetes-validations': [
      {
        rule: '[has(self.branch), has(self.tag), has(self.semver), has(self.commit), has(self.digest)].filter(x, x).size() == 1',
        message: 'exactly one of branch, tag, semver, commit or digest must be set',
      },
    ],
  });

export const LayerSelectorSchema = z
  .object({
    mediaType: z.string().min(1).max(255).optional().meta({
      description:
        'Media type of the layer holding the manifests (default: Flux content layer, else the only tar+gzip layer).',
    }),
    operation: z.enum(['extract', 'copy']).default('extract').meta({
      description: 'extract a tar+gzip layer, or copy the layer as one file (its title annotation).',
    }),
  })
  .meta({ description: 'OCI artifacts: which layer to take and how.' });

export const S3EndpointSchema = z
  .object({
    endpoint: z
      .string()
      .max(256)
      .regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'must be host or host:port')
      .optional()
      .meta({ description: 'host[:port] of the S3-compatible service (default s3.<region>.amazonaws.com).' }),
    region: z.string().max(64).optional().meta({ description: 'Region (default us-east-1).' }),
    insecure: z.boolean().optional().meta({ description: 'Plain HTTP to the endpoint.' }),
  })
  .meta({
    description: 's3:// sources: the S3-compatible endpoint (path-style requests, AWS Signature V4).',
  });

export const VerifySchema = z
  .object({
    provider: z.enum(['cosign']).meta({ description: 'Signature scheme: cosign (keyed).' }),
    secretRef: z.object({ name }).optional().meta({
      description:
        'Secret whose *.pub keys (ECDSA P-256 or Ed25519) may sign; any one verifying is enough. Keyless verification is not supported.',
    }),
    matchOIDCIdentity: z
      .array(z.object({ issuer: z.string(), subject: z.string() }))
      .optional()
      .meta({ description: 'Keyless identities: refused (they need the public Sigstore services).' }),
  })
  .meta({ description: 'Verify the signature of what comes from an OCI registry before using it.' });

export const ObjectSelectorSchema = z.object({
  group: z.string().optional(),
  version: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
});

export const IgnoreRuleSchema = z.object({
  target: ObjectSelectorSchema.meta({ description: 'Objects the rule applies to; empty fields match all.' }),
  paths: z
    .array(z.string().regex(/^\//, 'must be a JSON pointer starting with /'))
    .min(1)
    .meta({ description: 'JSON pointers (RFC 6901) of fields Converge neither diffs nor overwrites.' }),
});

export const DependencySchema = z.object({
  name,
  namespace: z.string().optional().meta({ description: 'Defaults to the GitSource namespace.' }),
});

/** Where a chart comes from: a chart repository (index.yaml over HTTP(S) or in S3, or OCI). */
export const ChartSchema = z
  .object({
    repository: z
      .string()
      .min(1)
      .max(2048)
      .regex(/^(https?|s3|oci):\/\/[^\s]+$/, 'must be an https://, http://, s3:// or oci:// URL')
      .meta({
        description:
          'Chart repository: https://… or http://… (an index.yaml repository), s3://bucket/prefix (a repository kept in S3, as the helm-s3 plugin lays it out) or oci://registry/path.',
      }),
    name: z
      .string()
      .min(1)
      .max(250)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a chart name (letters, digits, ., _ and -)')
      .meta({ description: 'Chart name in the repository.' }),
    version: z
      .string()
      .min(1)
      .max(256)
      .default('*')
      .meta({ description: 'Semver version or range (default "*": the highest stable version).' }),
    secretRef: z.object({ name }).optional().meta({
      description:
        'Secret for the repository: username+password, bearerToken, ca.crt, tls.crt+tls.key (https); accesskey+secretkey (+sessiontoken) (s3). Without it, spec.secretRef is used when spec.url is not set.',
    }),
    s3: z
      .object({
        endpoint: z
          .string()
          .max(256)
          .regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'must be host or host:port')
          .optional()
          .meta({
            description: 'host[:port] of the S3-compatible service (default s3.<region>.amazonaws.com).',
          }),
        region: z.string().max(64).optional().meta({ description: 'Region (default us-east-1).' }),
        insecure: z.boolean().optional().meta({ description: 'Plain HTTP to the endpoint.' }),
      })
      .optional()
      .meta({ description: 'For s3:// repositories.' }),
    insecure: z.boolean().optional().meta({
      description:
        'oci:// repositories only: reach the registry over plain HTTP (a registry on a private network).',
    }),
    passCredentials: z.boolean().default(false).meta({
      description:
        "Send the repository's credentials to chart URLs on other hosts too (default false: only to the repository's own host).",
    }),
  })
  .meta({ description: 'A chart from a chart repository instead of (or, with url, beside) a Git path.' });

export const ValuesFromSchema = z.object({
  kind: z.enum(['Secret', 'ConfigMap']),
  name,
  key: z.string().min(1).max(253).default('values.yaml').meta({ description: 'Key holding YAML values.' }),
  optional: z.boolean().optional().meta({ description: 'A missing object or key is skipped.' }),
});

export const PREVIEW_PROVIDERS = ['github', 'gitlab', 'gitea', 'bitbucket'] as const;

/** Pull-request previews: a server-side dry-run diff per pull request, or a deployment per pull request. */
export const PreviewsSchema = z
  .object({
    provider: z
      .enum(PREVIEW_PROVIDERS)
      .meta({ description: "The Git host's API: github, gitlab, gitea or bitbucket." }),
    secretRef: z.object({ name }).meta({
      description:
        'Secret with `token`: reads pull requests, writes commit statuses and comments (Bitbucket: `username` + `password`, an app password).',
    }),
    address: z
      .string()
      .regex(/^https?:\/\//, 'must be an http(s):// URL')
      .optional()
      .meta({ description: 'API base URL for self-hosted hosts (default: derived from spec.url).' }),
    mode: z.enum(['Diff', 'Deploy']).default('Diff').meta({
      description:
        'Diff: comment and status only. Deploy: also apply each pull request into its own namespace.',
    }),
    labels: z
      .array(z.string().min(1).max(63))
      .max(20)
      .optional()
      .meta({ description: 'Only pull requests carrying every one of these labels.' }),
    namespaceTemplate: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z0-9{}-]+$/, 'may hold lower-case letters, digits, - and the fields {name} and {number}')
      .default('{name}-pr-{number}')
      .meta({
        description:
          'Deploy: namespace of a preview; {name} is the GitSource name, {number} the pull request.',
      }),
    maxPreviews: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .meta({ description: 'Deploy: at most this many previews at once (oldest pull requests first).' }),
    allowForks: z
      .boolean()
      .default(false)
      .meta({ description: 'Deploy: also deploy pull requests from forks (their diff is always shown).' }),
  })
  .meta({
    description:
      'Open pull requests against the tracked branch get a commit status and one comment with the server-side dry-run diff; with mode Deploy each is also applied into its own namespace (serviceAccountName required).',
    'x-kubernetes-validations': [
      {
        rule: "self.mode != 'Deploy' || self.namespaceTemplate.contains('{number}')",
        message: 'namespaceTemplate must contain {number} so each pull request gets its own namespace',
      },
    ],
  });

export const PreviewStatusSchema = z.object({
  number: z.number().int(),
  head: z.string().meta({ description: 'Head commit SHA the preview was made for.' }),
  state: z
    .string()
    .meta({ description: 'Diffed, Deploying, Deployed, Failed, Queued (over maxPreviews), Skipped (fork).' }),
  message: z.string().optional(),
  namespace: z.string().optional().meta({ description: 'Deploy: the preview namespace.' }),
  url: z.string().optional().meta({ description: 'The pull request on the host.' }),
});

export const GitSourceSpecSchema = z
  .object({
    url: z
      .string()
      .min(1)
      .regex(
        /^(https?:\/\/|ssh:\/\/|file:\/\/|oci:\/\/|s3:\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)/,
        'must be an https://, http://, ssh://, scp-like user@host:path, oci:// or s3:// URL',
      )
      .optional()
      .meta({
        description:
          'Git repository URL (https, http, ssh:// or scp-like git@host:path; with chart: where helm.valuesFiles are read), oci://registry/repository (an OCI artifact) or s3://bucket/prefix (an S3 bucket).',
      }),
    chart: ChartSchema.optional(),
    ref: GitRefSchema.optional(),
    layerSelector: LayerSelectorSchema.optional(),
    verify: VerifySchema.optional(),
    s3: S3EndpointSchema.optional(),
    insecure: z.boolean().optional().meta({
      description: 'oci:// only: reach the registry over plain HTTP (a registry on a private network).',
    }),
    path: z
      .string()
      .max(1024)
      .default('.')
      .meta({
        description: 'Directory inside the repository to render, relative (default ".").',
        'x-kubernetes-validations': [
          { rule: "!self.startsWith('/')", message: 'must be relative to the repository root' },
          { rule: "!self.matches('(^|/)[.][.](/|$)')", message: "must not contain '..'" },
        ],
      }),
    interval: duration('Poll and drift-resync period (default 1m, at least 5s).', '5s').default('1m'),
    retryInterval: duration(
      'First retry after a failure; doubles up to interval (default 15s, at least 1s).',
      '1s',
    ).optional(),
    timeout: duration('Bound for one reconcile: fetch, apply and health wait (default 2m).').optional(),
    secretRef: z.object({ name }).optional().meta({
      description:
        'Secret with username+password, bearerToken, or identity (+known_hosts) for SSH; for oci:// also .dockerconfigjson; for s3:// accesskey+secretkey (+sessiontoken).',
    }),
    suspend: z.boolean().default(false).meta({ description: 'Stop reconciling; status stays as it was.' }),
    prune: z.boolean().default(true).meta({ description: 'Delete objects that left Git.' }),
    wait: z.boolean().default(true).meta({ description: 'Converged only once applied objects are healthy.' }),
    force: z
      .boolean()
      .default(false)
      .meta({ description: 'Recreate objects whose immutable fields changed.' }),
    drift: z
      .enum(['Correct', 'Report'])
      .default('Correct')
      .meta({ description: 'Correct hand edits of managed objects, or only report them.' }),
    targetNamespace: z
      .string()
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label')
      .optional()
      .meta({
        description:
          "Namespace for namespaced objects that set none, and the Helm release namespace (default: the GitSource's own namespace).",
      }),
    serviceAccountName: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Apply as this ServiceAccount of the GitSource namespace (impersonation).' }),
    dependsOn: z
      .array(DependencySchema)
      .optional()
      .meta({ description: 'GitSources that must be Ready at their latest revision first.' }),
    include: z.array(z.string().min(1)).optional().meta({ description: 'Globs relative to path to read.' }),
    exclude: z
      .array(z.string().min(1))
      .optional()
      .meta({ description: 'Globs relative to path to skip; exclude wins.' }),
    substitute: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: '${VAR} replacements applied after rendering.' }),
    ignore: z
      .array(IgnoreRuleSchema)
      .optional()
      .meta({ description: 'Fields left alone on matching objects.' }),
    deletionPolicy: z
      .enum(['Orphan', 'Delete'])
      .default('Orphan')
      .meta({ description: 'What happens to applied objects when the GitSource is deleted.' }),
    kubeConfig: z
      .object({
        secretRef: z
          .object({
            name,
            key: z
              .string()
              .min(1)
              .default('value')
              .meta({ description: 'Key of the kubeconfig in the Secret (default "value", as Flux).' }),
          })
          .meta({ description: "Secret in the GitSource's own namespace holding the kubeconfig." }),
      })
      .optional()
      .meta({
        description:
          'Apply to the cluster this kubeconfig names (its current context) instead of the cluster Converge runs in; the GitSource, its status and inventory stay here. Exec plugins, auth providers and file references are refused unless the operator allows them.',
      }),
    allowEmpty: z.boolean().optional().meta({
      description:
        'Accept a path that renders no objects (default false: RenderFailed, and nothing is pruned).',
    }),
    imageUpdates: z
      .object({
        author: z
          .object({
            name: z.string().min(1).max(256),
            email: z.string().min(1).max(256),
          })
          .meta({ description: 'Author and committer of the commits that update images.' }),
        messageTemplate: z.string().max(4096).optional().meta({
          description:
            'Commit message; {{changes}} lists each change (file: old → new), also {{count}}, {{source}}, {{branch}} (default "Update images\\n\\n{{changes}}").',
        }),
        push: z
          .object({
            branch: z.string().min(1).max(255).meta({ description: 'Branch the commits are pushed to.' }),
          })
          .optional()
          .meta({ description: 'Default: the tracked branch (spec.ref.branch); another branch for review.' }),
      })
      .optional()
      .meta({
        description:
          'Rewrite fields marked # {"$imagepolicy": "<namespace>:<policy>"} (:tag, :name, :digest) under path when an ImagePolicy moves, commit and push.',
      }),
    helm: z
      .object({
        values: z.record(z.string(), z.unknown()).optional().meta({
          description: 'Values for a Chart.yaml at path.',
          'x-kubernetes-preserve-unknown-fields': true,
        }),
        releaseName: z
          .string()
          .optional()
          .meta({ description: 'Release name (default: the GitSource name).' }),
        valuesFiles: z
          .array(
            z
              .string()
              .min(1)
              .max(512)
              .meta({
                'x-kubernetes-validations': [
                  { rule: "!self.startsWith('/')", message: 'must be relative to path' },
                  { rule: "!self.matches('(^|/)[.][.](/|$)')", message: "must not contain '..'" },
                ],
              }),
          )
          // Bounded so the CEL rules above fit the API server's cost budget.
          .max(32)
          .optional()
          .meta({
            description: 'Values files relative to path in the Git checkout, merged in order before values.',
          }),
        valuesFrom: z.array(ValuesFromSchema).max(32).optional().meta({
          description:
            'Values from Secrets or ConfigMaps of the GitSource namespace, merged after valuesFiles and before values.',
        }),
      })
      .optional(),
    decryption: z
      .object({
        provider: z.enum(['sops']).meta({ description: 'Only sops.' }),
        secretRef: z.object({ name }).meta({
          description:
            'Secret in the GitSource namespace with the keys: entries ending .agekey (age identities) or .asc (OpenPGP private keys without a passphrase).',
        }),
      })
      .optional()
      .meta({
        description:
          'Decrypt SOPS-encrypted objects, kustomize secretGenerator sources and Helm values files (as Flux does).',
      }),
    previews: PreviewsSchema.optional(),
  })
  .meta({
    description: 'Where to find the desired state and how to converge it.',
    'x-kubernetes-validations': [
      { rule: 'has(self.url) || has(self.chart)', message: 'one of url or chart is required' },
    ],
  })
  .refine((spec) => spec.url !== undefined || spec.chart !== undefined, {
    message: 'one of url or chart is required',
    path: ['url'],
  });

export const ConditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string(),
  reason: z.string(),
  message: z.string(),
});

export const HistoryEntrySchema = z.object({
  revision: z.string(),
  appliedAt: z.string(),
  duration: z.string(),
  result: z.string(),
});

export const InventoryEntrySchema = z.object({
  id: z
    .string()
    .meta({ description: 'namespace_name_group_kind, with % and _ in each field written %25 and %5F.' }),
  v: z.string().meta({ description: 'API version the object was applied with.' }),
});

/** Objects of one apiVersion, kind and namespace: each costs its name, so 10,000 fit in ~150 kB. */
export const InventoryGroupSchema = z.object({
  apiVersion: z.string().meta({ description: 'API version the objects were applied with (v1, apps/v1).' }),
  kind: z.string(),
  namespace: z.string().optional().meta({ description: 'Absent for cluster-scoped objects.' }),
  names: z.array(z.string()).meta({ description: 'Object names, sorted.' }),
});

export const InventorySchema = z
  .object({
    entries: z.array(InventoryEntrySchema).optional().meta({
      description:
        'What the last apply recorded, one entry per object (id ns_name_group_kind, version v). Written while it stays under 256 KiB (a few thousand objects); larger inventories are written as objects.',
    }),
    objects: z.array(InventoryGroupSchema).optional().meta({
      description:
        'The compact form for large inventories: objects grouped by apiVersion, kind and namespace, a name each.',
    }),
  })
  .meta({ description: 'The objects this GitSource applied: the baseline for the next prune.' });

export const GitSourceStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  revision: z.string().optional(),
  lastAttemptedRevision: z.string().optional(),
  lastAppliedRevision: z.string().optional(),
  lastHandledReconcileAt: z.string().optional(),
  conditions: z.array(ConditionSchema).optional(),
  summary: z
    .object({
      objects: z.number().int(),
      created: z.number().int(),
      configured: z.number().int(),
      unchanged: z.number().int(),
      pruned: z.number().int(),
      drifted: z.number().int(),
    })
    .optional(),
  changes: z.array(z.string()).optional(),
  inventory: InventorySchema.optional(),
  history: z.array(HistoryEntrySchema).optional(),
  hooks: z
    .object({
      revision: z.string(),
      completed: z.array(z.string()).meta({ description: 'phase:Kind/namespace/name of hooks that ran.' }),
    })
    .optional()
    .meta({ description: 'Hooks that completed for this revision: never run twice, also across restarts.' }),
  cluster: z
    .object({
      server: z.string().meta({ description: 'API server URL of the target cluster.' }),
      context: z.string().meta({ description: "The kubeconfig's context." }),
    })
    .optional()
    .meta({
      description:
        'The remote cluster spec.kubeConfig targets, as last resolved (never its credentials); absent for the local cluster.',
    }),
  verification: z
    .object({
      revision: z.string(),
      provider: z.string(),
      key: z.string().meta({ description: 'The Secret key (e.g. cosign.pub) whose signature verified.' }),
    })
    .optional()
    .meta({ description: 'The signature check of the latest fetched revision (spec.verify).' }),
  driftDetection: z.enum(['Watch', 'Interval']).optional().meta({
    description:
      'How hand edits of applied objects are found: Watch (in real time, by a watch on every kind applied) or Interval (the operator may not watch some kind, so every object is re-planned each interval).',
  }),
  previews: z.array(PreviewStatusSchema).optional().meta({
    description:
      'Open pull requests with a preview (spec.previews), written by field manager converge-preview.',
  }),
});

export type GitRef = z.infer<typeof GitRefSchema>;
export type PreviewsSpec = z.infer<typeof PreviewsSchema>;
export type PreviewStatus = z.infer<typeof PreviewStatusSchema>;
export type ChartSpec = z.infer<typeof ChartSchema>;
export type ValuesFrom = z.infer<typeof ValuesFromSchema>;
export type IgnoreRule = z.infer<typeof IgnoreRuleSchema>;
export type GitSourceSpec = z.infer<typeof GitSourceSpecSchema>;
export type GitSourceStatus = z.infer<typeof GitSourceStatusSchema>;
export type Condition = z.infer<typeof ConditionSchema>;
export type InventoryEntry = z.infer<typeof InventoryEntrySchema>;
export type Inventory = z.infer<typeof InventorySchema>;
export type InventoryGroup = z.infer<typeof InventoryGroupSchema>;
export type HookRecord = NonNullable<GitSourceStatus['hooks']>;

export interface GitSource {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec: GitSourceSpec;
  status?: GitSourceStatus;
}

/** Names fixed by the design contract (DESIGN.md "Names"). */
export const LABEL_NAME = `${GROUP}/name`;
export const LABEL_NAMESPACE = `${GROUP}/namespace`;
export const FINALIZER = `${GROUP}/finalizer`;
export const ANNOTATION_REQUESTED_AT = `${GROUP}/requested-at`;
export const ANNOTATION_PRUNE = `${GROUP}/prune`;
export const ANNOTATION_FORCE = `${GROUP}/force`;
export const ANNOTATION_SSA = `${GROUP}/ssa`;
/** On an object in Git: leave it as it is, never decrypt it (value `disabled`; Flux's kustomize.toolkit.fluxcd.io/decrypt too). */
export const ANNOTATION_DECRYPT = `${GROUP}/decrypt`;
/** On an object in Git: take it over from the GitSource whose labels it carries (value `enabled`). */
export const ANNOTATION_ADOPT = `${GROUP}/adopt`;
/** Set by `converge rollback`: the spec.ref (JSON) to restore with `converge resume-tracking`. */
export const ANNOTATION_ROLLBACK_FROM = `${GROUP}/rollback-from`;
export const FIELD_MANAGER = 'converge';
export const STATUS_FIELD_MANAGER = 'converge-status';
/** Writes status.previews only, so the reconcile's status applies never drop it. */
export const PREVIEW_FIELD_MANAGER = 'converge-preview';
/** On a preview's namespace and GitSource: the name of the GitSource it previews (LABEL_NAMESPACE holds its namespace). */
export const LABEL_PREVIEW_OF = `${GROUP}/preview-of`;
/** On a preview's namespace and GitSource: the pull request number. */
export const LABEL_PREVIEW_NUMBER = `${GROUP}/preview-number`;

/** Parses a spec from the API server, naming the first bad field; defaults filled in. */
export function parseSpec(raw: unknown): { ok: true; spec: GitSourceSpec } | { ok: false; error: string } {
  const result = GitSourceSpecSchema.safeParse(raw ?? {});
  if (result.success) return { ok: true, spec: result.data };
  const issue = result.error.issues[0]!;
  return { ok: false, error: `spec.${issue.path.join('.')}: ${issue.message}` };
}

/** Go-style duration to milliseconds ("1m30s" → 90000). */
export function parseDuration(text: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  const re = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * units[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.length) throw new Error(`invalid duration "${text}"`);
  return total;
}
