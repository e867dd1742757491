// How a GitSource's spec becomes a render input: the one mapping the operator and the CLI share.
import type { GitSourceSpec } from '../api/index.ts';
import type { RenderInput } from './render.ts';

export interface RenderTarget {
  name: string;
  namespace: string;
  spec: GitSourceSpec;
}

/**
 * The RenderInput for `source` over a checkout at `root`: spec.path (or `path`, for a local
 * directory or a chart's folder rendered in its place), globs, substitution, target namespace and Helm release, as the
 * operator renders it.
 */
export function renderInputFor(
  source: RenderTarget,
  root: string,
  tools: RenderInput['tools'],
  opts: { path?: string; signal?: AbortSignal; helmValues?: Record<string, unknown> } = {},
): RenderInput {
  const { spec } = source;
  return {
    root,
    path: opts.path ?? spec.path,
    include: spec.include,
    exclude: spec.exclude,
    substitute: spec.substitute,
    targetNamespace: spec.targetNamespace ?? source.namespace,
    allowEmpty: spec.allowEmpty,
    helm: {
      // Merged with valuesFiles and valuesFrom by helmValuesFor when the caller read them.
      values: opts.helmValues ?? spec.helm?.values ?? {},
      releaseName: spec.helm?.releaseName ?? source.name,
      namespace: spec.targetNamespace ?? source.namespace,
    },
    tools,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}
