// The dashboard's overview (SPEC 8 and 11) in headless Chromium: known
// traffic through the beacon and the rollups, then every number and table
// the page shows checked against that traffic; a range change, a site
// change, an empty range, Redis down and back, the phone width, the
// keyboard, the time to render.  Run by util/test.sh as
// "node --test t/browser/".  Screenshots go to build/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { top, freePort, startNginx, redisCli, sleep, chromiumPath }
    from './lib.mjs';

const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
    + '(KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) '
    + 'AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 '
    + 'Safari/604.1';
const XSS = '<img src=x onerror=alert(1)>';

let dir, port, redisPort, redis, browser, page, stop, base;
const consoleErrors = [];
let dialogs = 0;

const utc = (d) => d.toISOString().slice(0, 10);
const today = utc(new Date());
const yesterday = utc(new Date(Date.now() - 86400000));
const daysAgo = (n) => utc(new Date(Date.now() - n * 86400000));

function startRedis() {
    redis = spawn('redis-server', ['--port', String(redisPort),
        '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir], { stdio: 'ignore' });
    return sleep(300);
}

// a GET beacon as a browser on HOST sends it
function beacon(host, query, headers = {}) {
    return new Promise((ok, fail) => {
        const req = request({ host: '127.0.0.1', port, path: `/ct?${query}`,
            headers: { Host: host, 'User-Agent': DESKTOP, ...headers } },
        (res) => {
            res.resume();
            res.on('end', () => res.statusCode === 200 ? ok()
                : fail(new Error(`beacon ${query}: ${res.statusCode}`)));
        });
        req.on('error', fail);
        req.end();
    });
}

async function stats(query) {
    const r = await fetch(`${base}/clicktrack/stats?${query}`);
    return r.json();
}

// the rollups of a window are in Redis within a second or so
async function until(query, check) {
    for (let i = 0; i < 60; i++) {
        if (check(await stats(query))) {
            return;
        }
        await sleep(100);
    }
    throw new Error(`the stats never showed it: ${query}`);
}

async function shown() {
    return page.evaluate(() => {
        const out = { totals: {}, tables: {}, changes: {} };
        document.querySelectorAll('#totals .stat').forEach((s) => {
            out.totals[s.dataset.total] = s.querySelector('.v').textContent;
            // the change against the previous range, and its colour
            const d = s.querySelector('.d');
            if (d) {
                out.changes[s.dataset.total] = [d.textContent,
                    d.classList.contains('good') ? 'good'
                    : d.classList.contains('bad') ? 'bad' : ''];
            }
        });
        document.querySelectorAll('[data-table]').forEach((s) => {
            out.tables[s.dataset.table] = [...s.querySelectorAll('tbody tr')]
                .map((tr) => [...tr.children].map((td) => td.textContent));
        });
        out.range = document.getElementById('range').textContent;
        out.site = document.getElementById('site').value;
        out.msg = document.getElementById('msg').textContent;
        return out;
    });
}

// the overview has been drawn from an answer for RANGE
async function drawn(range) {
    await page.waitForFunction(
        (r) => document.getElementById('range').textContent === r
               && document.querySelector('#totals .stat'),
        range, { timeout: 5000 });
}

before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clicktrack-overview-'));
    port = await freePort();
    redisPort = await freePort();
    base = `http://127.0.0.1:${port}`;

    // a Redis of its own: this test stops it
    await startRedis();

    stop = await startNginx(dir, port, `
    clicktrack_redis 127.0.0.1:${redisPort};
    clicktrack_ignore_bots off;
    clicktrack_cookie off;
    clicktrack_field country $http_x_country;
    server {
        listen 127.0.0.1:${port};
        location = /ct { clicktrack_beacon; }
        location /clicktrack/ {
            allow 127.0.0.1; deny all;
            location = /clicktrack/stream { clicktrack_stream; }
            location = /clicktrack/stats { clicktrack_stats; }
            location = /clicktrack/dashboard {
                clicktrack_dashboard /clicktrack/stream /clicktrack/stats;
            }
        }
    }`, 2);

    // shop.example today: three visitors, three visits, four pageviews
    const de = { 'X-Country': 'DE' }, fr = { 'X-Country': 'FR' };
    await beacon('shop.example', 't=pageview&v=visitor-a1&s=session-a1'
        + '&u=https://shop.example/&r=https://news.ycombinator.com/item', de);
    await beacon('shop.example', 't=pageview&v=visitor-a1&s=session-a1'
        + '&u=' + encodeURIComponent('https://shop.example/pricing'
            + '?utm_source=newsletter&utm_medium=email'
            + '&utm_campaign=winter&utm_content=hero&utm_term=shoes'), de);
    await beacon('shop.example', 't=click&v=visitor-a1&s=session-a1'
        + '&l=' + encodeURIComponent(XSS), de);
    await beacon('shop.example', 't=engage&v=visitor-a1&s=session-a1'
        + '&p.time=120000', de);
    await beacon('shop.example', 't=pageview&v=visitor-b1&s=session-b1'
        + '&u=https://shop.example/pricing', { ...fr, 'User-Agent': PHONE });
    await beacon('shop.example', 't=click&c=outbound&v=visitor-b1'
        + '&s=session-b1&l=https://partner.example/x',
        { ...fr, 'User-Agent': PHONE });
    await beacon('shop.example', 't=engage&v=visitor-b1&s=session-b1'
        + '&p.time=66000', { ...fr, 'User-Agent': PHONE });
    await beacon('shop.example', 't=pageview&v=visitor-c1&s=session-c1'
        + `&u=https://shop.example/${encodeURIComponent(XSS)}`
        + `&r=${encodeURIComponent(`https://${XSS}.example/`)}`, de);
    await beacon('shop.example', 't=click&c=download&v=visitor-c1'
        + '&s=session-c1&l=/files/guide.pdf', de);

    // blog.example: one pageview
    await beacon('blog.example', 't=pageview&v=visitor-z1&s=session-z1'
        + '&u=https://blog.example/post');

    // xss.example: markup in every table a beacon can write into
    const q = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content',
               'utm_term'].map((n) => `${n}=${encodeURIComponent(XSS)}`);
    await beacon('xss.example', 't=pageview&v=visitor-x1&s=session-x1&u='
        + encodeURIComponent(`https://xss.example/${XSS}?${q.join('&')}`)
        + `&r=${encodeURIComponent(`https://${XSS}.example/`)}`,
        { 'X-Country': XSS });
    await beacon('xss.example', 't=click&c=outbound&v=visitor-x1'
        + `&l=${encodeURIComponent(XSS)}`);
    await beacon('xss.example', 't=click&c=download&v=visitor-x1'
        + `&l=${encodeURIComponent(XSS)}`);

    await until('site=shop.example', (a) => a.totals.events === 9);
    await until('site=xss.example', (a) => a.totals.events === 3);
    await until('site=blog.example', (a) => a.totals.pageviews === 1);

    // shop.example yesterday, written as the rollups keep a day: two
    // visitors, two visits, five pageviews, one of them bounced
    const k = `clicktrack:stats:{shop.example}:${yesterday}`;
    redisCli(redisPort, 'HSET', `${k}:counts`, 'events', '6',
             'pageviews', '5', 'pageviews:09', '3', 'pageviews:17', '2',
             'events:09', '4', 'events:17', '2', 'visits_viewed', '2',
             'visits_multi', '1', 'engaged_ms', '50000');
    redisCli(redisPort, 'PFADD', `${k}:visitors`, 'visitor-y1', 'visitor-y2');
    redisCli(redisPort, 'PFADD', `${k}:visits`, 'session-y1', 'session-y2');
    redisCli(redisPort, 'ZADD', `${k}:pages`, '4', '/old', '1', '/');
    redisCli(redisPort, 'ZADD', `${k}:events`, '5', 'pageview', '1', 'click');
    redisCli(redisPort, 'ZADD', `clicktrack:stats:sites:${yesterday}`, '6',
             'shop.example');

    // and ten days ago, in the 7 days before the last 7: four visitors,
    // five visits, twelve pageviews, two of the visits bounced, no
    // engage time
    const k10 = `clicktrack:stats:{shop.example}:${daysAgo(10)}`;
    redisCli(redisPort, 'HSET', `${k10}:counts`, 'events', '12',
             'pageviews', '12', 'pageviews:12', '12', 'events:12', '12',
             'visits_viewed', '5', 'visits_multi', '3');
    redisCli(redisPort, 'PFADD', `${k10}:visitors`, 'visitor-p1',
             'visitor-p2', 'visitor-p3', 'visitor-p4');
    redisCli(redisPort, 'PFADD', `${k10}:visits`, 'session-p1',
             'session-p2', 'session-p3', 'session-p4', 'session-p5');
    redisCli(redisPort, 'ZADD', `${k10}:pages`, '12', '/then');
    redisCli(redisPort, 'ZADD', `${k10}:events`, '12', 'pageview');
    redisCli(redisPort, 'ZADD', `clicktrack:stats:sites:${daysAgo(10)}`,
             '12', 'shop.example');

    browser = await chromium.launch({ executablePath: chromiumPath,
                                      args: ['--no-sandbox'] });
    const context = await browser.newContext({
        viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('console', (m) => {
        // the answers the tests provoke: Redis down, a refused site
        if (m.type() === 'error'
            && !/Failed to load resource: .* (400|503)/.test(m.text())) {
            consoleErrors.push(m.text());
        }
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('dialog', async (d) => {
        dialogs++;
        await d.dismiss();
    });
});

after(async () => {
    if (browser) {
        await browser.close();
    }
    if (stop) {
        stop();
    }
    if (redis) {
        redis.kill();
    }
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
});

test('it opens on today\'s overview of the busiest site', async () => {
    const res = await page.goto(`${base}/clicktrack/dashboard`);
    assert.equal(res.status(), 200);
    await drawn(today);
    assert.equal(await page.locator('#tab-overview')
                     .getAttribute('aria-selected'), 'true');
    assert.equal(await page.locator('#live').isVisible(), false);

    const s = await shown();
    assert.equal(s.site, 'shop.example');
    assert.deepEqual(await page.locator('#site option').allTextContents(),
                     ['shop.example', 'xss.example', 'blog.example']);
    assert.deepEqual(s.totals, {
        visitors: '3', visits: '3', pageviews: '4',
        per_visit: '1.33',              // 4 / 3
        bounce_rate: '67%',             // 2 of 3 visits saw one page
        visit_duration: '1m 2s',        // (120 + 66) s / 3 visits
        now: '3',
    });
    // against yesterday: 2 visitors, 2 visits, 5 pageviews, 50%, 25 s
    assert.deepEqual(s.changes, {
        visitors: ['+50% vs previous day', 'good'],
        visits: ['+50% vs previous day', 'good'],
        pageviews: ['\u221220% vs previous day', 'bad'],
        per_visit: ['\u221247% vs previous day', 'bad'],   // 1.33 / 2.5
        bounce_rate: ['+17 pp vs previous day', 'bad'],    // 67% - 50%
        visit_duration: ['+148% vs previous day', 'good'], // 62 s / 25 s
    });
    assert.equal(await page.locator('[data-total="visitors"] .d')
                     .getAttribute('title'), `${yesterday}: 2`);
    // yesterday's hours have no visitors: no line of the previous day
    assert.equal(await page.locator('#chart polyline.prev').count(), 0);
    assert.equal(await page.locator('#legend-prev').isVisible(), false);
    assert.deepEqual(consoleErrors, []);
});

test('every table shows the traffic sent, as text', async () => {
    const t = (await shown()).tables;
    assert.deepEqual(t.pages, [['/pricing', '2'], ['/', '1'],
                               [`/${XSS}`, '1']]
                         .sort((a, b) => b[1] - a[1]
                               || (a[0] < b[0] ? 1 : -1)));
    assert.deepEqual(t.referrers.map((r) => r[1]), ['2', '1', '1']);
    assert.deepEqual(t.referrers.map((r) => r[0]).sort(),
                     ['(direct)', 'news.ycombinator.com',
                      `${XSS}.example`.toLowerCase()].sort());
    assert.deepEqual(t.utm_source, [['newsletter', '1']]);
    assert.deepEqual(t.utm_medium, [['email', '1']]);
    assert.deepEqual(t.utm_campaign, [['winter', '1']]);
    assert.deepEqual(t.utm_content, [['hero', '1']]);
    assert.deepEqual(t.utm_term, [['shoes', '1']]);
    assert.deepEqual(t.countries, [['DE', '3'], ['FR', '1']]);
    assert.deepEqual(t.browsers, [['Chrome', '3'], ['Safari', '1']]);
    assert.deepEqual(t.os, [['Linux', '3'], ['iOS', '1']]);
    assert.deepEqual(t.devices, [['desktop', '3'], ['mobile', '1']]);
    assert.deepEqual(t.events, [['pageview', '4'], ['click', '3'],
                                ['engage', '2']]);
    assert.deepEqual(t.labels.map((r) => r[0]).sort(),
                     [XSS, 'https://partner.example/x', '/files/guide.pdf']
                         .sort());
    assert.deepEqual(t.outbound, [['https://partner.example/x', '1']]);
    assert.deepEqual(t.downloads, [['/files/guide.pdf', '1']]);

    // the XSS strings are characters, nowhere markup
    assert.equal(await page.locator('#overview img').count(), 0);
    await sleep(200);
    assert.equal(dialogs, 0);
});

test('markup in every table is shown as text, and nothing runs',
     async () => {
    await page.goto(`${base}/clicktrack/dashboard?site=xss.example`);
    await drawn(today);
    const t = (await shown()).tables;
    for (const name of ['pages', 'referrers', 'utm_source', 'utm_medium',
                        'utm_campaign', 'utm_content', 'utm_term',
                        'countries', 'labels', 'outbound', 'downloads']) {
        assert.ok(t[name][0][0].includes(XSS.toLowerCase())
                  || t[name][0][0].includes(XSS), `${name}: ${t[name]}`);
    }
    assert.equal(await page.locator('#overview img').count(), 0);
    await sleep(300);
    assert.equal(dialogs, 0);
    assert.deepEqual(consoleErrors, []);
    await page.goto(`${base}/clicktrack/dashboard`);
    await drawn(today);
});

test('each table and the series have a CSV link that downloads it',
     async () => {
    const links = await page.locator('#overview a.csv').evaluateAll(
        (as) => as.map((a) => a.getAttribute('href')));
    assert.equal(links.length, 16);
    for (const name of ['series', 'pages', 'referrers', 'utm_source',
                        'utm_medium', 'utm_campaign', 'utm_content',
                        'utm_term', 'countries', 'browsers', 'os',
                        'devices', 'events', 'labels', 'outbound',
                        'downloads']) {
        assert.ok(links.includes('/clicktrack/stats?period=today&site='
                                 + `shop.example&format=csv&table=${name}`),
                  name);
    }
    const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click('[data-table="countries"] a.csv'),
    ]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.match(csv, /^name,count\r?\nDE,3\r?\nFR,1\r?\n$/);
});

test('the chart: 24 hours, the value on hover and on keyboard focus',
     async () => {
    const hour = new Date().getUTCHours();
    assert.equal(await page.locator('#chart svg rect.pv').count(), 24);
    await page.locator('#chart svg').hover({
        position: { x: 50, y: 100 } });
    await page.waitForSelector('#tip:not(.hidden)');
    assert.match(await page.locator('#tip').textContent(),
                 /^00:00: \d+ visitors, \d+ pageviews$/);

    await page.focus('#chart svg');
    await page.keyboard.press('End');
    assert.equal(await page.locator('#tip').textContent(),
                 hour === 23 ? '23:00: 3 visitors, 4 pageviews'
                             : '23:00: 0 visitors, 0 pageviews');
    await page.keyboard.press('Home');
    for (let i = 0; i < hour; i++) {
        await page.keyboard.press('ArrowRight');
    }
    const h = String(hour).padStart(2, '0');
    assert.equal(await page.locator('#tip').textContent(),
                 `${h}:00: 3 visitors, 4 pageviews`);
    await page.keyboard.press('Tab');
    assert.equal(await page.locator('#tip').isVisible(), false);
});

test('the 30-day overview renders within 300 ms of its answer', async () => {
    await page.selectOption('#period', '30d');
    await drawn(`${utc(new Date(Date.now() - 29 * 86400000))} \u2013 ${today}`);
    assert.match(page.url(), /\?period=30d$/);
    const ms = await page.evaluate(() => {
        const m = performance.getEntriesByName('ct-overview');
        return m[m.length - 1].duration;
    });
    assert.ok(ms < 300, `rendered in ${ms} ms`);
    console.log(`# the 30-day overview rendered in ${ms.toFixed(1)} ms`);
    assert.equal(await page.locator('#chart svg rect.pv').count(), 30);
});

test('a range change: yesterday, then the last 7 days', async () => {
    await page.selectOption('#period', 'yesterday');
    await drawn(yesterday);
    let s = await shown();
    assert.deepEqual(s.totals, {
        visitors: '2', visits: '2', pageviews: '5', per_visit: '2.5',
        bounce_rate: '50%', visit_duration: '25s', now: '3',
    });
    assert.deepEqual(s.tables.pages, [['/old', '4'], ['/', '1']]);
    assert.deepEqual(s.tables.utm_source, [['No data']]);
    // the day before had nothing
    assert.deepEqual(s.changes, {
        visitors: ['new', ''], visits: ['new', ''], pageviews: ['new', ''],
        per_visit: ['new', ''], bounce_rate: ['new', ''],
        visit_duration: ['new', ''],
    });

    await page.selectOption('#period', '7d');
    await drawn(`${utc(new Date(Date.now() - 6 * 86400000))} \u2013 ${today}`);
    s = await shown();
    assert.deepEqual(s.totals, {
        visitors: '5', visits: '5', pageviews: '9',
        per_visit: '1.8', bounce_rate: '60%',   // (2 + 1) of 5 visits
        visit_duration: '47s',                  // 236 s / 5 visits
        now: '3',
    });
    assert.deepEqual(s.tables.pages[0], ['/old', '4']);
    assert.deepEqual(s.tables.pages[1], ['/pricing', '2']);
    assert.deepEqual(s.tables.pages.find((r) => r[0] === '/'), ['/', '2']);
    // against the 7 days before: 4 visitors, 5 visits, 12 pageviews,
    // 40% bounced, no visit duration
    assert.deepEqual(s.changes, {
        visitors: ['+25% vs previous 7 days', 'good'],
        visits: ['0% vs previous 7 days', ''],
        pageviews: ['\u221225% vs previous 7 days', 'bad'],
        per_visit: ['\u221225% vs previous 7 days', 'bad'],   // 1.8 / 2.4
        bounce_rate: ['+20 pp vs previous 7 days', 'bad'],
        visit_duration: ['new', ''],
    });
    assert.equal(await page.locator('[data-total="pageviews"] .d')
                     .getAttribute('title'),
                 `${daysAgo(13)} \u2013 ${daysAgo(7)}: 12`);
    // the previous 7 days' visitors, faintly: 4 ten days ago, that is on
    // the fourth point
    const prev = await page.locator('#chart polyline.prev')
        .getAttribute('points');
    const vis = await page.locator('#chart polyline.vis')
        .getAttribute('points');
    assert.equal(prev.split(' ').length, 7);
    const ys = prev.split(' ').map((xy) => Number(xy.split(',')[1]));
    assert.ok(ys[3] < ys[0] && ys.filter((y) => y === ys[0]).length === 6,
              prev);
    assert.deepEqual(prev.split(' ').map((xy) => xy.split(',')[0]),
                     vis.split(' ').map((xy) => xy.split(',')[0]));
    assert.equal(await page.locator('#legend-prev').isVisible(), true);
});

test('the view is in the URL: a reload and the back button keep it',
     async () => {
    assert.match(page.url(), /\?period=7d$/);
    await page.reload();
    await drawn(`${utc(new Date(Date.now() - 6 * 86400000))} \u2013 ${today}`);
    assert.equal(await page.locator('#period').inputValue(), '7d');
    await page.goBack();
    await drawn(yesterday);
    assert.equal(await page.locator('#period').inputValue(), 'yesterday');

    // a query the page does not know is today, never sent to the API
    await page.goto(`${base}/clicktrack/dashboard?period=week&from=2026-1-1`);
    await drawn(today);
    assert.equal(await page.locator('#period').inputValue(), 'today');
    assert.equal(await page.locator('#msg').textContent(), '');
});

test('a site change', async () => {
    await page.goto(`${base}/clicktrack/dashboard`);
    await drawn(today);
    await page.selectOption('#site', 'blog.example');
    await page.waitForFunction(() => document.querySelector(
        '[data-total="pageviews"] .v').textContent === '1');
    const s = await shown();
    assert.match(page.url(), /\?site=blog\.example$/);
    assert.deepEqual(s.totals, {
        visitors: '1', visits: '1', pageviews: '1', per_visit: '1',
        bounce_rate: '100%', visit_duration: '\u2014', now: '1',
    });
    assert.deepEqual(s.tables.pages, [['/post', '1']]);

    // a site the API refuses: its reason, and no retry
    await page.goto(`${base}/clicktrack/dashboard?site=a%7Bb`);
    await page.waitForFunction(() => document.getElementById('msg')
                                         .textContent !== '');
    assert.equal(await page.locator('#msg').textContent(),
                 'The statistics refuse this view: invalid "site": '
                 + 'a host name');
});

test('a custom range with no data: "no data", not a broken chart',
     async () => {
    await page.goto(`${base}/clicktrack/dashboard`);
    await drawn(today);
    await page.selectOption('#period', 'custom');
    await page.fill('#from', '2020-01-01');
    await page.fill('#to', '2020-01-31');
    await page.click('#apply');
    await drawn('2020-01-01 \u2013 2020-01-31');
    assert.match(page.url(), /from=2020-01-01&to=2020-01-31/);
    assert.equal(await page.locator('#chart svg').count(), 0);
    assert.equal(await page.locator('#chart').textContent(),
                 'No data for this range');
    const s = await shown();
    assert.equal(s.totals.visitors, '0');
    assert.equal(s.totals.bounce_rate, '\u2014');
    // nothing now, nothing before: no change
    assert.deepEqual(s.changes, {
        visitors: ['\u2014', ''], visits: ['\u2014', ''],
        pageviews: ['\u2014', ''], per_visit: ['\u2014', ''],
        bounce_rate: ['\u2014', ''], visit_duration: ['\u2014', ''],
    });
    for (const rows of Object.values(s.tables)) {
        assert.deepEqual(rows, [['No data']]);
    }

    // a range the API refuses: its reason, and the page stays whole
    await page.fill('#from', '2020-02-01');
    await page.click('#apply');
    assert.match(await page.locator('#msg').textContent(),
                 /first not after the second/);
});

test('a day with nothing after a day with traffic: down to nothing',
     async () => {
    const day = daysAgo(9);
    await page.goto(`${base}/clicktrack/dashboard?site=shop.example`
                    + `&from=${day}&to=${day}`);
    await drawn(day);
    const s = await shown();
    assert.equal(s.totals.visitors, '0');
    assert.deepEqual(s.changes, {
        visitors: ['\u2212100% vs previous day', 'bad'],
        visits: ['\u2212100% vs previous day', 'bad'],
        pageviews: ['\u2212100% vs previous day', 'bad'],
        // no visit now: no figure to compare
        per_visit: ['\u2014', ''], bounce_rate: ['\u2014', ''],
        visit_duration: ['\u2014', ''],
    });
    assert.equal(await page.locator('#overview img').count(), 0);
});

test('Redis down: a clear message, then the overview again', async () => {
    await page.goto(`${base}/clicktrack/dashboard?period=today`);
    await drawn(today);
    redisCli(redisPort, 'SAVE');
    redis.kill();
    await sleep(300);
    await page.selectOption('#period', 'yesterday');
    await page.waitForFunction(() => /unavailable/.test(
        document.getElementById('msg').textContent), null, { timeout: 5000 });
    assert.match(await page.locator('#msg').textContent(),
                 new RegExp('^The statistics are unavailable \\(HTTP 503: '
                            + 'clicktrack: redis is unreachable\\); trying '
                            + 'again in \\d+ s\\.$'));
    await startRedis();
    await drawn(yesterday);
    await page.waitForFunction(() => document.getElementById('msg')
                                         .textContent === '', null,
                               { timeout: 40000 });
    assert.equal((await shown()).totals.pageviews, '5');
});

test('the live view stays, on its own tab, by mouse and keyboard',
     async () => {
    await page.click('#tab-live');
    assert.equal(await page.locator('#live').isVisible(), true);
    assert.equal(await page.locator('#overview').isVisible(), false);
    assert.match(page.url(), /view=live/);
    await page.waitForSelector('#state.live', { timeout: 5000 });
    const label = `live-${Date.now()}`;
    await beacon('shop.example', `t=click&l=${label}`);
    await page.waitForFunction((l) => document.querySelector(
        '#feed tbody').textContent.includes(l), label, { timeout: 3000 });

    await page.focus('#tab-live');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.locator('#overview').isVisible(), true);
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 'tab-overview');
});

test('the totals and "visitors now" follow the traffic', async () => {
    await page.goto(`${base}/clicktrack/dashboard`);
    await drawn(today);
    assert.equal((await shown()).totals.now, '3');
    await beacon('shop.example', 't=pageview&v=visitor-d1&s=session-d1'
        + '&u=https://shop.example/later');
    await until('site=shop.example', (a) => a.totals.pageviews === 5);

    // read again when the page is seen again (and every 30 s)
    await page.evaluate(() => document.dispatchEvent(
        new Event('visibilitychange')));
    await page.waitForFunction(() => document.querySelector(
        '[data-total="now"] .v').textContent === '4');
    const s = await shown();
    assert.equal(s.totals.visitors, '4');
    assert.equal(s.totals.pageviews, '5');
    assert.equal(s.totals.bounce_rate, '75%');
});

test('screenshots, desktop and a 390-pixel phone, fit the width',
     async () => {
    const out = join(top, 'build/screenshots');
    mkdirSync(out, { recursive: true });
    await page.goto(`${base}/clicktrack/dashboard?period=7d`);
    await drawn(`${utc(new Date(Date.now() - 6 * 86400000))} \u2013 ${today}`);
    await page.screenshot({ path: join(out, 'overview-desktop.png'),
                            fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await drawn(`${utc(new Date(Date.now() - 6 * 86400000))} \u2013 ${today}`);
    const wide = await page.evaluate(
        () => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `the page is ${wide} pixels wide`);
    const svgWidth = await page.evaluate(() => document.querySelector(
        '#chart svg').getBoundingClientRect().width);
    assert.ok(svgWidth <= 390 - 16, `the chart is ${svgWidth} wide`);
    await page.screenshot({ path: join(out, 'overview-phone.png'),
                            fullPage: true });
    assert.deepEqual(consoleErrors, []);
});
