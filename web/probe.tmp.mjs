import { chromium } from 'playwright-core';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu'] });
const p = await b.newPage({ viewport: { width: 1280, height: 900 } });
p.on('console', m => console.log('console', m.type(), m.text().slice(0,120)));
p.on('pageerror', e => console.log('pageerror', e.message));
const U = process.env.U || 'http://127.0.0.1:18080/';
await p.goto(U);
await p.waitForTimeout(400);
await p.screenshot({ path: '/tmp/shots/p-empty.png' });
await p.locator('#suggestions .chip', { hasText: 'revenue' }).click();
await p.waitForTimeout(350);
await p.screenshot({ path: '/tmp/shots/p-progress.png' });
await p.waitForSelector('.answer[data-answer-id]');
await p.locator('.clarify button').first().click();
await p.waitForFunction(() => document.querySelectorAll('.answer[data-answer-id]').length === 2);
const q = p.getByLabel('Your question');
for (const t of ['how many users', 'weather tomorrow', 'please fail']) {
  await q.fill(t); await q.press('Enter');
  await p.waitForFunction((n) => document.querySelectorAll('.answer[data-answer-id], .answer .error').length >= n, 3 + ['how many users', 'weather tomorrow', 'please fail'].indexOf(t));
}
await p.locator('details.how').nth(1).evaluate(d => d.open = true);
await p.locator('details.sql').nth(1).evaluate(d => d.open = true);
console.log('live:', await p.locator('#live').textContent());
await p.screenshot({ path: '/tmp/shots/p-states.png', fullPage: true });
await p.locator('#turns').evaluate(t => t.children[1].scrollIntoView());
await p.screenshot({ path: '/tmp/shots/p-how.png' });
// feedback down
const a = p.locator('.answer').first();
await a.locator('.thumb-down').click();
await a.screenshot({ path: '/tmp/shots/p-fb.png' });
await b.close();
