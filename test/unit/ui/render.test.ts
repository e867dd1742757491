// The status page's render functions: hostile names and messages come out escaped, long messages
// clipped in rows but whole on the GitSource page, and the markup is accessible.
import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../../src/ui/html.ts';
import { countStates, detailOf, overviewRows } from '../../../src/ui/model.ts';
import { renderOverview, renderRow, renderSource, renderUnauthorized } from '../../../src/ui/render.ts';
import { rowOf } from '../../../src/ui/model.ts';
import { cond, failingSource, readySource, source } from './fixtures.ts';

const ctx = { now: new Date('2026-11-26T21:00:00Z'), assetVersion: 'test' };
const HOSTILE = `<script>alert("x")</script>"onmouseover='steal()' ` + '`${1}`&amp;';

/** Every `<script` in the page: only our own external one is allowed. */
const scriptTags = (page: string) => page.match(/<script\b[^>]*>/g) ?? [];

describe('escapeHtml and html', () => {
  it('escapes the characters that open tags, attributes or entities', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;',
    );
  });

  it('escapes interpolations but keeps nested html and arrays of it', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x"'}">${inner}${['<', html`<br />`]}</p>`.value).toBe(
      '<p title="&quot;x&quot;"><b>&lt;i&gt;</b>&lt;<br /></p>',
    );
  });

  it('drops null, undefined and false', () => {
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
  });
});

describe('renderOverview', () => {
  const hostile = failingSource('apps', 'web', HOSTILE);
  hostile.status!.revision = `main<img src=x onerror=alert(1)>@sha1:${'a'.repeat(40)}`;
  const sources = [readySource('apps', 'good'), hostile, source('infra', 'new')];
  const page = renderOverview(
    {
      rows: overviewRows(sources, {}),
      filters: {},
      namespaces: ['apps', 'infra'],
      counts: countStates(sources),
    },
    ctx,
  );

  it('escapes messages and revisions from the cluster', () => {
    expect(scriptTags(page)).toEqual(['<script src="/assets/ui.js?v=test" defer>']);
    expect(page).not.toContain('<img');
    expect(page).not.toMatch(/[^;]onmouseover=/);
    expect(page).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&quot;onmouseover=&#39;steal()&#39;',
    );
    expect(page).toContain('&#96;${1}&#96;&amp;amp;');
  });

  it('is a labelled, semantic table with the failing row first', () => {
    expect(page).toMatch(/<html lang="en">/);
    expect(page).toMatch(/<caption>/);
    expect(page.match(/<th scope="col">/g)).toHaveLength(7);
    expect(page).toContain('<label for="f-namespace">Namespace</label>');
    expect(page).toContain('<label for="f-status">Status</label>');
    expect(page).toContain('aria-live="polite"');
    const order = [...page.matchAll(/data-key="([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual(['apps/web', 'infra/new', 'apps/good']);
  });

  it('links the commit on a known host, opening without a referrer', () => {
    expect(page).toContain(
      '<a class="rev" href="https://github.com/org/good/commit/4f2c1a0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a" rel="noopener noreferrer"',
    );
  });

  it('says when nothing matches', () => {
    const empty = renderOverview(
      { rows: [], filters: { status: 'failing' }, namespaces: [], counts: countStates([]) },
      ctx,
    );
    expect(empty).toMatch(/<p id="empty" class="empty"\s*>No GitSource matches/);
    expect(empty).toContain('<a href="/">Clear filters</a>');
  });

  it('keeps a hostile namespace filter value inside its attribute', () => {
    const p = renderOverview(
      { rows: [], filters: { namespace: '"><script>x</script>' }, namespaces: [], counts: countStates([]) },
      ctx,
    );
    expect(scriptTags(p)).toHaveLength(1);
    expect(p).toContain('data-filter-namespace="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
  });
});

describe('renderRow', () => {
  it('clips a very long message in the row', () => {
    const long = 'x'.repeat(50_000);
    const row = renderRow(rowOf(failingSource('apps', 'web', long)), ctx.now).value;
    expect(row.length).toBeLessThan(5_000);
    expect(row).toContain(`${'x'.repeat(299)}…`);
  });
});

describe('renderSource', () => {
  it('shows conditions, change set, history, inventory and Events, all escaped', () => {
    const gs = readySource('apps', 'web');
    gs.status!.conditions!.push(cond('Stalled', 'True', 'InvalidSpec', HOSTILE));
    gs.status!.changes = [`ConfigMap/apps/${HOSTILE} created`];
    const page = renderSource(
      detailOf(gs, [
        { time: '2026-11-26T20:00:01Z', type: 'Warning', reason: 'ReconcileFailed', note: HOSTILE },
      ]),
      ctx,
    );
    expect(scriptTags(page)).toHaveLength(1);
    expect(page.match(/&lt;script&gt;alert/g)).toHaveLength(3);
    for (const h of ['Conditions', 'Last change set', 'History', 'Inventory', 'Recent Events'])
      expect(page).toContain(`>${h}</h2>`);
    expect(page).toContain('<time datetime="2026-11-26T20:00:00Z">2026-11-26 20:00:00Z</time>');
    expect(page).toContain('<span class="health healthy">Healthy</span>');
  });

  it('shows a very long message whole', () => {
    const long = `${'y'.repeat(20_000)}END`;
    const page = renderSource(detailOf(failingSource('apps', 'web', long), []), ctx);
    expect(page).toContain(`${'y'.repeat(20_000)}END`);
  });

  it('escapes hostile names in the heading and links', () => {
    const gs = readySource('ns"<x>', 'name&<y>');
    const page = renderSource(detailOf(gs, []), ctx);
    expect(page).not.toContain('<x>');
    expect(page).toContain('href="/?namespace=ns%22%3Cx%3E"');
  });
});

describe('renderUnauthorized', () => {
  it('has a labelled token field that is never sent in the URL', () => {
    const page = renderUnauthorized(ctx);
    expect(page).toContain('<label for="token">Access token</label>');
    expect(page).not.toMatch(/<input[^>]*name=/);
  });
});
