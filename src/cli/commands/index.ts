// The CLI's commands in the order `converge --help` lists them; one small file per command.
import type { Command } from '../command.ts';
import { build } from './build.ts';
import { check } from './check.ts';
import { diff } from './diff.ts';
import { events } from './events.ts';
import { get } from './get.ts';
import { history } from './history.ts';
import { reconcile } from './reconcile.ts';
import { resumeTracking, rollback } from './rollback.ts';
import { resume, suspend } from './suspend.ts';
import { tree } from './tree.ts';

export const COMMANDS: readonly Command[] = [
  get,
  tree,
  build,
  diff,
  reconcile,
  suspend,
  resume,
  events,
  history,
  rollback,
  resumeTracking,
  check,
];
