// converge_condition is read from the GitSources at each scrape: always what they say now.
import { describe, expect, it } from 'vitest';
import { createMetrics, type ConditionHolder } from '../../../src/server/metrics.ts';

const source = (name: string, conditions: Array<[string, string]>): ConditionHolder => ({
  metadata: { name, namespace: 'apps' },
  status: { conditions: conditions.map(([type, status]) => ({ type, status })) },
});

/** The converge_condition lines of one scrape, without the HELP and TYPE lines. */
async function conditionLines(metrics: ReturnType<typeof createMetrics>): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((l) => l.startsWith('converge_condition{'));
}

describe('converge_condition', () => {
  it('has a series per status of each condition a GitSource has now, and none for what went away', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const list = [
      source('web', [
        ['Ready', 'False'],
        ['Reconciling', 'True'],
      ]),
      source('api', [['Ready', 'True']]),
    ];
    metrics.reportConditionsOf(() => list);
    expect(await conditionLines(metrics)).toEqual([
      'converge_condition{name="web",namespace="apps",type="Ready",status="True"} 0',
      'converge_condition{name="web",namespace="apps",type="Ready",status="False"} 1',
      'converge_condition{name="web",namespace="apps",type="Ready",status="Unknown"} 0',
      'converge_condition{name="web",namespace="apps",type="Reconciling",status="True"} 1',
      'converge_condition{name="web",namespace="apps",type="Reconciling",status="False"} 0',
      'converge_condition{name="web",namespace="apps",type="Reconciling",status="Unknown"} 0',
      'converge_condition{name="api",namespace="apps",type="Ready",status="True"} 1',
      'converge_condition{name="api",namespace="apps",type="Ready",status="False"} 0',
      'converge_condition{name="api",namespace="apps",type="Ready",status="Unknown"} 0',
    ]);
    // web finished reconciling (the condition is gone) and api was deleted.
    list.splice(0, 2, source('web', [['Ready', 'True']]));
    expect(await conditionLines(metrics)).toEqual([
      'converge_condition{name="web",namespace="apps",type="Ready",status="True"} 1',
      'converge_condition{name="web",namespace="apps",type="Ready",status="False"} 0',
      'converge_condition{name="web",namespace="apps",type="Ready",status="Unknown"} 0',
    ]);
  });

  it('is empty until something reports conditions, and for a GitSource with no status yet', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect(await conditionLines(metrics)).toEqual([]);
    metrics.reportConditionsOf(() => [{ metadata: { name: 'new', namespace: 'apps' } }]);
    expect(await conditionLines(metrics)).toEqual([]);
  });
});
