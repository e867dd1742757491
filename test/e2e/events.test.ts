// Journey: Events tell transitions, not intervals: a converged source and a failing one both stay quiet
// over several no-op passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { applyGitSource, eventsFor, getGitSource, waitForCondition } from '../support/gitops.ts';
import { type OperatorProcess } from '../support/operator.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { configMap } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let operator: OperatorProcess;

let journey: Journey | undefined;
beforeAll(async () => {
  journey = await startJourney('events');
  ({ ns, fixture, http, operator } = journey);
});

afterAll(() => stopJourney(journey));

describe('events', () => {
  it('appear once per transition: neither a converged nor a failing source adds events over two intervals', async () => {
    const [good, bad] = await Promise.all([fixture.createRepo('good'), fixture.createRepo('bad')]);
    await Promise.all([
      commitFiles(good, { 'cm.yaml': configMap('quiet', { v: '1' }) }, 'good'),
      // A kind with no CRD: retried (a render failure would stall instead, with no retries to watch).
      commitFiles(
        bad,
        { 'w.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n' },
        'no CRD',
      ),
    ]);
    await applyGitSource(ns, 'good', { url: http.url('good'), interval: '5s', targetNamespace: ns });
    await applyGitSource(ns, 'bad', {
      url: http.url('bad'),
      interval: '5s',
      retryInterval: '5s',
      targetNamespace: ns,
    });
    await waitForCondition(ns, 'good', 'Ready', 'True');
    await waitForCondition(ns, 'bad', 'Ready', 'False', { reason: 'ApplyFailed' });

    const goodEvents = await eventsFor(ns, 'good');
    const badEvents = await eventsFor(ns, 'bad');
    expect(goodEvents.map((e) => e.reason)).toEqual(['Changed', 'Diverged', 'Converged']);
    expect(badEvents.filter((e) => e.reason === 'ReconcileFailed')).toHaveLength(1);
    const goodRv = (await getGitSource(ns, 'good'))?.metadata.resourceVersion;
    const retriesBefore = operator.logs.filter(
      (l) => l.includes('"gitsource":"' + ns + '/bad"') && l.includes('reconcile failed'),
    ).length;

    // Two 5 s intervals (and at least one retry of the failing source) pass.
    await new Promise((r) => setTimeout(r, 11_000));
    const retriesAfter = operator.logs.filter(
      (l) => l.includes('"gitsource":"' + ns + '/bad"') && l.includes('reconcile failed'),
    ).length;
    expect(retriesAfter, 'the failing source was retried meanwhile').toBeGreaterThan(retriesBefore);
    expect((await eventsFor(ns, 'good')).map((e) => e.metadata.name)).toEqual(
      goodEvents.map((e) => e.metadata.name),
    );
    expect((await eventsFor(ns, 'bad')).map((e) => e.metadata.name)).toEqual(
      badEvents.map((e) => e.metadata.name),
    );
    // The events.k8s.io series (a repeat count on one Event) must not grow either.
    const series = (await eventsFor(ns, 'bad')) as unknown as { series?: { count: number } }[];
    expect(series.every((e) => e.series === undefined)).toBe(true);
    expect((await getGitSource(ns, 'good'))?.metadata.resourceVersion).toBe(goodRv);
  }, 40_000);
});
