// Pull-request previews (spec.previews): a dry-run diff comment and commit status per pull request, or a
// preview GitSource per pull request in its own namespace. Fed by the GitSource cache and pull-request webhooks.
export { PreviewController, previewContext, type PreviewDeps } from './controller.ts';
export { renderComment, commentMarker, previewSummary } from './comment.ts';
export {
  selectPulls,
  previewNamespace,
  previewSourceName,
  deployEligibility,
  needsWork,
  previewSpec,
  renderDigest,
  escapes,
} from './decide.ts';
export { HOSTS, type PullRequest, type PreviewHost, type HostTarget } from './hosts/index.ts';
