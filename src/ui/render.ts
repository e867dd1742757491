// Server-rendered pages of the status page: pure functions from view models to HTML strings,
// every value from Git or the cluster inserted through `html` (escaped).
import type { Condition } from '../api/index.ts';
import { html, type SafeHtml } from './html.ts';
import {
  ago,
  STATE_LABEL,
  STATES,
  type Filters,
  type HistoryView,
  type InventoryView,
  type RecentEvent,
  type RevisionView,
  type SourceDetail,
  type SourceRow,
  type SourceState,
  type StateCounts,
} from './model.ts';

export interface PageContext {
  now: Date;
  /** Cache-busting version of /assets/ui.css and /assets/ui.js. */
  assetVersion: string;
  /**
   * Where the live stream stood when the page was rendered (`<epoch>.<batch>`, as its event ids):
   * the script asks for what came after.
   */
  since?: string;
}

/** Longest message shown in an overview row; the GitSource page shows it whole. */
const ROW_MESSAGE_MAX = 300;

const ICON: Record<SourceState, string> = {
  failing: '✗',
  progressing: '↻',
  suspended: '‖',
  ready: '✓',
};

export function sourcePath(namespace: string, name: string): string {
  return `/gitsources/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `2026-11-26 20:31:05Z` from an RFC 3339 time; the raw text if it does not parse. */
export function formatTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

function relativeTime(iso: string | undefined, now: Date): SafeHtml {
  if (!iso) return html`<span class="none">—</span>`;
  return html`<time datetime="${iso}" title="${formatTime(iso)}" data-ago>${ago(iso, now)}</time>`;
}

function absoluteTime(iso: string, now: Date): SafeHtml {
  return html`<time datetime="${iso}">${formatTime(iso)}</time>
    <span class="muted">(<span data-ago-of="${iso}">${ago(iso, now)}</span>)</span>`;
}

function revisionLink(rev: RevisionView | undefined): SafeHtml {
  if (!rev) return html`<span class="none">—</span>`;
  if (rev.commitUrl)
    return html`<a class="rev" href="${rev.commitUrl}" rel="noopener noreferrer" title="${rev.full}"
      ><code>${rev.short}</code></a
    >`;
  return html`<code class="rev" title="${rev.full}">${rev.short}</code>`;
}

function stateBadge(state: SourceState): SafeHtml {
  return html`<span class="badge ${state}"
    ><span aria-hidden="true">${ICON[state]}</span> ${STATE_LABEL[state]}</span
  >`;
}

/** Good or bad only where the status says so: Ready/Converged True is good, False bad; Stalled True bad. */
function conditionStatus(c: Pick<Condition, 'type' | 'status'>): SafeHtml {
  let tone = 'neutral';
  if (c.type === 'Ready' || c.type === 'Converged')
    tone = c.status === 'True' ? 'good' : c.status === 'False' ? 'bad' : 'neutral';
  else if (c.type === 'Stalled' && c.status === 'True') tone = 'bad';
  else if (c.type === 'Diverged' && c.status === 'True') tone = 'warn';
  return html`<span class="cond ${tone}">${c.status}</span>`;
}

/** The applied revision, and the fetched one beside it when that is not applied (yet). */
function revisions(row: SourceRow): SafeHtml {
  return html`${revisionLink(row.revision)}${
    row.pending ? html`<div class="pending">fetched ${revisionLink(row.pending)}, not applied</div>` : ''
  }`;
}

/** One overview row; also what the live stream sends to replace a row in place. */
export function renderRow(row: SourceRow, now: Date): SafeHtml {
  const showMessage = row.state === 'failing' || row.state === 'progressing';
  return html`<tr
    id="gs:${row.key}"
    class="${row.state}"
    data-key="${row.key}"
    data-namespace="${row.namespace}"
    data-state="${row.state}"
    data-sort="${row.sort}"
  >
    <th scope="row">
      <a href="${sourcePath(row.namespace, row.name)}"
        ><span class="ns">${row.namespace}/</span><wbr /><span class="name">${row.name}</span></a
      >
    </th>
    <td class="cluster">${row.cluster}</td>
    <td class="ready">
      ${stateBadge(row.state)}
      ${row.ready.reason !== STATE_LABEL[row.state] ? html`<span class="reason">${row.ready.reason}</span>` : ''}
      ${
        showMessage && row.ready.message
          ? html`<div class="msg" title="${clip(row.ready.message, 2000)}">
              ${clip(row.ready.message, ROW_MESSAGE_MAX)}
            </div>`
          : ''
      }
    </td>
    <td>${revisions(row)}</td>
    <td>${relativeTime(row.lastApplied, now)}</td>
    <td>${row.changes || html`<span class="none">—</span>`}</td>
    <td><span class="drift ${row.drift.kind}">${row.drift.text}</span></td>
  </tr>`;
}

function layout(ctx: PageContext, page: string, title: string, main: SafeHtml): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · Converge</title>
        <link rel="stylesheet" href="/assets/ui.css?v=${ctx.assetVersion}" />
        <link rel="icon" href="/assets/favicon.svg?v=${ctx.assetVersion}" type="image/svg+xml" />
        <script src="/assets/ui.js?v=${ctx.assetVersion}" defer></script>
      </head>
      <body data-page="${page}" data-since="${ctx.since ?? ''}">
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">Converge</a>
          <span class="muted">GitSource status · read-only</span>
          <span class="conn" id="conn" data-state="off">Live updates off</span>
        </header>
        <main id="main" tabindex="-1">${main}</main>
        <p id="announce" class="visually-hidden" role="status" aria-live="polite"></p>
        <footer class="muted">
          Rendered
          <time id="rendered-at" datetime="${ctx.now.toISOString()}"
            >${formatTime(ctx.now.toISOString())}</time
          >
          from the operator's cache.
        </footer>
      </body>
    </html> `.value;
}

export interface OverviewData {
  rows: SourceRow[];
  filters: Filters;
  namespaces: string[];
  counts: StateCounts;
}

function filterHref(filters: Filters): string {
  const q = new URLSearchParams();
  if (filters.namespace) q.set('namespace', filters.namespace);
  if (filters.status) q.set('status', filters.status);
  const s = q.toString();
  return s ? `/?${s}` : '/';
}

export function renderCounts(counts: StateCounts): SafeHtml {
  // Counts are over every GitSource, so their links drop the namespace filter.
  return html`<p class="counts" id="counts">
    <span>${counts.total} GitSource${counts.total === 1 ? '' : 's'}:</span>
    ${STATES.map(
      (s) =>
        html`<a class="count ${s}" href="${filterHref({ status: s })}" data-count="${s}"
          >${stateBadge(s)} <span class="n">${counts[s]}</span></a
        >`,
    )}
  </p>`;
}

export function renderOverview(data: OverviewData, ctx: PageContext): string {
  const { rows, filters, namespaces, counts } = data;
  const namespaceOptions = [...new Set([...namespaces, ...(filters.namespace ? [filters.namespace] : [])])];
  const main = html`<h1>GitSources</h1>
    ${renderCounts(counts)}
    <form class="filters" method="get" action="/" role="search" aria-label="Filter GitSources">
      <label for="f-namespace">Namespace</label>
      <select id="f-namespace" name="namespace">
        <option value="">All namespaces</option>
        ${namespaceOptions.map(
          (ns) =>
            html`<option value="${ns}" ${ns === filters.namespace ? html`selected` : ''}>${ns}</option>`,
        )}
      </select>
      <label for="f-status">Status</label>
      <select id="f-status" name="status">
        <option value="">All statuses</option>
        ${STATES.map(
          (s) =>
            html`<option value="${s}" ${s === filters.status ? html`selected` : ''}>
              ${STATE_LABEL[s]}
            </option>`,
        )}
      </select>
      <button type="submit">Apply filters</button>
      ${filters.namespace || filters.status ? html`<a href="/">Clear filters</a>` : ''}
    </form>
    <table
      id="sources"
      class="sources"
      data-filter-namespace="${filters.namespace ?? ''}"
      data-filter-status="${filters.status ?? ''}"
    >
      <caption>
        <span id="shown">${rows.length}</span>
        of
        <span id="total">${counts.total}</span>
        GitSources${
          filters.namespace ? html` in namespace <strong>${filters.namespace}</strong>` : ''
        }${filters.status ? html`, status <strong>${STATE_LABEL[filters.status]}</strong>` : ''};
        failing first
      </caption>
      <thead>
        <tr>
          <th scope="col">GitSource</th>
          <th scope="col">Cluster</th>
          <th scope="col">Ready</th>
          <th scope="col">Revision</th>
          <th scope="col">Last applied</th>
          <th scope="col">Last change set</th>
          <th scope="col">Drift</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map((r) => renderRow(r, ctx.now))}
      </tbody>
    </table>
    <p id="empty" class="empty" ${rows.length ? html`hidden` : ''}>No GitSource matches these filters.</p>`;
  return layout(ctx, 'overview', 'GitSources', main);
}

function section(id: string, title: string, body: SafeHtml): SafeHtml {
  return html`<section id="${id}" aria-labelledby="${id}-title">
    <h2 id="${id}-title">${title}</h2>
    ${body}
  </section>`;
}

function conditionsTable(conditions: Condition[], now: Date): SafeHtml {
  if (!conditions.length) return html`<p class="none">No conditions yet: not reconciled.</p>`;
  return html`<table class="conditions">
    <caption class="visually-hidden">
      Conditions
    </caption>
    <thead>
      <tr>
        <th scope="col">Type</th>
        <th scope="col">Status</th>
        <th scope="col">Reason</th>
        <th scope="col">Message</th>
        <th scope="col">Last transition</th>
      </tr>
    </thead>
    <tbody>
      ${conditions.map(
        (c) =>
          html`<tr data-condition="${c.type}">
            <th scope="row">${c.type}</th>
            <td>${conditionStatus(c)}</td>
            <td>${c.reason}</td>
            <td class="message">${c.message}</td>
            <td>${absoluteTime(c.lastTransitionTime, now)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function previewsTable(previews: SourceDetail['previews']): SafeHtml {
  return html`<table class="previews">
    <thead>
      <tr>
        <th scope="col">Pull request</th>
        <th scope="col">Head</th>
        <th scope="col">State</th>
        <th scope="col">Namespace</th>
        <th scope="col">Message</th>
      </tr>
    </thead>
    <tbody>
      ${previews.map(
        (p) =>
          html`<tr>
            <td>
              ${p.url ? html`<a href="${p.url}" rel="noreferrer">#${String(p.number)}</a>` : `#${p.number}`}
            </td>
            <td><code>${p.head}</code></td>
            <td>${p.state}</td>
            <td>${p.namespace}</td>
            <td>${p.message}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function historyTable(history: HistoryView[], now: Date): SafeHtml {
  if (!history.length) return html`<p class="none">No revision applied or failed yet.</p>`;
  return html`<table class="history">
    <caption class="visually-hidden">
      History, newest first
    </caption>
    <thead>
      <tr>
        <th scope="col">Revision</th>
        <th scope="col">Result</th>
        <th scope="col">At</th>
        <th scope="col">Duration</th>
      </tr>
    </thead>
    <tbody>
      ${history.map(
        (h) =>
          html`<tr>
            <th scope="row">${revisionLink(h.revision)}</th>
            <td><span class="result ${h.ok ? 'ok' : 'bad'}">${h.result}</span></td>
            <td>${absoluteTime(h.appliedAt, now)}</td>
            <td>${h.duration}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function inventoryTable(inventory: InventoryView[], note: string): SafeHtml {
  if (!inventory.length) return html`<p class="none">No objects applied yet.</p>`;
  return html`<p class="muted">${inventory.length} object${inventory.length === 1 ? '' : 's'}. ${note}</p>
    <table class="inventory">
      <caption class="visually-hidden">
        Inventory
      </caption>
      <thead>
        <tr>
          <th scope="col">Kind</th>
          <th scope="col">Namespace</th>
          <th scope="col">Name</th>
          <th scope="col">API version</th>
          <th scope="col">Health</th>
        </tr>
      </thead>
      <tbody>
        ${inventory.map(
          (o) =>
            html`<tr>
              <td>${o.kind}</td>
              <td>${o.namespace || html`<span class="none">cluster</span>`}</td>
              <th scope="row">${o.name}</th>
              <td>${o.apiVersion}</td>
              <td><span class="health ${o.health.state}">${o.health.text}</span></td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function eventsTable(events: RecentEvent[], now: Date): SafeHtml {
  if (!events.length)
    return html`<p class="none">
      No Events recorded by this operator process since it started (a standby replica records none).
      <code>kubectl describe gitsource</code> lists all of them.
    </p>`;
  return html`<table class="events">
    <caption class="visually-hidden">
      Recent Events, newest first
    </caption>
    <thead>
      <tr>
        <th scope="col">Time</th>
        <th scope="col">Type</th>
        <th scope="col">Reason</th>
        <th scope="col">Message</th>
      </tr>
    </thead>
    <tbody>
      ${events.map(
        (e) =>
          html`<tr>
            <td>${absoluteTime(e.time, now)}</td>
            <td><span class="etype ${e.type === 'Warning' ? 'warning' : 'normal'}">${e.type}</span></td>
            <th scope="row">${e.reason}</th>
            <td class="message">${e.note}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function renderSource(d: SourceDetail, ctx: PageContext): string {
  const { row } = d;
  const main = html`<nav aria-label="Breadcrumb" class="crumbs">
      <a href="/">All GitSources</a> /
      <a href="${filterHref({ namespace: row.namespace })}">${row.namespace}</a> /
    </nav>
    <div id="source" data-key="${row.key}">
      <h1><span class="ns">${row.namespace}/</span>${row.name} ${stateBadge(row.state)}</h1>
      <p class="summary">
        <span class="reason">${row.ready.reason}</span>:
        <span class="message" id="ready-message">${row.ready.message}</span>
      </p>
      <dl class="spec">
        ${d.spec.map(
          ([k, v]) =>
            html`<dt>${k}</dt>
              <dd>${v}</dd>`,
        )}
        <dt>Revision</dt>
        <dd>${revisions(row)}</dd>
        <dt>Drift state</dt>
        <dd><span class="drift ${row.drift.kind}">${row.drift.text}</span></dd>
      </dl>
      ${section('conditions', 'Conditions', conditionsTable(d.conditions, ctx.now))}
      ${section(
        'changes',
        'Last change set',
        d.changes.length
          ? html`<ul class="changes">
              ${d.changes.map((c) => html`<li><code>${c}</code></li>`)}
            </ul>`
          : html`<p class="none">${row.changes || 'No change set recorded.'}</p>`,
      )}
      ${section('history', 'History', historyTable(d.history, ctx.now))}
      ${d.previews.length ? section('previews', 'Pull request previews', previewsTable(d.previews)) : html``}
      ${section('inventory', 'Inventory', inventoryTable(d.inventory, d.healthNote))}
      ${section('events', 'Recent Events', eventsTable(d.events, ctx.now))}
    </div>`;
  return layout(ctx, 'source', `${row.namespace}/${row.name}`, main);
}

export function renderNotFound(what: string, ctx: PageContext): string {
  return layout(
    ctx,
    'error',
    'Not found',
    html`<h1>Not found</h1>
      <p>${what}</p>
      <p><a href="/">All GitSources</a></p>`,
  );
}

/** The 401 page: a token form that ui.js turns into a cookie (the page stays GET-only). */
export function renderUnauthorized(ctx: PageContext): string {
  return layout(
    ctx,
    'login',
    'Sign in',
    html`<h1>Access token required</h1>
      <p>
        This status page asks for the token in the Secret named by <code>--ui-token-file</code> (chart:
        <code>ui.tokenSecret</code>). Send it as <code>Authorization: Bearer &lt;token&gt;</code>, or enter it
        here (kept in a cookie for this site only; needs JavaScript).
      </p>
      <form id="token-form" class="login" method="get" action="/">
        <label for="token">Access token</label>
        <input id="token" type="password" autocomplete="current-password" required />
        <button type="submit">Open the status page</button>
      </form>
      <p id="token-error" class="error" role="alert" hidden>That token was not accepted.</p>`,
  );
}
