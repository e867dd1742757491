// The command line: `converge run` options (parsed once with zod); the demo is run by `npm run demo`.
export { parseRunOptions, USAGE, type RunOptions } from './options.ts';
