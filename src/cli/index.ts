// The command line: `converge run` options (parsed once with zod), and the converge CLI (get, tree,
// build, diff, reconcile, …): commands over the pipeline stages, for terminals and CI.
export { parseRunOptions, USAGE, type RunOptions } from './options.ts';
export { DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE } from './options.ts';
export { runCli, topHelp, commandHelp } from './dispatch.ts';
export type { CliIO, Output } from './command.ts';
export { COMMANDS } from './commands/index.ts';
// The diff text of `converge diff`, reused by pull-request previews (one formatter for both).
export { objectDiff, renderChangeSet } from './format/changes.ts';
