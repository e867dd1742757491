// The set-up every journey test file shares: its own namespace, an HTTP git server and the real
// operator watching that namespace; torn down in reverse.
import { createNamespace, deleteNamespace } from './cluster.ts';
import { startGitFixture, type GitFixture, type HttpGitServer } from './git-server.ts';
import { startOperator, type OperatorProcess } from './operator.ts';

export interface Journey {
  ns: string;
  fixture: GitFixture;
  http: HttpGitServer;
  operator: OperatorProcess;
}

export async function startJourney(prefix: string, opts: { notifyAllow?: string[] } = {}): Promise<Journey> {
  const ns = await createNamespace(prefix);
  const fixture = await startGitFixture();
  try {
    const [http, operator] = await Promise.all([
      fixture.serveHttp(),
      startOperator({ namespace: ns, ...opts }),
    ]);
    return { ns, fixture, http, operator };
  } catch (err) {
    await fixture.close();
    await deleteNamespace(ns);
    throw err;
  }
}

export async function stopJourney(journey: Journey | undefined): Promise<void> {
  if (!journey) return;
  await journey.operator.stop();
  await journey.fixture.close();
  await deleteNamespace(journey.ns);
}
