// How a failed reconcile maps to conditions: the reason, whether it stalls, and whether Converged stays.
import { ConvergeError, DeadlineExceeded, asConvergeError, type FailureReason } from '../api/index.ts';

/** The named steps of a reconcile, in order; the one running when a failure happened is reported. */
export type Step =
  | 'dependencies'
  | 'credentials'
  | 'resolve'
  | 'fetch'
  | 'render'
  | 'plan'
  | 'apply'
  | 'hooks'
  | 'prune'
  | 'wait'
  | 'report';

/** The reason a step's failure gets when the error does not carry one of its own. */
const STEP_REASON: Record<Step, FailureReason> = {
  dependencies: 'DependencyNotReady',
  credentials: 'MissingSecret',
  resolve: 'FetchFailed',
  fetch: 'FetchFailed',
  render: 'RenderFailed',
  plan: 'ApplyFailed',
  apply: 'ApplyFailed',
  hooks: 'HookFailed',
  prune: 'PruneFailed',
  wait: 'HealthCheckFailed',
  report: 'ApplyFailed',
};

/** What a user reads when the whole-reconcile deadline ran out during a step. */
const STEP_ACTIVITY: Record<Step, string> = {
  dependencies: 'checking dependencies',
  credentials: 'reading the git credentials',
  resolve: 'git ls-remote',
  fetch: 'git fetch',
  render: 'rendering manifests',
  plan: 'planning (server-side dry-run)',
  apply: 'applying',
  hooks: 'running hooks',
  prune: 'pruning',
  wait: 'waiting for health',
  report: 'writing status',
};

/**
 * Failures that leave the live objects as the last good revision left them: Converged keeps its
 * value, since nothing was changed in the cluster.
 */
const KEEPS_CONVERGED: ReadonlySet<FailureReason> = new Set([
  'FetchFailed',
  'AuthenticationFailed',
  'RefNotFound',
  'MissingSecret',
  'DependencyNotReady',
  'VerificationFailed',
]);

export interface Failure {
  reason: FailureReason;
  message: string;
  stalled: boolean;
  converged: 'keep' | 'false';
}

/**
 * Classifies a reconcile failure. `abortReason` is the run's abort reason, if it was aborted: a
 * deadline names the step that was running, whatever error that step threw on its way out.
 */
export function classifyFailure(err: unknown, step: Step, abortReason?: unknown): Failure {
  let e: ConvergeError;
  if (abortReason instanceof DeadlineExceeded && !(step === 'wait' && err instanceof ConvergeError)) {
    e = new ConvergeError(STEP_REASON[step], `${STEP_ACTIVITY[step]} ${abortReason.message} (spec.timeout)`);
  } else {
    e = asConvergeError(err, STEP_REASON[step]);
  }
  return {
    reason: e.reason,
    message: e.message,
    stalled: e.stalled,
    converged: KEEPS_CONVERGED.has(e.reason) ? 'keep' : 'false',
  };
}
