// Builds the GitSource, Notifier and ImagePolicy CustomResourceDefinitions from the zod schemas (structural OpenAPI v3).
import { z } from 'zod';
import * as yaml from 'js-yaml';
import { GitSourceSpecSchema, GitSourceStatusSchema, GROUP, KIND, PLURAL, VERSION } from './gitsource.ts';
import {
  IMAGE_POLICY_KIND,
  IMAGE_POLICY_PLURAL,
  ImagePolicySpecSchema,
  ImagePolicyStatusSchema,
} from './imagepolicy.ts';
import { NOTIFIER_KIND, NOTIFIER_PLURAL, NotifierSpecSchema, NotifierStatusSchema } from './notifier.ts';

type Json = Record<string, unknown>;

/** Turns zod's JSON Schema into the structural subset the API server accepts. */
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    if (key === '$schema' || key === '$id' || key === 'propertyNames') continue;
    // Free-form values (Helm values): the API server keeps them as they are.
    if (key === 'additionalProperties' && (node as Json)['x-kubernetes-preserve-unknown-fields']) continue;
    // Structural schemas forbid additionalProperties beside properties; "false" is implied by pruning.
    if (key === 'additionalProperties' && (value === false || (node as Json).properties)) continue;
    // zod writes unknown/any as {}; the API server wants it explicit.
    if (key === 'additionalProperties' && value && Object.keys(value as Json).length === 0) {
      out[key] = { 'x-kubernetes-preserve-unknown-fields': true };
      continue;
    }
    out[key] = structural(value);
  }
  if (out['x-kubernetes-preserve-unknown-fields'] && !out.type) out.type = 'object';
  return out;
}

function openApiSchema(specSchema: z.ZodType, statusSchema: z.ZodType): Json {
  const spec = structural(z.toJSONSchema(specSchema, { io: 'input', unrepresentable: 'any' })) as Json;
  const status = structural(z.toJSONSchema(statusSchema, { io: 'output' })) as Json;
  return {
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec,
      status,
    },
  };
}

const readyStatus = '.status.conditions[?(@.type=="Ready")].status';
const readyMessage = '.status.conditions[?(@.type=="Ready")].message';

interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  printerColumns: Json[];
  schema: Json;
}

/** A namespaced kind of this group, served and stored at VERSION, with a status subresource. */
function crdFor(d: KindDefinition): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${d.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: d.kind,
        listKind: `${d.kind}List`,
        plural: d.plural,
        singular: d.singular,
        shortNames: d.shortNames,
        categories: ['gitops'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: d.printerColumns,
          schema: { openAPIV3Schema: d.schema },
        },
      ],
    },
  };
}

function toYaml(crd: Json, source: string): string {
  return (
    `# Generated from ${source} by \`npm run generate\`. Do not edit by hand.\n` +
    yaml.dump(crd, { lineWidth: 120, noRefs: true, sortKeys: false })
  );
}

export function gitSourceCrd(): Json {
  return crdFor({
    kind: KIND,
    plural: PLURAL,
    singular: 'gitsource',
    shortNames: ['gs'],
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: readyStatus },
      { name: 'Revision', type: 'string', jsonPath: '.status.lastAppliedRevision' },
      { name: 'Status', type: 'string', jsonPath: readyMessage },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'URL', type: 'string', jsonPath: '.spec.url', priority: 1 },
      { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', priority: 1 },
      { name: 'Cluster', type: 'string', jsonPath: '.status.cluster.server', priority: 1 },
    ],
    schema: openApiSchema(GitSourceSpecSchema, GitSourceStatusSchema),
  });
}

export function gitSourceCrdYaml(): string {
  return toYaml(gitSourceCrd(), 'src/api/gitsource.ts');
}

export function notifierCrd(): Json {
  return crdFor({
    kind: NOTIFIER_KIND,
    plural: NOTIFIER_PLURAL,
    singular: 'notifier',
    shortNames: ['nf'],
    printerColumns: [
      { name: 'Type', type: 'string', jsonPath: '.spec.type' },
      { name: 'Ready', type: 'string', jsonPath: readyStatus },
      { name: 'Status', type: 'string', jsonPath: readyMessage },
      { name: 'Failed', type: 'integer', jsonPath: '.status.failedDeliveries' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', priority: 1 },
    ],
    schema: openApiSchema(NotifierSpecSchema, NotifierStatusSchema),
  });
}

export function notifierCrdYaml(): string {
  return toYaml(notifierCrd(), 'src/api/notifier.ts');
}

export function imagePolicyCrd(): Json {
  return crdFor({
    kind: IMAGE_POLICY_KIND,
    plural: IMAGE_POLICY_PLURAL,
    singular: 'imagepolicy',
    // `ip` is the contract's, but Kubernetes 1.33+ serves IPAddress as `ip` first: `imgpol` always works.
    shortNames: ['ip', 'imgpol'],
    printerColumns: [
      { name: 'Image', type: 'string', jsonPath: '.spec.image' },
      { name: 'Latest', type: 'string', jsonPath: '.status.latestRef.tag' },
      { name: 'Ready', type: 'string', jsonPath: readyStatus },
      { name: 'Status', type: 'string', jsonPath: readyMessage },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Digest', type: 'string', jsonPath: '.status.latestRef.digest', priority: 1 },
    ],
    schema: openApiSchema(ImagePolicySpecSchema, ImagePolicyStatusSchema),
  });
}

export function imagePolicyCrdYaml(): string {
  return toYaml(imagePolicyCrd(), 'src/api/imagepolicy.ts');
}
