// Clicks through the account pages of a running CoachFlux and saves screenshots at 360 px and
// 1280 px into e2e/artifacts/. Usage: node screens.mjs http://127.0.0.1:8080
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const out = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const email = `screens-${Date.now()}@example.com`;
for (const width of [1280, 360]) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const shot = (name) => page.screenshot({ path: `${out}${name}-${width}.png`, fullPage: true });
  await page.goto(`${base}/signup`);
  await shot('signup');
  await page.goto(`${base}/login`);
  await shot('login');
  if (width === 1280) {
    await page.goto(`${base}/signup`);
    await page.fill('#email', email);
    await page.fill('#name', 'Ada');
    await page.fill('#password', 'plum tractor lantern 42');
    await page.check('#accept_terms');
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/signup/sent`);
    await shot('signup-sent');
    // The address waits for its confirmation link; the password already signs in.
    await page.goto(`${base}/login`);
    await page.fill('#email', email);
    await page.fill('#password', 'plum tractor lantern 42');
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForURL(`${base}/`);
    await shot('home-signed-in');
    await page.goto(`${base}/settings`);
    await shot('settings');
    await page.goto(`${base}/settings/2fa`);
    await shot('two-factor-setup');
  }
  await page.close();
}
await browser.close();
console.log(`screenshots in ${out}`);
