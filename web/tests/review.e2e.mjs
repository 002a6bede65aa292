// Browser test of the hand-off to an analyst (issue 21) against a running server with two
// users: a product manager who asks a question quarry cannot answer and sends it to an
// analyst, and the analyst who answers it with SQL in the review queue. The answer must
// appear in the manager's conversation marked "answered by", and the same question asked
// again must be answered from the verified question the analyst promoted.
//   CHAT_URL=http://127.0.0.1:18080 PM_TOKEN=… ANALYST_TOKEN=… ANALYST=carl node web/tests/review.e2e.mjs
// Env: CHAT_URL, PM_TOKEN, ANALYST_TOKEN, ANALYST (the analyst's user), QUESTION, ANALYST_SQL,
//      CHROMIUM_PATH (default /usr/bin/chromium), SCREENSHOT_DIR (default target/screenshots).
// Prints one JSON line with the time from the analyst's click to the answer on the manager's
// page; exits 1 with a clear message on failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const BASE = (process.env.CHAT_URL || '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR || 'target/screenshots');
const QUESTION = process.env.QUESTION || 'how many unicorns';
const SQL = process.env.ANALYST_SQL || 'SELECT plan, COUNT(*) AS subscriptions FROM subscriptions GROUP BY plan ORDER BY plan';
const ANALYST = process.env.ANALYST || 'carl';
const TIMEOUT = +(process.env.CHAT_TIMEOUT_MS || 60000);

let step = 'setup';
class Fail extends Error {}
function check(cond, message) { if (!cond) throw new Fail(message); }
async function waitFor(what, fn) {
  try { return await fn(); } catch (err) { throw new Fail(`${what} (${err.message.split('\n')[0]})`); }
}
const log = (msg) => process.stderr.write(`[review.e2e] ${msg}\n`);

for (const name of ['CHAT_URL', 'PM_TOKEN', 'ANALYST_TOKEN']) {
  if (!process.env[name]) { console.error(`review.e2e: set ${name}`); process.exit(1); }
}
if (!fs.existsSync(CHROMIUM)) { console.error(`review.e2e: no Chromium at ${CHROMIUM}`); process.exit(1); }

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];
let exitCode = 0;

async function signedIn(token, who) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript((t) => localStorage.setItem('quarry.token', t), token);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${who} console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${who} page error: ${e.message}`));
  return page;
}

try {
  fs.mkdirSync(SHOTS, { recursive: true });
  const pm = await signedIn(process.env.PM_TOKEN, 'manager');
  const analyst = await signedIn(process.env.ANALYST_TOKEN, 'analyst');

  step = '1 the manager asks a question quarry cannot answer';
  log(step);
  await pm.goto(BASE + '/', { waitUntil: 'domcontentloaded' });
  const input = pm.getByLabel('Your question');
  await input.fill(QUESTION);
  await input.press('Enter');
  const first = pm.locator('#turns .turn').nth(0).locator('.answer');
  await waitFor('the first answer did not render', () => first.locator('.feedback').waitFor());
  check(await first.getAttribute('data-status') === 'cannot_answer', `quarry answered "${await first.getAttribute('data-status')}", expected cannot_answer`);
  check(await pm.locator('#queue-link').isHidden(), 'the manager, who is no analyst, is offered the review queue');
  await pm.screenshot({ path: path.join(SHOTS, 'review-1-cannot-answer.png'), fullPage: true });

  step = '2 the manager sends it to an analyst';
  log(step);
  await first.locator('button.ask-analyst').click();
  await waitFor('no "Sent to an analyst" after clicking Ask an analyst', () =>
    first.locator('.handoff-status', { hasText: 'Sent to an analyst' }).waitFor());
  check(await first.locator('.handoff').getAttribute('data-review-status') === 'open', 'the review item is not open');

  step = '3 the analyst finds it in the queue and runs SQL';
  log(step);
  await analyst.goto(BASE + '/#review', { waitUntil: 'domcontentloaded' });
  await waitFor('the analyst is not offered the review queue', () => analyst.locator('#queue-link').waitFor({ state: 'visible' }));
  const entry = analyst.locator('.review-entry', { hasText: QUESTION });
  await waitFor('the question is not in the queue', () => entry.first().waitFor());
  await analyst.selectOption('#f-reason', 'cannot_answer');
  await analyst.locator('#review-filters button[type=submit]').click();
  await waitFor('filtering by reason lost the question', () => entry.first().waitFor());
  await entry.first().click();
  await waitFor('the item shows no SQL editor', () => analyst.locator('#review-sql').waitFor());
  const why = (await analyst.locator('#review-item .how-list').textContent()) || '';
  check(why.includes('Why quarry was not sure') && why.includes('unicorns'), `the item does not say why quarry was not sure: ${why}`);
  check(why.includes('manager'), `the item does not name the asker: ${why}`);
  check(await analyst.locator('#review-item .convo li').count() === 1, 'the item does not show the conversation');
  await analyst.screenshot({ path: path.join(SHOTS, 'review-2-queue.png') });
  await analyst.locator('#review-sql').fill(SQL);
  await analyst.locator('#review-run').click();
  await waitFor('running the SQL showed no result table', () => analyst.locator('#review-item .sql-result table tbody tr').first().waitFor());
  const rows = await analyst.locator('#review-item .sql-result table tbody tr').count();
  check(rows >= 2, `the SQL's result has ${rows} rows`);
  await waitFor('the SQL result has no chart', () => analyst.locator('#review-item .sql-result .chart svg').waitFor());
  await analyst.locator('#review-answer').fill('No unicorns in our data. Subscriptions by plan are the closest.');
  await analyst.locator('#review-promote').check();
  await analyst.screenshot({ path: path.join(SHOTS, 'review-3-analyst-sql.png'), fullPage: true });

  step = '4 the analyst answers; the answer appears in the manager\'s conversation';
  log(step);
  const clicked = Date.now();
  await analyst.locator('#review-send').click();
  const answered = pm.locator('#turns .turn').nth(1).locator('.answer');
  await waitFor('the analyst\'s answer did not appear in the manager\'s conversation', () =>
    answered.locator('.badge-analyst').waitFor({ timeout: TIMEOUT }));
  const analystToAskerMs = Date.now() - clicked;
  const badge = (await answered.locator('.badge-analyst').textContent()) || '';
  check(badge.includes(`Answered by ${ANALYST}`), `the badge reads "${badge}"`);
  check(await answered.locator('table tbody tr').count() >= 2, 'the analyst\'s answer has no table');
  await waitFor('the analyst sees no confirmation', () => analyst.locator('#review-status', { hasText: 'Answered' }).waitFor());
  const confirmation = (await analyst.locator('#review-status').textContent()) || '';
  check(confirmation.includes('conversation') && confirmation.includes('verified question'), `the analyst reads "${confirmation}"`);
  await pm.screenshot({ path: path.join(SHOTS, 'review-4-answered.png'), fullPage: true });

  step = '5 the same question, asked again, is answered from the verified question';
  log(step);
  await waitFor('the Send button stayed disabled', () => pm.locator('#send:not([disabled])').waitFor());
  await input.fill(QUESTION);
  await input.press('Enter');
  const third = pm.locator('#turns .turn').nth(2).locator('.answer');
  await waitFor('the question asked again got no verified answer', () => third.locator('.badge-verified').waitFor());
  const verified = (await third.locator('.badge-verified').textContent()) || '';
  check(new RegExp(`^Verified by ${ANALYST} on \\w{3} \\d{1,2}, \\d{4}$`).test(verified.trim()), `the badge reads "${verified}"`);
  check(await third.getAttribute('data-status') === 'answered', 'the verified answer is not "answered"');
  await pm.screenshot({ path: path.join(SHOTS, 'review-5-verified.png'), fullPage: true });

  step = '6 the manager cannot open the queue';
  log(step);
  const denied = await pm.request.get(BASE + '/api/v1/reviews?asker=' + encodeURIComponent(ANALYST), { headers: { Authorization: `Bearer ${process.env.PM_TOKEN}` } });
  check(denied.status() === 403, `the manager listing someone else's items got ${denied.status()}`);
  check((await denied.json()).error.code === 'forbidden', 'the refusal is not the stable error body');

  check(problems.length === 0, `the pages logged problems:\n  ${problems.join('\n  ')}`);
  console.log(JSON.stringify({ analyst_to_asker_ms: analystToAskerMs }));
  log('all steps passed');
} catch (err) {
  exitCode = 1;
  const msg = err instanceof Fail ? err.message : String(err.message || err).split('\n')[0];
  console.error(`review.e2e FAILED at step ${step}: ${msg}`);
  if (problems.length) console.error(`page problems so far:\n  ${problems.join('\n  ')}`);
} finally {
  await browser.close().catch(() => {});
}
process.exit(exitCode);
