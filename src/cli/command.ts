// What a CLI command is: its flags, its help text with an example, and run(); plus the one-line CliError.
import type { CliContext } from './context.ts';

/** Where a command writes; a TTY gets colour and a spinner. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Everything a command may touch of the process, passed in by main.ts (the composition root). */
export interface CliIO {
  stdout: Output;
  stderr: Output;
  env: Readonly<Record<string, string | undefined>>;
  now: () => Date;
  /** `converge`, or `kubectl converge` when run as a kubectl plugin: used in help and hints. */
  prog: string;
  /** Aborted on Ctrl-C: watches and waits stop. */
  signal: AbortSignal;
}

export interface Flag {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help, e.g. DIR. */
  value?: string;
  help: string;
  /** May be given more than once (values collected in order). */
  multiple?: boolean;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  positionals: string[];
  values: FlagValues;
}

export interface Command {
  name: string;
  /** One line for `converge --help`. */
  summary: string;
  /** After the command name: `NAME [--wait] [--timeout DURATION]`. */
  usage: string;
  /** A few lines on what it does (and its exit status when it has meaning). */
  description: string;
  flags: Record<string, Flag>;
  examples: string[];
  /** Global flags this command ignores (e.g. -A for diff), left out of its help. */
  ignoresGlobal?: string[];
  /** Exit status for every failure (diff: 2, so that 1 can mean "changes"); default 1. */
  errorExitCode?: number;
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

/** A failure the user can act on, printed as one line `converge: <message>`; exitCode defaults to 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The one positional NAME a command needs, or a usage error naming it. */
export function requireName(cmd: Command, args: ParsedArgs, what = 'NAME'): string {
  const [name, ...extra] = args.positionals;
  if (!name) throw new CliError(`${cmd.name}: missing ${what} (usage: ${cmd.name} ${cmd.usage})`, 2);
  if (extra.length > 0) throw new CliError(`${cmd.name}: unexpected argument "${extra[0]}"`, 2);
  return name;
}

export function noPositionals(cmd: Command, args: ParsedArgs): void {
  if (args.positionals.length > 0)
    throw new CliError(`${cmd.name}: unexpected argument "${args.positionals[0]}"`, 2);
}

export const str = (v: FlagValues, key: string): string | undefined =>
  typeof v[key] === 'string' ? (v[key] as string) : undefined;
export const bool = (v: FlagValues, key: string): boolean => v[key] === true;
export const strings = (v: FlagValues, key: string): string[] => {
  const x = v[key];
  return Array.isArray(x) ? x : typeof x === 'string' ? [x] : [];
};
