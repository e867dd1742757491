// The render stage: a path in a checkout becomes a validated list of Kubernetes objects.
export { renderManifests, type RenderInput } from './render.ts';
export { renderInputFor, type RenderTarget } from './spec.ts';
export { DEFAULT_RENDER_LIMITS, type RenderLimits } from './limits.ts';
export type { HelmOptions } from './helm.ts';
export type { ScopeLookup } from './scope.ts';
export { resolveClientTools, bundledTools, type ClientTools, type ToolOptions } from './tools.ts';
export { helmValuesFor, mergeValues, type ValuesInput } from './values.ts';
