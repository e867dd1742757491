// Journey: the status page in a real browser (Debian's chromium via playwright-core) against the
// real operator: sources in different states, a commit that changes a row live without reload, a
// failing source's message, drift shown as it happens, keyboard use, and the overview without JavaScript.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import {
  commitFiles,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
} from '../support/git-server.ts';
import { applyGitSource, getGitSource, requestReconcile, waitForCondition } from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';

/** A file name that is markup: the render error names it, and the page must show it as text. */
const HOSTILE_FILE = '<img src=x onerror=alert(1)>.yaml';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let operator: OperatorProcess;
let browser: Browser;
let base: string;
let webRepo: GitRepo;
const problems: string[] = [];

function watchProblems(page: Page): void {
  page.on('console', (m: ConsoleMessage) => {
    // A server that stops mid-stream (the restart test restarts converge run) cuts the event stream: expected.
    if (m.type() === 'error' && !m.text().includes('ERR_INCOMPLETE_CHUNKED_ENCODING'))
      problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
}

beforeAll(async () => {
  ns = await createNamespace('ui');
  fixture = await startGitFixture();
  [http, operator, browser] = await Promise.all([
    fixture.serveHttp(),
    startOperator({ namespace: ns, args: ['--leader-elect=false', '--ui-addr', '127.0.0.1:0'] }),
    launchBrowser(),
  ]);
  const started = JSON.parse(operator.logs.find((l) => l.includes('converge starting'))!) as {
    uiPort: number;
  };
  base = `http://127.0.0.1:${started.uiPort}`;

  const [web, broken, report] = await Promise.all(
    ['web', 'broken', 'report'].map((n) => fixture.createRepo(n)),
  );
  webRepo = web!;
  await Promise.all([
    commitFiles(web!, { 'cm.yaml': configMap('web', { v: '1' }) }, 'web v1'),
    commitFiles(broken!, { [HOSTILE_FILE]: 'kind: ConfigMap\nmetadata: [\n' }, 'broken'),
    commitFiles(report!, { 'cm.yaml': configMap('reported', { v: '1' }) }, 'report v1'),
  ]);
  const common = { interval: '1m', retryInterval: '5s', targetNamespace: ns };
  await applyGitSource(ns, 'web', { url: http.url('web'), ...common });
  await applyGitSource(ns, 'broken', { url: http.url('broken'), ...common });
  await applyGitSource(ns, 'report', { url: http.url('report'), drift: 'Report', ...common });
  await applyGitSource(ns, 'missing', { url: http.url('does-not-exist'), ...common });
  await applyGitSource(ns, 'paused', { url: 'https://github.com/org/fleet.git', suspend: true, ...common });
  await Promise.all([
    waitForCondition(ns, 'web', 'Ready', 'True'),
    waitForCondition(ns, 'report', 'Ready', 'True'),
    waitForCondition(ns, 'broken', 'Ready', 'False', { reason: 'RenderFailed' }),
    waitForCondition(ns, 'missing', 'Ready', 'False'),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await operator?.stop();
  await fixture?.close();
  if (ns) await deleteNamespace(ns);
});

/** Runs an expression in the page (a string keeps DOM code out of the Node typecheck). */
const inPage = <T = unknown>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;

const rowKeys = (page: Page) =>
  page.$$eval('#sources tbody tr', (rows) => rows.map((r) => r.getAttribute('data-key')));

describe('status page', () => {
  it('shows every GitSource, failing first, with the hostile file name as text', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    watchProblems(page);
    await page.goto(`${base}/`);
    const keys = await rowKeys(page);
    expect(keys.slice(0, 2).sort()).toEqual([`${ns}/broken`, `${ns}/missing`]);
    expect(keys.slice(2)).toEqual([`${ns}/paused`, `${ns}/report`, `${ns}/web`]);
    const broken = page.locator(`tr[data-key="${ns}/broken"]`);
    expect(await broken.locator('.badge').innerText()).toContain('Failing');
    expect(await broken.locator('.reason').innerText()).toBe('RenderFailed');
    expect(await broken.locator('.msg').innerText()).toContain(HOSTILE_FILE);
    expect(await page.locator('img').count()).toBe(0);
    const web = page.locator(`tr[data-key="${ns}/web"]`);
    expect(await web.locator('.badge').innerText()).toContain('Ready');
    expect(await web.locator('.rev').innerText()).toMatch(/^main@sha1:[0-9a-f]{7}$/);
    expect(await web.locator('.drift').innerText()).toBe('In sync');
    expect(await page.locator(`tr[data-key="${ns}/paused"] .badge`).innerText()).toContain('Suspended');
    await eventually(async () => (await page.locator('#conn').getAttribute('data-state')) === 'on', {
      what: 'the live stream to connect',
    });
    // Every form control has a label; the table has a caption and column headers.
    expect(
      await inPage(page, "[...document.querySelectorAll('select, input')].every((e) => e.labels.length > 0)"),
    ).toBe(true);
    expect(await page.locator('#sources caption').count()).toBe(1);
    await page.screenshot({ path: screenshotPath('overview.png'), fullPage: true });
    await page.close();
  });

  it('changes a row live, without reload, when a commit lands', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    watchProblems(page);
    await page.goto(`${base}/`);
    await eventually(async () => (await page.locator('#conn').getAttribute('data-state')) === 'on', {
      what: 'the live stream to connect',
    });
    const renderedAt = () => page.locator('footer time').getAttribute('datetime');
    const loadedAt = await renderedAt();
    // A marker that a reload would wipe, and an observer timing the row's revision change.
    await inPage(
      page,
      `window.marker = 'still here';
       new MutationObserver(() => {
         const rev = document.getElementById(${JSON.stringify(`gs:${ns}/web`)})?.querySelector('.rev')?.textContent ?? '';
         if (!window.revChangedAt && window.want && rev.includes(window.want)) window.revChangedAt = Date.now();
       }).observe(document.querySelector('#sources tbody'), { childList: true, subtree: true })`,
    );
    const sha = await commitFiles(
      webRepo,
      { 'cm.yaml': configMap('web', { v: '2' }), 'extra.yaml': configMap('web-extra', { a: 'b' }) },
      'web v2',
    );
    const short = sha.slice(0, 7);
    await inPage(page, `window.want = ${JSON.stringify(short)}`);
    await requestReconcile(ns, 'web');
    // When the API server has the new status (polled), and when the row showed it.
    const appliedSeenAt = await eventually(
      async () =>
        (await getGitSource(ns, 'web'))?.status?.lastAppliedRevision?.includes(sha) ? Date.now() : undefined,
      { what: 'the new revision applied', timeoutMs: 30_000, intervalMs: 100 },
    );
    const row = page.locator(`tr[data-key="${ns}/web"]`);
    await eventually(async () => (await row.locator('.rev').innerText()).includes(short), {
      what: 'the row to show the new revision',
      timeoutMs: 10_000,
    });
    expect(await row.locator('td').nth(4).innerText()).toContain('2 objects');
    expect(await inPage(page, 'window.marker')).toBe('still here');
    // The footer's "Rendered" time is when what the page shows was rendered: the live update's.
    const updatedAt = Date.parse((await renderedAt())!);
    expect(updatedAt).toBeGreaterThan(Date.parse(loadedAt!));
    expect(updatedAt).toBeGreaterThanOrEqual(appliedSeenAt - 30_000);
    expect(updatedAt).toBeLessThanOrEqual(Date.now());
    expect(await page.locator('footer time').innerText()).toBe(
      new Date(updatedAt)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z'),
    );
    const changedAt = await inPage<number>(page, 'window.revChangedAt');
    process.stderr.write(
      `[status-page] row showed ${short} ${changedAt! - appliedSeenAt} ms after kubectl polling saw it applied\n`,
    );
    await page.screenshot({ path: screenshotPath('overview-live-update.png'), fullPage: true });
    await page.close();
  }, 60_000);

  it('shows drift as it happens (drift: Report)', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    watchProblems(page);
    await page.goto(`${base}/`);
    await kubectlOk([
      '-n',
      ns,
      'patch',
      'configmap',
      'reported',
      '--type=merge',
      '-p',
      '{"data":{"v":"by-hand"}}',
    ]);
    const drift = page.locator(`tr[data-key="${ns}/report"] .drift`);
    await eventually(async () => (await drift.innerText()) === 'Drifted (reported)', {
      what: 'the drift to show',
      timeoutMs: 20_000,
    });
    await page.close();
  });

  it('opens a failing source and reads its message, conditions, history and Events', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watchProblems(page);
    await page.goto(`${base}/`);
    await page.click(`tr[data-key="${ns}/broken"] th a`);
    await page.waitForURL(`${base}/gitsources/${ns}/broken`);
    expect(await page.locator('h1').innerText()).toContain('broken');
    const ready = page.locator('tr[data-condition="Ready"]');
    expect(await ready.locator('td').nth(1).innerText()).toBe('RenderFailed');
    expect(await ready.locator('td.message').innerText()).toContain(HOSTILE_FILE);
    expect(await page.locator('#ready-message').innerText()).toContain(HOSTILE_FILE);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('#events table tbody tr th').allInnerTexts()).toContain('ReconcileFailed');
    expect(await page.locator('#history table tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('failing-source.png'), fullPage: true });

    await page.goto(`${base}/gitsources/${ns}/web`);
    expect(await page.locator('#inventory .health').allInnerTexts()).toEqual(['Healthy', 'Healthy']);
    expect(await page.locator('#changes li').count()).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('ready-source.png'), fullPage: true });
    await page.close();
  });

  it('works from the keyboard: skip link, filters, and a row link opened with Enter', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    watchProblems(page);
    await page.goto(`${base}/`);
    await page.keyboard.press('Tab');
    expect(await inPage(page, 'document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await inPage(page, 'document.activeElement?.id')).toBe('main');
    // Tab to the status filter, choose "Failing" with the arrow keys, submit with Enter.
    for (let i = 0; i < 20 && (await inPage(page, 'document.activeElement?.id')) !== 'f-status'; i++)
      await page.keyboard.press('Tab');
    expect(await inPage(page, 'document.activeElement?.id')).toBe('f-status');
    await page.keyboard.press('ArrowDown');
    expect(await inPage(page, 'document.activeElement.value')).toBe('failing');
    await page.keyboard.press('Tab');
    expect(await inPage(page, 'document.activeElement?.textContent')).toBe('Apply filters');
    await page.keyboard.press('Enter');
    await page.waitForURL(/status=failing/);
    expect((await rowKeys(page)).sort()).toEqual([`${ns}/broken`, `${ns}/missing`]);
    // Tab on to the first row's link; its focus ring shows in the screenshot.
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      const inRow = await inPage(page, "!!document.activeElement?.closest('#sources tbody')");
      if (inRow) break;
    }
    const focused = await inPage<string>(
      page,
      "document.activeElement?.closest('tr')?.getAttribute('data-key')",
    );
    expect(focused).toMatch(new RegExp(`^${ns}/(broken|missing)$`));
    await page.screenshot({ path: screenshotPath('keyboard-focus.png') });
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/gitsources/${ns}/`));
    expect(await page.locator('h1').innerText()).toContain(focused!.split('/')[1]!);
    await page.close();
  });

  it('serves the overview and its filters without JavaScript', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 720 },
    });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    expect(await rowKeys(page)).toHaveLength(5);
    expect(await page.locator('#conn').innerText()).toBe('Live updates off');
    await page.selectOption('#f-status', 'ready');
    await page.click('button[type=submit]');
    await page.waitForURL(/status=ready/);
    expect(await rowKeys(page)).toEqual([`${ns}/report`, `${ns}/web`]);
    await page.screenshot({ path: screenshotPath('overview-no-js-filtered.png'), fullPage: true });
    await context.close();
  });

  it('follows the operator across a restart: after the reconnect, the page is what a reload shows', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    // Script errors count; the refused connections while the operator is down are expected.
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(`${base}/`);
    await eventually(async () => (await page.locator('#conn').getAttribute('data-state')) === 'on', {
      what: 'the live stream to connect',
    });
    expect(await rowKeys(page)).toContain(`${ns}/paused`);
    // `converge run` restarts on the same address; meanwhile one GitSource goes and another comes.
    await operator.stop();
    await eventually(async () => (await page.locator('#conn').getAttribute('data-state')) === 'off', {
      what: 'the page to notice the operator gone',
    });
    await kubectlOk(['delete', 'gitsource', 'paused', '-n', ns]);
    await applyGitSource(ns, 'newcomer', {
      url: 'https://github.com/org/other.git',
      suspend: true,
      interval: '1m',
      targetNamespace: ns,
    });
    operator = await startOperator({
      namespace: ns,
      args: ['--leader-elect=false', '--ui-addr', base.replace('http://', '')],
    });
    await eventually(
      async () => {
        const keys = await rowKeys(page);
        return keys.includes(`${ns}/newcomer`) && !keys.includes(`${ns}/paused`);
      },
      { what: 'the page to show the GitSources of the restarted operator', timeoutMs: 60_000 },
    );
    await eventually(async () => (await page.locator('#conn').getAttribute('data-state')) === 'on', {
      what: 'the live stream to connect again',
    });
    // What a reload shows, row by row (a status the new process writes now reaches both).
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await fresh.goto(`${base}/`);
    const rows = async (p: Page) =>
      JSON.stringify(
        await p.$$eval('#sources tbody tr', (trs) =>
          trs.map((r) => [r.getAttribute('data-key'), r.querySelector('.badge')?.textContent?.trim()]),
        ),
      );
    await eventually(
      async () => {
        if ((await rows(page)) === (await rows(fresh))) return true;
        await fresh.reload();
        return false;
      },
      { what: 'the page to equal a reload', timeoutMs: 15_000, intervalMs: 500 },
    );
    expect(await rows(page)).toEqual(await rows(fresh));
    expect(await page.locator('#sources caption').innerText()).toBe(
      await fresh.locator('#sources caption').innerText(),
    );
    for (const state of ['failing', 'progressing', 'suspended', 'ready'])
      expect(await page.locator(`[data-count="${state}"] .n`).innerText()).toBe(
        await fresh.locator(`[data-count="${state}"] .n`).innerText(),
      );
    await fresh.close();
    await page.close();
  }, 120_000);

  it('had no script errors, CSP violations or dialogs', () => {
    expect(problems, JSON.stringify(problems)).toEqual([]);
  });
});
