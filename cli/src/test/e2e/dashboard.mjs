// DashboardIT's browser half. Opens the coordinator's dashboard in headless Chromium with the API token in the URL
// fragment, checks the fleet view's rows for a healthy and a failing database, opens the healthy one's history,
// and writes screenshots. Exits 0 when every check passed, 1 with a one-line reason otherwise.
//
// Environment: DASHBOARD_URL (http://127.0.0.1:<port>/dashboard/), DASHBOARD_TOKEN, HEALTHY and FAILING
// (cluster/database), SCREENSHOTS (a directory), CHROMIUM (default /usr/bin/chromium).
import {chromium} from 'playwright-core';
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';

const env = name => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
};
const url = env('DASHBOARD_URL');
const token = env('DASHBOARD_TOKEN');
const healthy = env('HEALTHY');
const failing = env('FAILING');
const shots = env('SCREENSHOTS');
mkdirSync(shots, {recursive: true});

const log = (...a) => console.log('[dashboard-e2e]', ...a);
const check = (ok, message) => {
  if (!ok) throw new Error(message);
  log('ok:', message);
};
const rowOf = db => `table.fleet tbody tr[data-database="${db}"]`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Without the background-networking flags Chromium keeps dialling Google's hosts, which this network refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-sync'],
});
const problems = [];
let failed = false;
try {
  const context = await browser.newContext({viewport: {width: 1280, height: 900}, deviceScaleFactor: 1});
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  // A script error or a CSP violation shows here; either means the page is broken.
  page.on('pageerror', e => problems.push(`page error: ${e.message}`));
  page.on('console', m => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  const requests = [];
  page.on('request', r => requests.push(r.url()));

  await page.goto(`${url}#token=${encodeURIComponent(token)}`);
  await page.waitForSelector(rowOf(healthy));
  await page.waitForSelector(rowOf(failing));
  check(!page.url().includes(token), 'the token is gone from the address bar once the page has read it');
  check(requests.every(u => !u.includes(token)), 'no request carried the token in its URL');

  // The fleet refreshes every 5 s; the healthy row turns green once its backup and restore test are listed.
  await page.waitForSelector(`${rowOf(healthy)}[data-status="ok"]`);
  const lastBackup = await page.textContent(`${rowOf(healthy)} [data-col="lastBackup"]`);
  check(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/.test(lastBackup),
    `${healthy} shows its last backup time (${lastBackup.trim()})`);
  const size = await page.textContent(`${rowOf(healthy)} [data-col="size"]`);
  check(/\d/.test(size), `${healthy} shows its size (${size.trim()})`);
  const restoreTest = await page.textContent(`${rowOf(healthy)} [data-col="restoreTest"]`);
  check(/\d{4}-/.test(restoreTest), `${healthy} shows its last restore test (${restoreTest.trim()})`);

  const failStatus = await page.getAttribute(rowOf(failing), 'data-status');
  check(failStatus === 'fail', `${failing} has data-status="fail" (got ${failStatus})`);
  const colour = await page.$eval(`${rowOf(failing)} .badge`, el => getComputedStyle(el).color);
  const [r, g, b] = colour.match(/\d+/g).map(Number);
  check(r >= 150 && g <= 90 && b <= 90, `${failing}'s status is shown in red (${colour})`);
  const okColour = await page.$eval(`${rowOf(healthy)} .badge`, el => getComputedStyle(el).color);
  const [, og] = okColour.match(/\d+/g).map(Number);
  check(og >= 100, `${healthy}'s status is shown in green (${okColour})`);

  await page.screenshot({path: join(shots, 'fleet.png'), fullPage: true});
  await page.setViewportSize({width: 390, height: 844});
  await page.screenshot({path: join(shots, 'fleet-narrow.png'), fullPage: true});
  await page.setViewportSize({width: 1280, height: 900});

  // The healthy database's history: at least one backup, and its chart.
  await page.click(`${rowOf(healthy)} [data-col="database"] a`);
  await page.waitForSelector('main[data-view="history"][data-loaded="true"]');
  const backups = await page.$$eval('table.history tbody tr[data-backup]', rows => rows.length);
  check(backups >= 1, `the history of ${healthy} lists ${backups} backup(s)`);
  const bars = await page.$$eval('figure.chart svg rect', rects => rects.length);
  check(bars === backups, `the size chart has one bar per backup (${bars})`);
  await page.screenshot({path: join(shots, 'history.png'), fullPage: true});

  // Runs: the failing database's run is listed with its reason.
  await page.click('nav a[data-nav="runs"]');
  await page.waitForSelector('main[data-view="runs"][data-loaded="true"]');
  const reason = await page.textContent(`table.failures tr[data-database="${failing}"] .reason`);
  check(reason.trim().length > 0, `the runs view lists ${failing}'s failure with its reason (${reason.trim()})`);
  await page.screenshot({path: join(shots, 'runs.png'), fullPage: true});

  await page.click('nav a[data-nav="alerts"]');
  await page.waitForSelector('main[data-view="alerts"][data-loaded="true"]');
  await page.screenshot({path: join(shots, 'alerts.png'), fullPage: true});

  check(problems.length === 0, `no script error or CSP violation on the page${problems.length ? ': '
    + problems.join(' | ') : ''}`);
  log(`screenshots in ${shots}`);
} catch (e) {
  failed = true;
  console.error(`[dashboard-e2e] FAILED: ${e.message.split('\n')[0]}`);
  if (problems.length) console.error(`[dashboard-e2e] page problems: ${problems.join(' | ')}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
