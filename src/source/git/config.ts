// The one place that decides how git runs: environment, config overrides and every safety switch, with why.
import type { GitTransport } from './validate.ts';

/**
 * We spawn git directly (child_process) rather than through simple-git 4 (so it is not a
 * dependency, although it was in the chosen stack): its environment guards
 * refuse GIT_ASKPASS, GIT_SSH_COMMAND, GIT_CONFIG_* and -c protocol overrides unless each is
 * unlocked with an `unsafe` flag, and those are exactly the variables this module must set. Spawning
 * directly lets us build the environment from scratch (nothing inherited), kill the whole process
 * group on timeout, and count every git process for the benchmark.
 */
export const GIT_BINARY = 'git';

/** Config passed through GIT_CONFIG_COUNT/KEY/VALUE: not argv (visible in ps) and not .git/config. */
function safetyConfig(allowFileUrls: boolean): Array<[string, string]> {
  return [
    // Hooks from a fetched repository must never run; /dev/null is not a directory, so no hook is found.
    ['core.hooksPath', '/dev/null'],
    // A symlink in Git could point the renderer at a file outside the checkout (say the controller's
    // service account token); with symlinks off git writes the link target as a plain file instead.
    ['core.symlinks', 'false'],
    ['core.fsmonitor', 'false'],
    // The ext:: transport runs arbitrary commands; file:// only for development and tests.
    ['protocol.ext.allow', 'never'],
    ['protocol.file.allow', allowFileUrls ? 'always' : 'never'],
    ['submodule.recurse', 'false'],
    ['fetch.recurseSubmodules', 'false'],
    // No credential helper may answer for us: credentials come only from the GitSource's secret.
    ['credential.helper', ''],
    // Auto gc/maintenance would fork detached processes that outlive the timeout and the tests.
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
    ['fetch.writeCommitGraph', 'false'],
    ['advice.detachedHead', 'false'],
    ['init.defaultBranch', 'main'],
  ];
}

export interface GitEnvInput {
  allowFileUrls: boolean;
  transport: GitTransport;
  /** Extra config entries (e.g. http.extraHeader with credentials): passed by env, never argv. */
  extraConfig: Array<[string, string]>;
  /** GIT_SSH_COMMAND for ssh transports; must contain no secret (only temp file paths). */
  sshCommand?: string;
  /** PATH for finding git and ssh. */
  path: string;
}

/** A fresh environment for one git process; nothing is inherited from the controller's own env. */
export function gitEnv(input: GitEnvInput): Record<string, string> {
  const config = [...safetyConfig(input.allowFileUrls), ...input.extraConfig];
  const env: Record<string, string> = {
    PATH: input.path,
    // Ignore the machine's and user's git config entirely: only safetyConfig applies.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    HOME: '/nonexistent',
    // Stable English messages: errors are classified by their text.
    LC_ALL: 'C',
    LANG: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: input.allowFileUrls ? 'http:https:ssh:file' : 'http:https:ssh',
    GIT_LFS_SKIP_SMUDGE: '1',
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_CONFIG_COUNT: String(config.length),
  };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  if (input.transport === 'ssh' && input.sshCommand) env.GIT_SSH_COMMAND = input.sshCommand;
  // Without a command, a default ssh would read ~/.ssh and prompt on unknown hosts; refuse instead.
  if (input.transport === 'ssh' && !input.sshCommand) env.GIT_SSH_COMMAND = 'false';
  return env;
}
