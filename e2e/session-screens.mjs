// A visitor runs a GROW session in Chromium; screenshots of each phase at 1280 px and 360 px.
// Usage: node session-screens.mjs http://127.0.0.1:8080
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const out = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
/** Clicks and waits for the post/redirect/get round trip to finish. */
const submit = async (page, selector) => {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
};
const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
for (const width of [1280, 360]) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const shot = (name) => page.screenshot({ path: `${out}session-${name}-${width}.png`, fullPage: true });
  await page.goto(`${base}/frameworks/GROW`);
  await submit(page, 'button:has-text("Start a GROW session")');
  await shot('consent');
  await page.check('#consent');
  await submit(page, '#begin');
  await page.fill('#input', 'Lead the new platform team by summer');
  await submit(page, '#send');
  await shot('asking');
  // Answer until the step is ready.
  const answers = ['It would let me shape the roadmap', 'I pick my projects\nMy manager backs me', 'by June'];
  for (const answer of answers) {
    if (await page.locator('#input').count() === 0) break;
    await page.fill('#input', answer);
    await submit(page, '#send');
  }
  await shot('confirming');
  await submit(page, '#proceed');
  await page.fill('#input', 'I run one team of four today');
  await submit(page, '#send');
  await page.fill('#input', 'time\nno budget');
  await submit(page, '#send');
  await shot('reality');
  await page.close();
}
await browser.close();
console.log('ok');
