// A member completes a GROW session, then the dashboard and action items are photographed.
// Usage: node dashboard-screens.mjs http://127.0.0.1:8080
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const out = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const submit = async (page, selector) => {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
};
const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const email = `dash-${Date.now()}@example.com`;
await page.goto(`${base}/signup`);
await page.fill('#email', email);
await page.fill('#password', 'plum tractor lantern 42');
await page.check('#accept_terms');
await submit(page, 'button:has-text("Create account")');
// The address waits for its confirmation link; the password already signs in.
await page.goto(`${base}/login`);
await page.fill('#email', email);
await page.fill('#password', 'plum tractor lantern 42');
await submit(page, 'form[action="/login"] button[type=submit]');
await page.goto(`${base}/frameworks/WOOP`);
await submit(page, 'button:has-text("Start a WOOP session")');
await page.check('#consent');
await submit(page, '#begin');
const answers = ['Run a 10k', 'Crossing the line with my sister cheering', 'Proud and light',
  'I skip runs when I am tired after work', 'If I feel tired after work, then I will put on my shoes and run for 10 minutes', 'by Friday'];
let i = 0;
for (let guard = 0; guard < 20; guard++) {
  if (await page.locator('#input').count() > 0) {
    await page.fill('#input', answers[Math.min(i++, answers.length - 1)]);
    await submit(page, '#send');
  } else if (await page.locator('#proceed').count() > 0) {
    await submit(page, '#proceed');
  } else break;
}
await page.screenshot({ path: `${out}session-plan-1280.png`, fullPage: true });
await submit(page, '.proposal button[value=accept]');
await submit(page, '#close-session');
await page.screenshot({ path: `${out}report-1280.png`, fullPage: true });
for (const width of [1280, 360]) {
  await page.setViewportSize({ width, height: 900 });
  await page.goto(`${base}/dashboard`);
  await page.screenshot({ path: `${out}dashboard-${width}.png`, fullPage: true });
  await page.goto(`${base}/actions`);
  await page.screenshot({ path: `${out}actions-${width}.png`, fullPage: true });
}
await browser.close();
console.log('ok');
