#!/usr/bin/env node
// Entry point of `converge` (and, through bin/kubectl-converge.js, of `kubectl converge`): the compiled
// composition root (npm run build → dist/); in a checkout without dist/, the TypeScript sources via tsx.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const dist = new URL('../dist/main.js', import.meta.url);
let main;
if (existsSync(dist)) {
  main = await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  main = await import(new URL('../src/main.ts', import.meta.url).href);
}
main.mainEntry().catch(main.exitOnError);
