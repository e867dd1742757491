// The CLI dispatcher: argv → command, global and command flags (kubectl conventions), help, one-line errors, exit code.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConvergeError } from '../api/index.ts';
import { ApiError } from '../kube/index.ts';
import { CliError, type CliIO, type Command, type Flag, type FlagValues } from './command.ts';
import { CliContext, type GlobalFlags } from './context.ts';
import { COMMANDS } from './commands/index.ts';

export const GLOBAL_FLAGS: Record<string, Flag> = {
  namespace: {
    type: 'string',
    short: 'n',
    value: 'NS',
    help: 'namespace (default: the context’s, else default)',
  },
  'all-namespaces': { type: 'boolean', short: 'A', help: 'every namespace' },
  kubeconfig: {
    type: 'string',
    value: 'PATH',
    help: 'kubeconfig file (default $KUBECONFIG, then ~/.kube/config)',
  },
  context: { type: 'string', value: 'NAME', help: 'kubeconfig context to use' },
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'json or yaml instead of the table' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
};

const OutputSchema = z.enum(['json', 'yaml']).optional();

function flagLine(name: string, f: Flag): [string, string] {
  const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.value ? ` ${f.value}` : ''}`;
  return [left, f.help];
}

function columns(rows: [string, string][], indent = '  '): string {
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `${indent}${l.padEnd(w)}   ${r}`).join('\n');
}

export function commandHelp(cmd: Command, prog: string): string {
  const own = Object.entries(cmd.flags).map(([n, f]) => flagLine(n, f));
  const globals = Object.entries(GLOBAL_FLAGS)
    .filter(([n]) => !cmd.ignoresGlobal?.includes(n))
    .map(([n, f]) => flagLine(n, f));
  return [
    `Usage: ${prog} ${cmd.name} ${cmd.usage}`.trimEnd(),
    '',
    cmd.description,
    '',
    ...(own.length ? ['Flags:', columns(own), ''] : []),
    'Global flags:',
    columns(globals),
    '',
    'Examples:',
    ...cmd.examples.map((e) => `  ${e.replaceAll('converge ', `${prog} `)}`),
    '',
  ].join('\n');
}

export function topHelp(prog: string): string {
  const rows: [string, string][] = COMMANDS.map((c) => [c.name, c.summary]);
  return [
    `${prog}: Git in, converged cluster out. The operator and a CLI for its GitSources.`,
    '',
    `Usage: ${prog} COMMAND [NAME] [flags]`,
    '',
    'Commands:',
    columns(rows),
    '',
    'Operator:',
    columns([
      ['run', `start the operator (${prog} run --help for its flags)`],
      ['version', 'print the version'],
    ]),
    '',
    'Global flags: -n NS, -A, --kubeconfig PATH, --context NAME, -o json|yaml',
    `Run \`${prog} COMMAND --help\` for a command's flags and an example.`,
    '',
  ].join('\n');
}

/** Runs one CLI command line; returns the exit status. Never throws. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(topic ? commandHelp(topic, io.prog) : topHelp(io.prog));
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr.write(
      `${io.prog.split(' ')[0]}: unknown command "${name}"; run \`${io.prog} --help\` for the list\n`,
    );
    return 2;
  }
  let ctx: CliContext | undefined;
  try {
    const options = Object.fromEntries(
      Object.entries({ ...GLOBAL_FLAGS, ...cmd.flags }).map(([n, f]) => [
        n,
        { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) },
      ]),
    );
    let parsed: { values: FlagValues; positionals: string[] };
    try {
      parsed = parseArgs({
        args: [...rest],
        options,
        strict: true,
        allowPositionals: true,
        allowNegative: true,
      }) as { values: FlagValues; positionals: string[] };
    } catch (err) {
      const flag = /'([^']+)'/.exec(err instanceof Error ? err.message : '')?.[1];
      throw new CliError(
        `${cmd.name}: ${flag ? `unknown or malformed flag ${flag}` : String(err)} (see \`${io.prog} ${cmd.name} --help\`)`,
        2,
      );
    }
    const { values, positionals } = parsed;
    if (values.help === true) {
      io.stdout.write(commandHelp(cmd, io.prog));
      return 0;
    }
    const output = OutputSchema.safeParse(values.output);
    if (!output.success) throw new CliError(`-o ${String(values.output)}: must be json or yaml`, 2);
    const flags: GlobalFlags = {
      kubeconfig: values.kubeconfig as string | undefined,
      context: values.context as string | undefined,
      namespace: values.namespace as string | undefined,
      allNamespaces: values['all-namespaces'] === true,
      output: output.data,
    };
    ctx = new CliContext(io, flags);
    return await cmd.run(ctx, { positionals, values });
  } catch (err) {
    io.stderr.write(`converge: ${oneLine(describeError(err, ctx))}\n`);
    if (err instanceof CliError && err.exitCode === 2) return 2;
    return cmd.errorExitCode ?? (err instanceof CliError ? err.exitCode : 1);
  } finally {
    ctx?.close();
  }
}

function describeError(err: unknown, ctx: CliContext | undefined): string {
  if (err instanceof ApiError && err.status === 0) {
    let server = '';
    try {
      server = ctx?.kubeConfig().server.href.replace(/\/$/, '') ?? '';
    } catch {
      // The kubeconfig itself failed: the message says so.
    }
    return `cannot reach the API server${server ? ` at ${server}` : ''}: ${err.message.replace(/^\w+ \S+: /, '')}`;
  }
  if (err instanceof ConvergeError) return `${err.reason}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}
