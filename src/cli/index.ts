// The converge CLI (get, tree, build, diff, reconcile, …): commands over the pipeline stages, for terminals and CI.
export { runCli, topHelp, commandHelp } from './dispatch.ts';
export type { CliIO, Output } from './command.ts';
export { COMMANDS } from './commands/index.ts';
