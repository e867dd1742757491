// Printing objects for -o json|yaml: one object as is, several as a v1 List (as kubectl does).
import type { CliContext } from './context.ts';
import { toYaml } from './format/changes.ts';

export function printObjects(ctx: CliContext, format: 'json' | 'yaml', value: unknown): void {
  ctx.out(format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value));
}

export function asList(items: unknown[]): { apiVersion: 'v1'; kind: 'List'; items: unknown[] } {
  return { apiVersion: 'v1', kind: 'List', items };
}
