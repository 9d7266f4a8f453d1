// The dashboard in headless Chromium (SPEC 8): run by util/test.sh as
// "node --test t/browser/", or alone after a build:
//
//   (cd t/browser && npm install) && node --test t/browser/
//
// It starts nginx with the module from build/ on a free port, against the
// suite's private Redis ($TEST_NGINX_REDIS_PORT) or a Redis of its own,
// and Chromium from $CHROMIUM or /usr/bin/chromium.  The screenshot goes
// to build/screenshots/dashboard.png, with the overview's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync }
    from 'node:fs';
import { freePort, suiteRedis, startNginx } from './lib.mjs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
let dir, port, redisPort, redis, browser, page, base, stopNginx;
const consoleErrors = [];
let dialogs = 0;

async function beacon(query) {
    const res = await fetch(`${base}/ct?${query}`);
    assert.equal(res.status, 200, `beacon ${query}`);
    await res.arrayBuffer();
}

async function feedText() {
    return page.locator('#feed tbody').innerText();
}

before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clicktrack-browser-'));
    port = await freePort();

    [redisPort, redis] = await suiteRedis(dir);

    // a stream key of its own: the suite's Redis is shared with others
    const key = `clicktrack:browser:${process.pid}`;

    stopNginx = await startNginx(dir, port, `
    clicktrack_redis 127.0.0.1:${redisPort};
    clicktrack_recent ${key};
    clicktrack_list ${key}:list;
    clicktrack_ignore_bots off;
    clicktrack_cookie off;
    server {
        listen 127.0.0.1:${port};
        location = /ct { clicktrack_beacon; }
        location /clicktrack/ {
            allow 127.0.0.1; deny all;
            location = /clicktrack/stream { clicktrack_stream; }
            location = /clicktrack/dashboard {
                clicktrack_dashboard /clicktrack/stream;
            }
        }
    }`, 2);

    base = `http://127.0.0.1:${port}`;

    browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox'],
    });

    const context = await browser.newContext({ acceptDownloads: true });
    page = await context.newPage();

    page.on('console', (m) => {
        if (m.type() === 'error') {
            consoleErrors.push(m.text());
        }
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('dialog', async (d) => {
        dialogs++;
        await d.dismiss();
    });

    // some history before the page opens: the backlog
    await beacon('t=pageview&u=https://example.com/old&v=visitor-old-1');
    await beacon('t=click&l=old-click&v=visitor-old-1');
    await new Promise((r) => setTimeout(r, 100));
});

after(async () => {
    if (browser) {
        await browser.close();
    }

    if (stopNginx) {
        stopNginx();
    }

    if (redis) {
        redis.kill();
    } else {
        const key = `clicktrack:browser:${process.pid}`;
        spawnSync('redis-cli', ['-p', String(redisPort), 'DEL', key,
            `${key}:list`]);
    }

    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
});

test('the page loads with no console errors and goes live', async () => {
    const res = await page.goto(`${base}/clicktrack/dashboard`);
    assert.equal(res.status(), 200);
    await page.waitForSelector('#state.live', { timeout: 5000 });
    assert.deepEqual(consoleErrors, []);
});

test('the backlog is there: earlier events as rows', async () => {
    await page.waitForFunction(
        () => document.querySelector('#feed tbody').textContent
              .includes('old-click'), null, { timeout: 2000 });
    assert.match(await feedText(), /https:\/\/example\.com\/old/);
});

test('beacons sent now appear as rows within a second', async () => {
    for (let i = 1; i <= 3; i++) {
        const label = `live-${i}-${Date.now()}`;
        const t0 = Date.now();
        await beacon(`t=click&l=${label}&v=visitor-live-1`);
        await page.waitForFunction(
            (l) => document.querySelector('#feed tbody').textContent
                   .includes(l), label, { timeout: 1000 });
        assert.ok(Date.now() - t0 <= 1000, `${label} within a second`);
    }
});

test('counts by type, top labels and pages update', async () => {
    const count = (t) => page.locator(`#counts li[data-type="${t}"] .n`)
                             .innerText();
    await page.waitForFunction(
        () => document.querySelector('#counts li[data-type="click"] .n')
              ?.textContent === '4', null, { timeout: 2000 });
    assert.equal(await count('click'), '4');
    assert.equal(await count('pageview'), '1');

    await beacon('t=pageview&u=https://example.com/new&v=visitor-live-1');
    await page.waitForFunction(
        () => document.querySelector('#counts li[data-type="pageview"] .n')
              ?.textContent === '2', null, { timeout: 2000 });
    assert.match(await page.locator('#pages').innerText(),
                 /example\.com\/new/);
    assert.match(await page.locator('#labels').innerText(), /old-click/);
    assert.notEqual(await page.locator('#rate div').count(), 0);
});

test('an XSS label is shown as text, and nothing runs', async () => {
    const label = '<img src=x onerror=alert(1)>';
    await beacon(`t=click&l=${encodeURIComponent(label)}&v=visitor-xss-1`);
    await page.waitForFunction(
        (l) => document.querySelector('#feed tbody').textContent.includes(l),
        label, { timeout: 2000 });
    assert.equal(await page.locator('#feed tbody img').count(), 0);
    assert.equal(await page.locator('#labels img').count(), 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(dialogs, 0, 'no dialog opened');
});

test('a reload keeps the backlog', async () => {
    await page.reload();
    await page.waitForSelector('#state.live', { timeout: 5000 });
    await page.waitForFunction(
        () => document.querySelector('#feed tbody').textContent
              .includes('old-click'), null, { timeout: 2000 });
    const text = await feedText();
    assert.match(text, /live-3-/);
    assert.match(text, /<img src=x onerror=alert\(1\)>/);
    assert.deepEqual(consoleErrors, []);
});

test('the type filter shows only that type', async () => {
    await page.selectOption('#type', 'pageview');
    const types = await page.locator('#feed tbody td:nth-child(2)')
                            .allInnerTexts();
    assert.ok(types.length >= 2);
    assert.ok(types.every((t) => t === 'pageview'), types.join(','));
    await page.selectOption('#type', '');
});

test('the visitor filter shows only that visitor, and the CSV follows',
     async () => {
    await page.fill('#visitor', 'visitor-old-1');
    await page.waitForFunction(
        () => document.querySelectorAll('#feed tbody tr').length === 2,
        null, { timeout: 2000 });
    const who = await page.locator('#feed tbody td.visitor')
                          .evaluateAll((tds) => tds.map((t) => t.title));
    assert.deepEqual(who, ['visitor-old-1', 'visitor-old-1']);
    assert.match(await page.locator('#csv').getAttribute('href'),
                 /visitor=visitor-old-1/);
    await page.fill('#visitor', '');
});

test('the CSV link downloads the CSV', async () => {
    const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click('#csv'),
    ]);
    const file = await download.path();
    const csv = readFileSync(file, 'utf8');
    assert.match(csv, /^id,ts,type,category,label,url,referrer,visitor,session,user,host,ip\r\n/);
    assert.match(csv, /old-click/);
    assert.match(csv, /"<img src=x onerror=alert\(1\)>"|<img src=x onerror=alert\(1\)>/);
});

test('pause stops the feed, resume brings it back', async () => {
    await page.click('#pause');
    const label = `while-paused-${Date.now()}`;
    await beacon(`t=click&l=${label}`);
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(await feedText(), new RegExp(label));
    await page.click('#pause');
    assert.match(await feedText(), new RegExp(label));
});

test('a screenshot (kept out of git)', async () => {
    const out = join(here, '../../build/screenshots');
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, 'dashboard.png'),
                            fullPage: true });
    assert.deepEqual(consoleErrors, []);
});
