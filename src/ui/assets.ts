// Static assets of the status page, served by the operator itself (no CDN, no framework):
// the stylesheet, a small vanilla script for live updates, and the icon.
import { createHash } from 'node:crypto';

/** Colours keep at least 4.5:1 contrast with their background (WCAG AA for text). */
export const UI_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --line: #d0d7de;
  --link: #0550ae; --focus: #0969da; --head: #f6f8fa;
  --fail-fg: #a40e26; --fail-bg: #ffebe9; --prog-fg: #7d4e00; --prog-bg: #fff8c5;
  --susp-fg: #424a53; --susp-bg: #eaeef2; --ok-fg: #116329; --ok-bg: #dafbe1; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif;
  color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, select:focus-visible, input:focus-visible, main:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; }
.skip { position: absolute; left: -9999px; top: 0; background: var(--bg); padding: 8px 12px; z-index: 10; }
.skip:focus { left: 8px; top: 8px; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.top { display: flex; gap: 16px; align-items: baseline; padding: 10px 24px; border-bottom: 1px solid var(--line);
  background: var(--head); }
.brand { font-weight: 700; font-size: 17px; text-decoration: none; color: var(--fg); }
.conn { margin-left: auto; font-size: 13px; color: var(--muted); }
.conn[data-state="on"]::before { content: "\\25CF  "; color: var(--ok-fg); }
main { padding: 16px 24px 32px; }
footer { padding: 0 24px 24px; font-size: 13px; }
h1 { font-size: 22px; margin: 4px 0 12px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.muted, .none { color: var(--muted); }
.ns { color: var(--muted); }
.sources tbody th .ns { white-space: nowrap; }
.counts { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 0 0 12px; }
.count { text-decoration: none; }
.count .n { color: var(--fg); font-weight: 600; }
.filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; margin: 0 0 16px; }
.filters label { font-weight: 600; }
select, input, button { font: inherit; padding: 4px 8px; border: 1px solid #8c959f; border-radius: 6px;
  background: var(--bg); color: var(--fg); }
button { background: var(--head); cursor: pointer; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding: 0 0 6px; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px; border-bottom: 1px solid var(--line); }
thead th { background: var(--head); font-size: 13px; text-transform: uppercase; letter-spacing: .03em; }
tbody th { font-weight: 600; }
tr.failing > th:first-child { box-shadow: inset 4px 0 0 var(--fail-fg); }
tr.progressing > th:first-child { box-shadow: inset 4px 0 0 #bf8700; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 13px; font-weight: 600;
  white-space: nowrap; }
.badge.failing { color: var(--fail-fg); background: var(--fail-bg); }
.badge.progressing { color: var(--prog-fg); background: var(--prog-bg); }
.badge.suspended { color: var(--susp-fg); background: var(--susp-bg); }
.badge.ready { color: var(--ok-fg); background: var(--ok-bg); }
.reason { font-weight: 600; }
.msg { color: var(--fg); font-size: 13px; max-width: 60ch; overflow-wrap: anywhere; margin-top: 2px; }
.message { overflow-wrap: anywhere; white-space: pre-wrap; }
.drift.drifted, .result.bad, .health.unhealthy, .etype.warning, .cond.bad { color: var(--fail-fg); font-weight: 600; }
.drift.pending, .cond.warn { color: var(--prog-fg); font-weight: 600; }
.drift.in-sync, .result.ok, .health.healthy, .cond.good { color: var(--ok-fg); }
.health.unknown { color: var(--muted); }
.pending { font-size: 13px; color: var(--muted); margin-top: 2px; }
.crumbs { font-size: 14px; margin-bottom: 4px; }
.summary { margin: 0 0 12px; overflow-wrap: anywhere; }
.spec { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
.spec dt { font-weight: 600; color: var(--muted); }
.spec dd { margin: 0; overflow-wrap: anywhere; }
.changes { margin: 0; padding-left: 20px; }
.empty { color: var(--muted); }
.error { color: var(--fail-fg); font-weight: 600; }
.login { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
@keyframes flash { from { background: #fff8c5; } to { background: transparent; } }
tr.flash > * { animation: flash 1.5s ease-out; }
@media (prefers-reduced-motion: reduce) { tr.flash > * { animation: none; } }
@media (max-width: 800px) { main { padding: 12px; } th, td { padding: 6px; } }
`;

/**
 * Progressive enhancement only: the overview works without it. Subscribes to /events and replaces,
 * inserts or removes rows (keeping "failing first" order and the active filters), announces state
 * changes through the aria-live region, refreshes relative times, and on a GitSource page reloads
 * the page's main content when that GitSource changes. The token form stores a cookie.
 */
export const UI_JS = `'use strict';
(function () {
  var body = document.body;
  var page = body.getAttribute('data-page');
  var announce = document.getElementById('announce');
  var conn = document.getElementById('conn');
  var LABEL = { failing: 'Failing', progressing: 'Progressing', suspended: 'Suspended', ready: 'Ready' };

  var tokenForm = document.getElementById('token-form');
  if (tokenForm) {
    if (document.cookie.indexOf('converge-ui-token=') >= 0) {
      document.getElementById('token-error').hidden = false;
    }
    tokenForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var token = document.getElementById('token').value.trim();
      if (!token) return;
      document.cookie = 'converge-ui-token=' + encodeURIComponent(token) + '; Path=/; SameSite=Strict' +
        (location.protocol === 'https:' ? '; Secure' : '');
      location.reload();
    });
    return;
  }

  function ago(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return iso;
    var s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 10) return 'just now';
    if (s < 60) return s + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }
  function refreshTimes() {
    document.querySelectorAll('time[data-ago]').forEach(function (t) {
      t.textContent = ago(t.getAttribute('datetime'));
    });
    document.querySelectorAll('[data-ago-of]').forEach(function (t) {
      t.textContent = ago(t.getAttribute('data-ago-of'));
    });
  }
  setInterval(refreshTimes, 15000);

  if ((page !== 'overview' && page !== 'source') || !window.EventSource) return;

  function setConn(on, text) {
    if (!conn) return;
    conn.setAttribute('data-state', on ? 'on' : 'off');
    conn.textContent = text;
  }
  function say(text) {
    if (announce) announce.textContent = text;
  }
  // The footer says when what the page shows was rendered: it moves with each live update.
  function rendered(iso) {
    var t = document.getElementById('rendered-at');
    if (!t || !iso) return;
    t.setAttribute('datetime', iso);
    t.textContent = iso.replace('T', ' ').replace(/\\.\\d+Z$/, 'Z');
  }

  // Changes after the page was rendered are replayed; on reconnect the browser sends Last-Event-ID.
  // A position the server cannot replay from (another operator process answers now, or too much
  // changed) comes back as "reload": the page is then exactly what a reload shows.
  var es = new EventSource('/events?since=' + encodeURIComponent(body.getAttribute('data-since') || ''));
  es.addEventListener('reload', function () { es.close(); location.reload(); });
  es.onopen = function () { setConn(true, 'Live'); };
  es.onerror = function () { setConn(false, 'Reconnecting…'); };

  if (page === 'overview') {
    var table = document.getElementById('sources');
    var tbody = table.tBodies[0];
    var wantNs = table.getAttribute('data-filter-namespace');
    var wantState = table.getAttribute('data-filter-status');
    var shown = document.getElementById('shown');
    var empty = document.getElementById('empty');
    var rowId = function (key) { return 'gs:' + key; };
    var afterChange = function () {
      shown.textContent = String(tbody.rows.length);
      empty.hidden = tbody.rows.length > 0;
    };
    es.addEventListener('row', function (e) {
      var d = JSON.parse(e.data);
      var old = document.getElementById(rowId(d.key));
      var before = old ? old.getAttribute('data-state') : null;
      var hadFocus = old && old.contains(document.activeElement);
      var visible = (!wantNs || d.namespace === wantNs) && (!wantState || d.state === wantState);
      if (old) old.remove();
      if (visible) {
        var tpl = document.createElement('template');
        tpl.innerHTML = d.html.trim();
        var row = tpl.content.firstElementChild;
        var next = null;
        for (var i = 0; i < tbody.rows.length; i++) {
          if (tbody.rows[i].getAttribute('data-sort') > d.sort) { next = tbody.rows[i]; break; }
        }
        tbody.insertBefore(row, next);
        if (before !== d.state) row.classList.add('flash');
        if (hadFocus) { var a = row.querySelector('a'); if (a) a.focus(); }
      }
      if (old ? before !== d.state : visible) say(d.key + ' is now ' + LABEL[d.state] + ' (' + d.reason + ')');
      afterChange();
    });
    es.addEventListener('remove', function (e) {
      var d = JSON.parse(e.data);
      var old = document.getElementById(rowId(d.key));
      if (old) { old.remove(); say(d.key + ' was deleted'); }
      afterChange();
    });
    es.addEventListener('counts', function (e) {
      var c = JSON.parse(e.data);
      Object.keys(LABEL).forEach(function (s) {
        var el = document.querySelector('[data-count="' + s + '"] .n');
        if (el) el.textContent = String(c[s]);
      });
      var total = document.getElementById('total');
      if (total) total.textContent = String(c.total);
      rendered(c.at);
    });
  } else {
    var source = document.getElementById('source');
    var key = source && source.getAttribute('data-key');
    var busy = false, again = false;
    var reload = function () {
      if (busy) { again = true; return; }
      busy = true;
      fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, 'text/html');
          var next = doc.getElementById('source');
          var cur = document.getElementById('source');
          if (next && cur) {
            var beforeMsg = cur.querySelector('h1 .badge');
            var afterMsg = next.querySelector('h1 .badge');
            cur.replaceWith(document.importNode(next, true));
            var at = doc.getElementById('rendered-at');
            if (at) rendered(at.getAttribute('datetime'));
            if (beforeMsg && afterMsg && beforeMsg.textContent !== afterMsg.textContent) {
              say(key + ' is now ' + afterMsg.textContent.trim());
            }
          }
        })
        .catch(function () { /* the next update retries */ })
        .then(function () {
          busy = false;
          if (again) { again = false; reload(); }
        });
    };
    es.addEventListener('row', function (e) {
      if (JSON.parse(e.data).key === key) reload();
    });
    es.addEventListener('remove', function (e) {
      if (JSON.parse(e.data).key === key) say(key + ' was deleted');
    });
  }
})();
`;

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#116329"/><path d="M4 8.5l2.5 2.5L12 5.5" stroke="#fff" stroke-width="2" fill="none"/></svg>`;

/** Changes whenever an asset does, so browsers may cache them under a versioned URL. */
export const ASSET_VERSION = createHash('sha256')
  .update(UI_CSS)
  .update(UI_JS)
  .update(FAVICON_SVG)
  .digest('hex')
  .slice(0, 12);
