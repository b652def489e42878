// Browser tests: a visitor runs a whole GROW session in headless Chromium, signs up and finds
// the session and its action items in their account. Every main page is scanned with axe-core
// (no serious or critical violations, light and dark), checked for horizontal overflow at
// 360 px (the page or any box in it), weighed (< 100 KB transferred) and photographed at 360 and
// 1280 px, light and dark, into e2e/artifacts.
//
// Usage: node --test e2e/journey.test.mjs
//   COACHFLUX_BIN   the server binary (default target/debug/coachflux)
//   CHROME_PATH     Chromium (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const root = new URL('..', import.meta.url).pathname;
const artifacts = join(root, 'e2e', 'artifacts');
mkdirSync(artifacts, { recursive: true });

let server;
let browser;
let base;
let dataDir;
/** Everything the server printed so far (the `log` mail transport prints each email). */
let serverLog = () => '';

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

/** Starts CoachFlux on a fresh SQLite database; resolves once it is ready. */
async function startServer(extraEnv = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'coachflux-e2e-'));
  let log = '';
  const proc = spawn(process.env.COACHFLUX_BIN ?? join(root, 'target', 'debug', 'coachflux'), ['serve'], {
    env: {
      ...process.env,
      COACHFLUX_BIND: `127.0.0.1:${port}`,
      COACHFLUX_DATA_DIR: dir,
      COACHFLUX_DATABASE_URL: `sqlite://${join(dir, 'coachflux.db')}?mode=rwc`,
      COACHFLUX_PUBLIC_URL: url,
      // The `log` mail transport prints each email at info: the tests read links from it.
      COACHFLUX_LOG: 'warn,coachflux::mail=info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch { /* not listening yet */ }
    if (proc.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the server did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, proc, dir, log: () => log };
}

/**
 * Waits for the newest link starting with `path` in an email to `to`, as the `log` transport
 * printed it, and returns it (absolute).
 */
async function linkInMail(to, path) {
  const deadline = Date.now() + 15_000;
  const prefix = base + path;
  for (;;) {
    // One log event per chunk: each starts on a line with its timestamp.
    const links = serverLog()
      .split(/\n(?=\d{4}-\d{2}-\d{2}T)/)
      .filter((event) => event.includes('log transport') && event.includes(`to=${to} `))
      .map((event) => event.split(/\s/).find((word) => word.startsWith(prefix)))
      .filter(Boolean);
    if (links.length) return links[links.length - 1];
    if (Date.now() > deadline) throw new Error(`no ${path} link to ${to} in the server log`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Signs up in `page` and confirms the address with the emailed link there (which signs in). */
async function signUp(page, { email, password, name }) {
  await page.goto(`${base}/signup`);
  await page.fill('#email', email);
  if (name) await page.fill('#name', name);
  await page.fill('#password', password);
  await page.check('#accept_terms');
  await submit(page, 'form[action="/signup"] button[type=submit]');
  assert.match(await page.locator('h1').innerText(), /Check your email/);
  await page.goto(await linkInMail(email, '/verify-email?token='));
  await submit(page, 'button:has-text("Confirm my email")');
  // A visitor whose session the sign-up saved lands on it instead of the home page.
  assert.match(await page.locator('body').innerText(), /Welcome to CoachFlux|Saved to your account/);
}

before(async () => {
  const started = await startServer();
  server = started.proc;
  base = started.url;
  dataDir = started.dir;
  serverLog = started.log;
  browser = await chromium.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Clicks and waits for the post/redirect/get round trip to finish. */
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

/** Opens `path` and returns the bytes transferred for it and everything it loaded. */
async function visit(page, path) {
  const responses = [];
  const onResponse = (r) => responses.push(r);
  page.on('response', onResponse);
  const main = await page.goto(`${base}${path}`, { waitUntil: 'load' });
  page.off('response', onResponse);
  assert.equal(main.status(), 200, `${path} answers 200`);
  let bytes = 0;
  for (const r of responses) {
    const sizes = await r.request().sizes();
    bytes += sizes.responseBodySize + sizes.responseHeadersSize;
  }
  return bytes;
}

/** axe-core on the current page: no serious or critical violations. */
async function assertAccessible(page, label) {
  const { violations } = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${label}: axe found serious or critical violations`,
  );
}

/**
 * Checks one main page the way a person would meet it: weight, accessibility in light and
 * dark, no sideways scrolling on a phone, and screenshots at both widths.
 */
async function checkPage(page, path, name) {
  await page.setViewportSize({ width: 1280, height: 900 });
  const bytes = await visit(page, path);
  assert.ok(bytes < 100 * 1024, `${path} transferred ${bytes} bytes (limit 100 KB)`);
  await assertAccessible(page, `${path} (light)`);
  await page.screenshot({ path: join(artifacts, `${name}-1280.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await assertAccessible(page, `${path} (dark)`);
  await page.screenshot({ path: join(artifacts, `${name}-1280-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 360, height: 800 });
  await page.goto(`${base}${path}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px at 360px`);
  // Nor does anything inside it (a table in its own scroller hides its last column); code
  // blocks may, as code can't be wrapped.
  const scrollers = await page.evaluate(() => [...document.querySelectorAll('main *')]
    .filter((e) => !e.closest('pre'))
    .filter((e) => e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
    .map((e) => `${e.tagName.toLowerCase()}.${e.className} by ${e.scrollWidth - e.clientWidth}px`));
  assert.deepEqual(scrollers, [], `${path} has boxes that scroll sideways at 360px`);
  // What is hidden stays hidden, whatever display its classes give it.
  const shownHidden = await page.evaluate(() => [...document.querySelectorAll('[hidden]')]
    .filter((e) => getComputedStyle(e).display !== 'none').map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(shownHidden, [], `${path} shows elements marked hidden`);
  await page.screenshot({ path: join(artifacts, `${name}-360.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(artifacts, `${name}-360-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });
}

/**
 * The same checks as `checkPage` for a page that a form answered (it can't be opened again):
 * accessibility light and dark, no sideways scrolling at 360 px, screenshots.
 */
async function checkHere(page, name) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await assertAccessible(page, `${name} (light)`);
  await page.screenshot({ path: join(artifacts, `${name}-1280.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await assertAccessible(page, `${name} (dark)`);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 360, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways by ${overflow}px at 360px`);
  await page.screenshot({ path: join(artifacts, `${name}-360.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** A TOTP code (RFC 6238: HMAC-SHA1, 6 digits, 30 s) for a base32 key, `steps` from now. */
function totp(key, steps = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of key.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + steps));
  const h = createHmac('sha1', Buffer.from(bytes)).update(counter).digest();
  const o = h[h.length - 1] & 15;
  const n = (((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) % 1_000_000;
  return String(n).padStart(6, '0');
}

const TEXT_ANSWERS = [
  'Lead the new platform team by summer',
  'It would let me shape the roadmap',
  'I run one team of four today',
  'Ask my manager for a stretch project',
  'Pair with the current lead for a month',
  'Start a weekly architecture review',
  'I will book the meeting with my manager',
];

/** Answers whatever the coach asks until the step is ready to confirm. Returns answers sent. */
async function answerStep(page, counter) {
  let sent = 0;
  while (sent < 12) {
    const item = page.locator('#input-item');
    const area = page.locator('textarea#input');
    const radios = page.locator('form[action$="/turn"] input[type=radio]');
    if (await item.count()) {
      // A list: entered item by item, the script keeps the hidden text area in step; each item
      // has the question's own limit.
      const itemMax = await page.locator('textarea#input').getAttribute('data-item-max');
      assert.equal(await item.getAttribute('maxlength'), itemMax);
      assert.ok(Number(itemMax) <= 200, `per-item limit ${itemMax}`);
      await item.fill(`First item ${counter.n}`);
      await page.click('.list-add button');
      await item.fill(`Second item ${counter.n}`);
      await item.press('Enter');
      assert.equal(await page.locator('.list-items li').count(), 2, 'both items listed');
      if (!counter.listShot) {
        counter.listShot = true;
        await page.screenshot({ path: join(artifacts, 'session-list-1280.png'), fullPage: true });
      }
    } else if (await radios.count()) {
      const n = await radios.count();
      if (!counter.scaleShot && n >= 10) {
        // A 1-10 scale fits one row on a phone, its ends labelled.
        counter.scaleShot = true;
        await page.setViewportSize({ width: 360, height: 800 });
        const tops = await radios.evaluateAll((rs) => rs.map((r) => Math.round(r.closest('label').getBoundingClientRect().top)));
        assert.equal(new Set(tops).size, 1, `the scale is one row at 360px: ${tops}`);
        assert.match(await page.textContent('.scale-ends'), /1: .+10: /);
        await page.locator('.scale').screenshot({ path: join(artifacts, 'scale-360.png') });
        await page.setViewportSize({ width: 1280, height: 900 });
      }
      await radios.nth(Math.floor(n / 2)).check();
    } else if (await area.count()) {
      const isDate = (await area.getAttribute('rows')) === '1';
      await area.fill(isDate ? 'in 3 days' : TEXT_ANSWERS[counter.n % TEXT_ANSWERS.length]);
      if (isDate) {
        // The box says how it reads as the person types.
        await page.waitForFunction(() => /Reads as \w{3} \d+ \w{3} \d{4}/.test(document.getElementById('date-reading').textContent));
      }
    } else {
      break;
    }
    counter.n += 1;
    sent += 1;
    await submit(page, '#send');
  }
  return sent;
}

test('a visitor completes GROW in the browser, signs up and finds it in their account', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  await checkPage(page, '/', 'home');
  assert.match(await page.textContent('main'), /GROW/);
  await checkPage(page, '/frameworks', 'frameworks');
  await checkPage(page, '/api/docs', 'api-docs');
  await checkPage(page, '/frameworks/GROW', 'framework-grow');
  await checkPage(page, '/frameworks/helper?focus=change&minutes=20', 'helper');
  assert.match(await page.textContent('main'), /Try COMPASS/);
  await checkPage(page, '/signup', 'signup');
  await checkPage(page, '/login', 'login');
  await checkPage(page, '/login/magic', 'magic-link');
  await checkPage(page, '/forgot-password', 'forgot-password');
  await checkPage(page, '/signup/sent', 'signup-sent');
  // A page that isn't there still reads as a page.
  await page.goto(`${base}/no-such-page`);
  assert.match(await page.locator('h1').innerText(), /.+/);
  await checkHere(page, 'not-found');
  await checkPage(page, '/terms', 'terms');
  await checkPage(page, '/privacy', 'privacy');
  await page.goto(`${base}/frameworks/GROW`);

  // Keyboard: the first Tab lands on the skip link, and focus is visible.
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({
    cls: document.activeElement.className,
    outline: getComputedStyle(document.activeElement).outlineStyle,
  }));
  assert.equal(focused.cls, 'skip-link');
  assert.notEqual(focused.outline, 'none', 'focus is visible');

  await submit(page, 'button:has-text("Start a GROW session")');
  const sessionPath = new URL(page.url()).pathname;
  assert.match(sessionPath, /^\/sessions\/[0-9a-f-]+$/);
  await page.screenshot({ path: join(artifacts, 'session-consent-1280.png'), fullPage: true });
  await page.check('#consent');
  await submit(page, '#begin');
  await checkPage(page, sessionPath, 'session');

  // The live counter follows what is typed.
  const hint = page.locator('#input-count');
  await page.fill('#input', 'Hello');
  assert.match(await hint.textContent(), /^\d+ of \d+ characters left$/);
  const [left, max] = (await hint.textContent()).match(/\d+/g).map(Number);
  assert.equal(max - left, 5);
  await page.fill('#input', '');

  // Ctrl+Enter sends; back at the answer, the coach's message is announced and the cursor waits
  // in the answer box.
  await page.fill('#input', 'Lead the platform team by summer');
  await Promise.all([page.waitForNavigation(), page.press('#input', 'Control+Enter')]);
  assert.match(page.url(), /#answer$/);
  await page.waitForFunction(() => document.getElementById('coach-live').textContent.length > 0);
  assert.equal(
    await page.evaluate(() => document.getElementById('coach-live').textContent),
    await page.evaluate(() => [...document.querySelectorAll('.conversation .bubble-coach')].pop().textContent),
  );
  assert.ok(
    await page.evaluate(() => document.activeElement.closest('#answer') !== null),
    'the answer box has the focus',
  );

  await assertAccessible(page, 'session (asking)');
  const counter = { n: 0 };
  let steps = 0;
  while (steps < 8 && (await page.locator('#close-session').count()) === 0) {
    const sent = await answerStep(page, counter);
    if (steps === 0) {
      await page.screenshot({ path: join(artifacts, 'session-confirming-1280.png'), fullPage: true });
      await assertAccessible(page, 'session (confirming)');
    }
    assert.ok(sent > 0 || (await page.locator('#proceed').count()) > 0, 'the coach asked something');
    // The captured list shows both items entered one by one.
    if (steps === 0) assert.match(await page.textContent('.captured'), /First item.*Second item/s);
    await submit(page, '#proceed');
    steps += 1;
  }
  assert.equal(steps, 5, 'GROW: goal, reality, options, will, review');

  // The action plan: give the first proposal a date and a tag, keep it, drop the rest.
  await checkPage(page, sessionPath, 'session-plan');
  const proposals = page.locator('.proposal');
  assert.ok(await proposals.count() >= 2, 'actions proposed');
  await page.fill('#proposal-0-due', '2031-03-14');
  await page.selectOption('#proposal-0-priority', 'high');
  await page.fill('#proposal-0-tags', 'career');
  await submit(page, '.proposal:nth-child(1) button[value=accept]');
  assert.match(await page.textContent('.proposal:nth-child(1)'), /Fri 14 Mar 2031/);
  // Every action is kept unless dropped: drop the others, and the close button says so.
  const proposed = await proposals.count();
  for (let i = 2; i <= proposed; i++) await submit(page, `.proposal:nth-child(${i}) button[value=drop]`);
  await page.screenshot({ path: join(artifacts, 'plan-decided-1280.png'), fullPage: true });
  assert.match(await page.textContent('#close-session'), /Close and keep 1 action/);
  await submit(page, '#close-session');
  assert.match(page.url(), /\/report$/);
  const report = await page.textContent('main');
  assert.match(report, /Lead the new platform team by summer/);
  assert.match(report, /First item/);
  await checkPage(page, `${sessionPath}/report`, 'report');
  // Printed, the report drops the page furniture and the buttons.
  await page.emulateMedia({ media: 'print' });
  for (const selector of ['.site-header', '.site-footer', '.no-print']) {
    const shown = await page.locator(selector).first().isVisible();
    assert.equal(shown, false, `${selector} is not printed`);
  }
  assert.ok(await page.locator('.report h1').isVisible(), 'the report itself is printed');
  await page.pdf({ path: join(artifacts, 'report.pdf') });
  await page.emulateMedia({ media: 'screen' });

  // Sign up in the same browser: the session moves into the account once the emailed link
  // confirms the address (and signs this browser in).
  await signUp(page, { email: 'visitor@example.com', password: 'a long and unusual passphrase 42', name: 'Vera Visitor' });
  assert.match(page.url(), /\/sessions\/[^/]+\/report$/, 'back on the report they were reading');
  assert.match(await page.locator('.flash').innerText(), /saved to your account/i);

  await checkPage(page, '/sessions', 'sessions');
  assert.match(await page.textContent('main'), /GROW/);
  await checkPage(page, '/actions', 'actions');
  const kept = page.locator('li.action');
  assert.equal(await kept.count(), 1, 'the kept action, not the dropped one');
  assert.match(await kept.first().textContent(), /Due Fri 14 Mar 2031 · high priority · career/);
  // Done and Reopen go through the JSON API (cookie + CSRF header) and change the card in place.
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  const patched = page.waitForResponse((r) => r.url().includes('/api/v1/actions/') && r.request().method() === 'PATCH');
  const box = kept.first().locator('button.check');
  assert.equal(await box.getAttribute('aria-pressed'), 'false');
  await box.click();
  assert.equal((await patched).status(), 200);
  await page.waitForSelector('li.action.action-done');
  assert.equal(await box.getAttribute('aria-pressed'), 'true', 'the box reads as ticked');
  const reopened = page.waitForResponse((r) => r.url().includes('/api/v1/actions/') && r.request().method() === 'PATCH');
  await box.click();
  assert.equal((await reopened).status(), 200);
  await page.waitForSelector('li.action:not(.action-done)');
  assert.deepEqual(navigations, [], 'no page load');
  await page.reload();
  assert.equal(await box.getAttribute('aria-pressed'), 'false', 'the server kept the reopened state');
  // Filters apply as soon as a choice changes.
  await Promise.all([page.waitForNavigation(), page.selectOption('#f-status', 'completed')]);
  assert.match(page.url(), /status=completed/);
  assert.equal(await page.locator('li.action').count(), 0, 'nothing completed now');
  await page.goto(`${base}/actions`);
  await checkPage(page, '/dashboard', 'dashboard');
  assert.match(await page.textContent('main'), /GROW/);
  await checkPage(page, '/settings', 'settings');
  // A personal API token, shown once.
  await page.goto(`${base}/settings#tokens`);
  await page.fill('#token-name', 'My script');
  await submit(page, 'button:has-text("Create token")');
  assert.match(await page.textContent('#new-token'), /^cfp_/);
  await page.locator('#tokens').screenshot({ path: join(artifacts, 'settings-token-1280.png') });
  await checkPage(page, `${sessionPath}/report`, 'report-member');
  assert.match(await page.textContent('main'), /Email me this report/);

  // Signed out, the session is no longer reachable from this browser.
  await submit(page, 'button:has-text("Log out")');
  const res = await page.goto(`${base}${sessionPath}`);
  assert.equal(res.status(), 404);

  assert.deepEqual(errors, [], 'no script errors');
  await context.close();
});

test('crisis language pauses the session with helplines; the person can end it', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  const page = await context.newPage();
  await page.goto(`${base}/frameworks/GROW`);
  await submit(page, 'button:has-text("Start a GROW session")');
  const sessionPath = new URL(page.url()).pathname;
  await page.check('#consent');
  await submit(page, '#begin');
  await page.fill('#input', 'Get through this month at work');
  await submit(page, '#send');
  await page.fill('#input', 'Some nights I want to end my life');
  await submit(page, '#send');
  assert.match(await page.textContent('main'), /Let's pause here/);
  assert.match(await page.textContent('.helplines'), /Samaritans/, 'helplines for the browser\'s country');
  await checkPage(page, sessionPath, 'session-paused');
  await submit(page, '#end-session');
  assert.match(page.url(), /\/report$/);
  const report = await page.textContent('main');
  assert.match(report, /ended before every step was done/);
  assert.match(report, /Get through this month at work/);
  await checkPage(page, `${sessionPath}/delete`, 'session-delete');
  await submit(page, 'form[action$="/delete"] button[type=submit]');
  assert.equal((await page.goto(`${base}${sessionPath}`)).status(), 404, 'deleted');
  await context.close();
});

test('the session works with JavaScript off', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/frameworks/GROW`);
  await submit(page, 'button:has-text("Start a GROW session")');
  await page.check('#consent');
  await submit(page, '#begin');
  await page.fill('#input', 'Run my first half marathon');
  await submit(page, '#send');
  // No enhancement: the plain text area takes a list one item per line.
  for (let i = 0; i < 6 && (await page.locator('#proceed').count()) === 0; i += 1) {
    await page.fill('#input', i % 2 ? 'in 3 days' : 'Finish under two hours\nEnjoy it');
    await submit(page, '#send');
  }
  assert.equal(await page.locator('.list-entry').count(), 0, 'nothing enhanced');
  assert.ok(await page.locator('#proceed').count(), 'the step is ready to confirm');
  await page.screenshot({ path: join(artifacts, 'session-nojs-360.png'), fullPage: true });
  await context.close();
});

test('a member downloads their data, deletes the account and keeps it by signing in', async () => {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const email = 'leaving@example.com';
  const password = 'plum tractor lantern 42';
  await signUp(page, { email, password });

  await page.goto(`${base}/settings#your-data`);
  await assertAccessible(page, '/settings with Your data');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a[href="/settings/export"]'),
  ]);
  assert.match(download.suggestedFilename(), /^coachflux-export-\d{4}-\d{2}-\d{2}\.json$/);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.user.email, email);
  assert.ok(exported.exportedAt && Array.isArray(exported.sessions) && Array.isArray(exported.actions));
  assert.ok(!JSON.stringify(exported).includes('argon2'), 'no password hash');

  // A wrong password is refused next to the field; the right one switches the account off.
  await page.fill('#delete-password', 'not it');
  await submit(page, 'form[action="/settings/delete"] button[type=submit]');
  assert.match(await page.locator('#your-data').innerText(), /That isn't your current password/);
  await page.fill('#delete-password', password);
  await page.fill('#delete-reason', 'Trying something else');
  await submit(page, 'form[action="/settings/delete"] button[type=submit]');
  assert.match(await page.locator('body').innerText(), /will be deleted in 7 days/);
  await page.goto(`${base}/dashboard`);
  assert.match(page.url(), /\/login/, 'signed out');

  await page.fill('#email', email);
  await page.fill('#password', password);
  await submit(page, 'form[action="/login"] button[type=submit]');
  assert.match(await page.locator('h1').innerText(), /waiting to be deleted/);
  await assertAccessible(page, 'keep-account page');
  await page.screenshot({ path: join(artifacts, 'keep-account-1280.png'), fullPage: true });
  await submit(page, 'button:has-text("Keep my account")');
  assert.match(page.url(), /\/dashboard$/);
  assert.match(await page.locator('body').innerText(), /will not be deleted/);
  await context.close();
});

test('our one script is served from the binary under a strict CSP', async () => {
  const res = await fetch(`${base}/static/app.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /javascript/);
  const csp = (await fetch(`${base}/`)).headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/, 'only our own script runs');
});

test('with the AI coach, replies stream into the page and the model writes the report', async () => {
  const { startStub } = await import('./llm-stub.mjs');
  const stub = await startStub();
  const ai = await startServer({
    COACHFLUX_COACH: 'openai',
    COACHFLUX_OPENAI_BASE_URL: `http://127.0.0.1:${stub.port}/v1`,
    COACHFLUX_OPENAI_MODEL: 'stub-model',
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${ai.url}/frameworks/GROW`);
    await submit(page, 'button:has-text("Start a GROW session")');
    await page.check('#consent');
    await submit(page, '#begin');
    assert.equal(await page.getAttribute('form[action$="/turn"]', 'data-stream'), '');
    // The first answer streams: the coach bubble fills in, then the page reloads.
    await page.fill('#input', 'Lead the new platform team by summer');
    const streamed = page.waitForResponse((r) => r.url().endsWith('/turn')
      && (r.headers()['content-type'] ?? '').startsWith('text/event-stream'));
    await Promise.all([page.waitForNavigation(), page.click('#send')]);
    await streamed;
    assert.match(await page.textContent('.conversation'), /AI coach: thank you — "Lead the new platform team by summer"/);
    await page.screenshot({ path: join(artifacts, 'session-ai-1280.png'), fullPage: true });
    const counter = { n: 1 };
    let steps = 0;
    while (steps < 8 && (await page.locator('#close-session').count()) === 0) {
      await answerStep(page, counter);
      await submit(page, '#proceed');
      steps += 1;
    }
    assert.equal(steps, 5);
    await submit(page, '#close-session');
    const report = await page.textContent('main');
    assert.match(report, /AI summary: you set a clear goal/);
    assert.match(report, /Written by the AI coach/);
    assert.match(report, /AI option: ask for a mentor/);
    await page.screenshot({ path: join(artifacts, 'report-ai-1280.png'), fullPage: true });
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
    ai.proc.kill('SIGTERM');
    stub.server.close();
    rmSync(ai.dir, { recursive: true, force: true });
  }
});

test('with the AI coach unreachable, the built-in coach carries the session and says so', async () => {
  const closedPort = await freePort();
  const ai = await startServer({
    COACHFLUX_COACH: 'openai',
    COACHFLUX_OPENAI_BASE_URL: `http://127.0.0.1:${closedPort}/v1`,
    COACHFLUX_OPENAI_MODEL: 'stub-model',
    COACHFLUX_OPENAI_TIMEOUT_SECS: '2',
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${ai.url}/frameworks/GROW`);
    await submit(page, 'button:has-text("Start a GROW session")');
    await page.check('#consent');
    await submit(page, '#begin');
    await page.fill('#input', 'Lead the new platform team by summer');
    await submit(page, '#send');
    const conversation = await page.textContent('.conversation');
    assert.match(conversation, /Coach: [^\n]*Lead the new platform team by summer/, 'the built-in coach reflects it back');
    assert.match(await page.textContent('.coach-note'), /The AI coach couldn't answer just now, so the built-in coach replied/);
    const counter = { n: 1 };
    let steps = 0;
    while (steps < 8 && (await page.locator('#close-session').count()) === 0) {
      await answerStep(page, counter);
      await submit(page, '#proceed');
      steps += 1;
    }
    assert.equal(steps, 5, 'every step completed');
    assert.ok(await page.locator('.coach-note').count() > 5, 'each reply says who answered');
    await page.screenshot({ path: join(artifacts, 'session-ai-down-1280.png'), fullPage: true });
    await submit(page, '.proposal button[value=accept]');
    await submit(page, '#close-session');
    const report = await page.textContent('main');
    assert.match(report, /Lead the new platform team by summer/);
    assert.match(report, /The AI coach couldn't write this report, so the built-in coach did/);
    assert.doesNotMatch(report, /Written by the AI coach/);
    await page.screenshot({ path: join(artifacts, 'report-ai-down-1280.png'), fullPage: true });
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
    ai.proc.kill('SIGTERM');
    rmSync(ai.dir, { recursive: true, force: true });
  }
});

test('two-factor set-up, recovery codes and the staff pages read on a phone', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const email = 'staff-person@example.com';
  const password = 'quartz meadow kettle 7';
  await signUp(page, { email, password });
  await checkPage(page, '/settings/2fa', 'two-factor-setup');
  const key = await page.locator('code.secret').innerText();
  await page.fill('#code', totp(key));
  await submit(page, 'button:has-text("Turn on")');
  assert.match(await page.locator('h1').innerText(), /Save your recovery codes/);
  assert.equal(await page.locator('#recovery-codes li').count(), 10);
  assert.ok(await page.locator('button[data-copy]').isVisible(), 'Copy shows with JavaScript');
  await checkHere(page, 'recovery-codes');

  // Staff, proved with the second factor (a code from the next step: the one used to turn it
  // on can't be used twice), see the staff pages; each reads on a phone.
  const cli = spawnSync(process.env.COACHFLUX_BIN ?? join(root, 'target', 'debug', 'coachflux'),
    ['admin', 'set-role', '--email', email, '--role', 'staff'], {
      env: {
        ...process.env,
        COACHFLUX_DATA_DIR: dataDir,
        COACHFLUX_DATABASE_URL: `sqlite://${join(dataDir, 'coachflux.db')}?mode=rwc`,
        COACHFLUX_LOG: 'warn',
      },
      encoding: 'utf8',
    });
  assert.equal(cli.status, 0, cli.stderr);
  await page.goto(`${base}/admin/mail`);
  assert.match(await page.locator('h1').innerText(), /Confirm it's you/);
  const step = Math.floor(Date.now() / 30_000);
  while (Math.floor(Date.now() / 30_000) === step) await new Promise((r) => setTimeout(r, 500));
  await page.fill('#confirm-password', password);
  await page.fill('#confirm-code', totp(key));
  await submit(page, 'button:has-text("Confirm")');
  assert.match(page.url(), /\/admin\/mail$/);
  await checkPage(page, '/admin/mail', 'admin-mail');
  const mailItem = await page.locator('main table a').first().getAttribute('href');
  await checkPage(page, mailItem, 'admin-mail-item');
  await checkPage(page, '/admin/jobs', 'admin-jobs');
  await checkPage(page, '/admin/coach', 'admin-coach');
  await context.close();
});
