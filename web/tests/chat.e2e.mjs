// Browser test of the quarry chat page against a running server.
//   CHAT_URL=http://127.0.0.1:18080 node web/tests/chat.e2e.mjs
// Env: CHAT_URL (required), CHROMIUM_PATH (default /usr/bin/chromium),
//      SCREENSHOT_DIR (default target/screenshots, relative to the cwd).
// Prints one JSON line with page-side timings; exits 1 with a clear message on failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const BASE = (process.env.CHAT_URL || '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR || 'target/screenshots');
const FIRST_Q = 'signups by channel last month';
const FOLLOW_UP = 'break that down by country';
const TIMEOUT = +(process.env.CHAT_TIMEOUT_MS || 60000);

let step = 'setup';
let firstTimings = null;
class Fail extends Error {}
function check(cond, message) { if (!cond) throw new Fail(message); }
async function waitFor(what, fn) {
  try { return await fn(); } catch (err) { throw new Fail(`${what} (${err.message.split('\n')[0]})`); }
}
const log = (msg) => process.stderr.write(`[chat.e2e] ${msg}\n`);

if (!BASE) { console.error('chat.e2e: set CHAT_URL to the base URL of a running quarry server, e.g. http://127.0.0.1:18080'); process.exit(1); }
if (!fs.existsSync(CHROMIUM)) { console.error(`chat.e2e: no Chromium at ${CHROMIUM} (install it with apt-get install -y chromium, or set CHROMIUM_PATH)`); process.exit(1); }

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];
let exitCode = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()} ${m.location()?.url || ''}`.trim()); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => { const u = r.url(); if (!u.startsWith(BASE)) problems.push(`request outside the server: ${u}`); });

  // 1. suggestions
  step = '1 open page, suggestions visible';
  log(step);
  const resp = await page.goto(BASE + '/', { waitUntil: 'domcontentloaded' });
  check(resp && resp.ok(), `GET ${BASE}/ answered ${resp && resp.status()}`);
  await waitFor('no suggestion chips became visible under "Try asking"', () => page.locator('#suggestions .chip').first().waitFor({ state: 'visible' }));
  const nSugg = await page.locator('#suggestions .chip').count();
  check(nSugg > 0, 'no suggestions shown');

  // 1b. the snapshot answers come from is named on the page, as GET /api/v1/snapshot says
  step = '1b the snapshot in use is shown';
  log(step);
  const snapResp = await page.request.get(BASE + '/api/v1/snapshot');
  check(snapResp.ok(), `GET /api/v1/snapshot answered ${snapResp.status()}`);
  const snap = await snapResp.json();
  await waitFor('the snapshot in use is not shown in the top bar (#snapshot)', () => page.locator('#snapshot').waitFor({ state: 'visible' }));
  const snapText = (await page.locator('#snapshot').textContent()) || '';
  check(snapText.includes(snap.id), `the top bar shows "${snapText}", not the snapshot in use ${snap.id}`);

  // 2. first question
  step = '2 ask the first question';
  log(step);
  const input = page.getByLabel('Your question');
  await input.fill(FIRST_Q);
  await input.press('Enter');
  const first = page.locator('#turns .turn').nth(0).locator('.answer');
  await waitFor('the first answer did not render (no [data-answer-id] on the answer)', () =>
    page.waitForFunction(() => document.querySelector('#turns .turn .answer[data-answer-id]'), null, { timeout: TIMEOUT }));
  const stages = (await first.getAttribute('data-stages')) || '';
  check(stages.length > 0, 'no stage events were shown before the answer (data-stages is empty)');
  check(stages.split(',').includes('execute'), `the stages seen do not include "execute": data-stages="${stages}"`);
  check(await first.getAttribute('data-status') === 'answered', `first answer status is "${await first.getAttribute('data-status')}", expected "answered"`);
  const summary = ((await first.locator('.summary').textContent()) || '').trim();
  check(summary.length > 0, 'the first answer has no summary');
  await waitFor('no inline <svg> chart in the first answer', () => first.locator('.chart svg').waitFor({ state: 'visible' }));
  const unsafe = await first.locator('.chart svg').evaluate((svg) => {
    const all = [svg, ...svg.querySelectorAll('*')];
    if (all.some((n) => /^(script|foreignobject)$/i.test(n.localName))) return 'a <script> or <foreignObject> element';
    for (const n of all) for (const a of n.attributes) {
      if (/^on/i.test(a.name)) return `an ${a.name} attribute`;
      if (/href$/i.test(a.name) && /^\s*javascript:/i.test(a.value)) return 'a javascript: link';
    }
    return null;
  });
  check(!unsafe, `the inline chart was not sanitized: it still holds ${unsafe}`);
  const rowCount = await first.locator('table tbody tr').count();
  check(rowCount >= 2, `the first answer's table has ${rowCount} rows, expected at least 2`);
  const sql = ((await first.locator('details.sql code').textContent()) || '').trim();
  check(/select/i.test(sql), 'the SQL <details> of the first answer holds no SELECT');
  firstTimings = await page.evaluate(() => {
    const t = (window.__quarryTimings || [])[0];
    if (!t || t.firstStage == null || t.answer == null) return null;
    return { first_stage_ms: Math.round(t.firstStage - t.start), answer_ms: Math.round(t.answer - t.start) };
  });
  check(firstTimings, 'window.__quarryTimings[0] lacks the first stage or answer mark');
  const hash1 = await page.evaluate(() => location.hash);
  check(/^#c=.+/.test(hash1), `the URL hash does not name the conversation after the first answer: "${hash1}"`);

  // 3. sort by a numeric column
  step = '3 sort the table by a numeric column';
  log(step);
  const numTh = first.locator('thead th.num').first();
  check(await numTh.count() === 1, 'the first answer\'s table has no numeric column header (th.num)');
  const colIndex = await numTh.evaluate((th) => [...th.parentElement.children].indexOf(th));
  const colValues = () => first.locator(`tbody tr td:nth-child(${colIndex + 1})`).allTextContents()
    .then((xs) => xs.map((x) => Number(x.replace(/[,\s]/g, ''))));
  const before = await colValues();
  const sorted = (xs, dir) => xs.every((x, i) => i === 0 || (dir > 0 ? xs[i - 1] <= x : xs[i - 1] >= x));
  await numTh.locator('button').click();
  const asc = await colValues();
  check(await numTh.getAttribute('aria-sort') === 'ascending', `after one click aria-sort is "${await numTh.getAttribute('aria-sort')}", expected "ascending"`);
  check(sorted(asc, 1), `after one click the column is not ascending: ${asc.join(', ')}`);
  await numTh.locator('button').click();
  const desc = await colValues();
  check(await numTh.getAttribute('aria-sort') === 'descending', 'after a second click aria-sort is not "descending"');
  check(sorted(desc, -1), `after a second click the column is not descending: ${desc.join(', ')}`);
  check(before.join() !== asc.join() || before.join() !== desc.join(), 'sorting did not change the row order');

  // 4. follow-up in the same conversation
  step = '4 ask a follow-up in the same conversation';
  log(step);
  await waitFor('the Send button stayed disabled after the first answer', () => page.locator('#send:not([disabled])').waitFor());
  await input.fill(FOLLOW_UP);
  await input.press('Enter');
  await waitFor('the follow-up answer did not render', () =>
    page.waitForFunction(() => document.querySelectorAll('#turns .turn .answer[data-answer-id]').length >= 2, null, { timeout: TIMEOUT }));
  const second = page.locator('#turns .turn').nth(1).locator('.answer');
  const hash2 = await page.evaluate(() => location.hash);
  check(hash2 === hash1, `the follow-up moved to another conversation: hash was "${hash1}", now "${hash2}"`);
  check(await page.locator('#turns .turn').count() === 2, 'the conversation does not show exactly two turns after the follow-up');
  check(await second.locator('table tbody tr').count() >= 1, 'the follow-up answer has no table');

  // 5. feedback on the first answer
  step = '5 thumbs up with a comment on the first answer';
  log(step);
  const upBtn = first.locator('button.thumb-up');
  await upBtn.click();
  check(await upBtn.getAttribute('aria-pressed') === 'true', 'thumbs up is not aria-pressed after clicking');
  const comment = first.getByLabel('Comment (optional)');
  await comment.fill('useful');
  await first.locator('.fb-form button[type=submit]').click();
  await waitFor('no "Thanks — feedback saved" confirmation on the first answer', () =>
    first.locator('.fb-status', { hasText: 'Thanks — feedback saved' }).waitFor({ state: 'visible' }));

  // 6. reload restores the conversation
  step = '6 reload restores the conversation from the hash';
  log(step);
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitFor('after reload the two turns were not restored', () =>
    page.waitForFunction(() => document.querySelectorAll('#turns .turn .answer[data-answer-id]').length === 2, null, { timeout: TIMEOUT }));
  check(await page.evaluate(() => location.hash) === hash1, 'the hash changed on reload');
  const convId = decodeURIComponent(hash1.slice(3));
  await waitFor(`the conversation ${convId} is not listed in the sidebar`, () =>
    page.locator(`#conv-list a[data-id="${convId}"]`).waitFor({ state: 'visible' }));
  check(await page.locator(`#conv-list a[data-id="${convId}"]`).getAttribute('aria-current') === 'page', 'the restored conversation is not marked current in the sidebar');
  const q1 = ((await page.locator('#turns .turn .q-text').first().textContent()) || '').trim();
  check(q1 === FIRST_Q, `the restored first question reads "${q1}"`);
  await waitFor('the restored first answer has no chart', () => page.locator('#turns .turn').first().locator('.chart svg').waitFor({ state: 'visible' }));

  // 7. share the conversation, open the link in a fresh page
  step = '7 share the conversation and open its link';
  log(step);
  await page.locator('#share-conv').click();
  await waitFor('no share link was shown after clicking Share', () => page.locator('#share-link').waitFor({ state: 'visible' }));
  const link = await page.locator('#share-link').inputValue();
  const linkHash = link.slice(link.indexOf('#'));
  check(new RegExp(`^#c=${convId}&share=sh-[0-9a-f]{32}$`).test(linkHash), `the share link does not name the conversation and a token: "${link}"`);
  const shared = await context.newPage();
  shared.on('pageerror', (e) => problems.push(`page error (shared link): ${e.message}`));
  await shared.goto(`${BASE}/${linkHash}`, { waitUntil: 'domcontentloaded' });
  await waitFor('the share link did not open the two turns', () =>
    shared.waitForFunction(() => document.querySelectorAll('#turns .turn .answer[data-answer-id]').length === 2, null, { timeout: TIMEOUT }));
  await shared.close();

  // 8. screenshots
  step = '8 screenshots';
  log(step);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, 'chat.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  check(await page.locator('#nav-toggle').isVisible(), 'at 390 px wide the sidebar toggle is not visible');
  check(!(await page.locator('#sidebar').isVisible()), 'at 390 px wide the sidebar is not collapsed');
  await page.screenshot({ path: path.join(SHOTS, 'chat-narrow.png') });
  await page.locator('#nav-toggle').click();
  await waitFor('the sidebar toggle does not open the sidebar on a narrow screen', () => page.locator('#sidebar').waitFor({ state: 'visible' }));
  check(await page.locator('#nav-toggle').getAttribute('aria-expanded') === 'true', 'the sidebar toggle is not aria-expanded when open');
  await page.keyboard.press('Escape');

  // 9. no console or page errors; timings
  step = '9 no console errors, timings';
  check(problems.length === 0, `the page logged problems:\n  ${problems.join('\n  ')}`);
  // taken right after the first answer, before the reload
  console.log(JSON.stringify(firstTimings));
  log('all steps passed');
} catch (err) {
  exitCode = 1;
  const msg = err instanceof Fail ? err.message : String(err.message || err).split('\n')[0];
  console.error(`chat.e2e FAILED at step ${step}: ${msg}`);
  if (problems.length) console.error(`page problems so far:\n  ${problems.join('\n  ')}`);
} finally {
  await browser.close().catch(() => {});
}
process.exit(exitCode);
