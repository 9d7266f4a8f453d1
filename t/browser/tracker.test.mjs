// The tracker (SPEC 7) in headless Chromium, against nginx with the
// module and the suite's Redis: every behaviour is proven by reading the
// events it left in Redis.  Run by util/test.sh as "node --test t/browser/".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, chmodSync }
    from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { freePort, suiteRedis, startNginx, redisCli, events, sleep,
         chromiumPath } from './lib.mjs';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
    + '(KHTML, like Gecko) Chrome/120.0 Safari/537.36';

let dir, port, port2, redisPort, redis, browser, stops = [], slow;
const key = `clicktrack:tracker:${process.pid}`;
const pageErrors = [];

// the stub a page puts before the script, as docs/tracker.md shows it
const stub = '<script>window.clicktrack=window.clicktrack||function(){'
    + '(clicktrack.q=clicktrack.q||[]).push(arguments)};</script>';

function html(script, body, attrs = '') {
    return `<!doctype html><html><head><meta charset="utf-8">${stub}
<script async src="${script}"${attrs}></script></head><body>${body}</body>
</html>`;
}

function site(name, content) {
    writeFileSync(join(dir, 'site', name), content);
}

// the engage events of the pages a test closed land first
async function fresh() {
    await sleep(300);
    redisCli(redisPort, 'DEL', key);
}

async function open(path, opts = {}) {
    const context = await (opts.browser || browser).newContext(
        opts.bot ? {} : { userAgent: UA });
    if (opts.init) {
        await context.addInitScript(opts.init);
    }
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const requests = [];
    page.on('request', (r) => {
        if (/\/(ct|slowct)(\?|$)/.test(r.url())) {
            requests.push({ method: r.method(), type: r.resourceType(),
                            body: r.postData() });
        }
    });
    await page.goto(opts.base ? opts.base + path
                              : `http://127.0.0.1:${port}${path}`,
                    { referer: opts.referer });
    await page.waitForFunction(() => window.clicktrack
                                     && window.clicktrack.loaded);
    return { page, context, requests };
}

before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clicktrack-tracker-'));
    chmodSync(dir, 0o755);                  // nginx's workers serve site/
    mkdirSync(join(dir, 'site'));
    mkdirSync(join(dir, 'second'));
    port = await freePort();
    port2 = await freePort();

    [redisPort, redis] = await suiteRedis(dir);

    // a collector that answers after 5 s
    const slowPort = await freePort();
    slow = createServer((req, res) => {
        setTimeout(() => { res.writeHead(204); res.end(); }, 5000);
    }).listen(slowPort, '127.0.0.1');

    site('index.html', html('/ct.js', `
<a id="internal" href="/site/two.html">two</a>
<a id="out" href="https://example.org/away" onclick="return false">away</a>
<button id="buy" data-ct="buy-button" data-ct-category="shop">
  <span id="buy-inner">Buy</span></button>
<a id="mid" href="/site/two.html" onclick="return false"
   onauxclick="event.preventDefault()">middle</a>
<button id="plain">not tracked</button>
<a id="spa" href="#" onclick="history.pushState({}, '', '/site/app/page-1');
   return false">spa</a>`));
    site('two.html', html('/ct.js', '<p>two</p>'));
    site('long.html', html('/ct.js', `
<a id="go" href="/site/two.html">go</a>
<a id="spa" href="#" onclick="history.pushState({}, '', '/site/app/next');
   return false">spa</a><div style="height: 4000px"></div>`));
    site('files.html', html('/ct.js', `
<a id="pdf" href="/site/files/report.PDF?v=2" onclick="return false">pdf</a>
<a id="zip" href="https://downloads.example.org/app-2.1.tar.gz"
   data-ct-prop-version="2.1" data-ct-prop-os="linux"
   onclick="return false">zip</a>
<a id="page" href="/site/files/report.pdf.html" onclick="return false">no</a>
<a id="own" href="/site/price.csv" data-ct-category="prices"
   onclick="return false">csv</a>
<button id="plan" data-ct="choose" data-ct-prop-plan="pro"
        data-ct-prop-seats="3">choose</button>`));
    site('none.html', html('/ct.js', `
<a id="go" href="#" onclick="return false">go</a>`, ' data-storage="none"'));
    site('early.html', `<!doctype html><html><head>${stub}
<script>clicktrack('signup', {label: 'early', category: 'form',
  props: {plan: 'pro', seats: 3}});</script>
<script async src="/ct.js"></script></head><body></body></html>`);
    site('slow.html', html('/slow.js',
        '<a id="go" href="/site/two.html">go</a>'));
    site('down.html', html(`http://127.0.0.1:${port2}/ct.js`,
        '<a id="go" href="/site/two.html">go</a>'));
    site('normal.html', html('/ct.js',
        '<a id="go" href="/site/two.html">go</a>'));

    const common = `
    clicktrack_redis 127.0.0.1:${redisPort};
    clicktrack_list ${key};
    clicktrack_recent off;
    clicktrack_cookie off;`;

    stops.push(await startNginx(join(dir, 'n1'), port, `${common}
    server {
        listen 127.0.0.1:${port};
        server_name 127.0.0.1 localhost;
        location = /ct.js { clicktrack_js /ct; }
        location = /slow.js { clicktrack_js /slowct; }
        location = /ct {
            clicktrack_allow_origin http://127.0.0.1:${port}
                                    http://localhost:${port};
            clicktrack_beacon;
        }
        location = /slowct { proxy_pass http://127.0.0.1:${slowPort}; }
        location /site/ { alias ${dir}/site/; }
    }`));

    // a second collector, stopped while a page that uses it is open
    stops.push(await startNginx(join(dir, 'n2'), port2, `${common}
    server {
        listen 127.0.0.1:${port2};
        location = /ct.js { clicktrack_js /ct; }
        location = /ct { clicktrack_beacon; }
    }`));

    browser = await chromium.launch({ executablePath: chromiumPath,
                                      args: ['--no-sandbox'] });
});

after(async () => {
    if (browser) {
        await browser.close();
    }
    for (const stop of stops) {
        stop();
    }
    if (slow) {
        slow.close();
    }
    if (redis) {
        redis.kill();
    } else {
        redisCli(redisPort, 'DEL', key);
    }
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
});

test('a pageview on load: url, referrer, visitor, session, client_ts',
     async () => {
    await fresh();
    const before = Date.now();
    const { context } = await open('/site/index.html',
                                   { referer: 'https://search.example/?q=x' });
    const [e] = await events(redisPort, key, 1);
    assert.equal(e.type, 'pageview');
    assert.equal(e.url, `http://127.0.0.1:${port}/site/index.html`);
    assert.equal(e.referrer, 'https://search.example/?q=x');
    assert.match(e.visitor, /^[0-9a-f-]{36}$/);
    assert.match(e.session, /^[0-9a-f-]{36}$/);
    assert.ok(e.client_ts >= before && e.client_ts <= Date.now() + 1000);
    assert.equal(e.ua, UA);
    await context.close();
});

test('SPA: pushState and hashchange send pageviews, the same URL once',
     async () => {
    await fresh();
    const { page, context } = await open('/site/index.html');
    await events(redisPort, key, 1);
    await page.click('#spa');
    await page.click('#spa');                    // the same URL again
    await page.evaluate(() => { location.hash = 'section-2'; });
    await events(redisPort, key, 5);           // 3 pageviews, 2 clicks
    await sleep(300);
    const got = (await events(redisPort, key, 99, 100))
        .filter((e) => e.type === 'pageview');
    assert.deepEqual(got.map((e) => e.url), [
        `http://127.0.0.1:${port}/site/index.html`,
        `http://127.0.0.1:${port}/site/app/page-1`,
        `http://127.0.0.1:${port}/site/app/page-1#section-2`,
    ]);
    assert.equal(got[1].referrer, `http://127.0.0.1:${port}/site/index.html`);
    await context.close();
});

test('clicks: a link (label = href), an outbound link, a data-ct element, '
     + 'the middle button; other elements send nothing', async () => {
    await fresh();
    const { page, context } = await open('/site/index.html');
    await events(redisPort, key, 1);
    await page.click('#out');
    await page.click('#buy-inner');
    await page.click('#plain');
    await page.click('#mid', { button: 'middle' });
    const clicks = (await events(redisPort, key, 4))
        .filter((e) => e.type === 'click');
    assert.equal(clicks.length, 3);
    assert.equal(clicks[0].label, 'https://example.org/away');
    assert.equal(clicks[0].category, 'outbound');
    assert.equal(clicks[1].label, 'buy-button');
    assert.equal(clicks[1].category, 'shop');
    assert.equal(clicks[2].label, `http://127.0.0.1:${port}/site/two.html`);
    assert.equal(clicks[2].category, undefined);

    // an internal link: its click, then the next page's pageview
    await fresh();
    await page.click('#internal');
    await page.waitForURL('**/two.html');
    const got = await events(redisPort, key, 2);
    assert.deepEqual(got.map((e) => e.type).sort(), ['click', 'pageview']);
    const click = got.find((e) => e.type === 'click');
    assert.equal(click.label, `http://127.0.0.1:${port}/site/two.html`);
    await context.close();
});

test('calls queued by the stub before the script loaded are sent',
     async () => {
    await fresh();
    const { context } = await open('/site/early.html');
    const got = await events(redisPort, key, 2);
    const e = got.find((x) => x.type === 'signup');
    assert.ok(e, JSON.stringify(got));
    assert.equal(e.label, 'early');
    assert.equal(e.category, 'form');
    assert.deepEqual(e.props, { plan: 'pro', seats: 3 });
    await context.close();
});

test('the visitor stays across reloads; the session rolls over after 30 '
     + 'idle minutes', async () => {
    await fresh();
    const { page, context } = await open('/site/index.html');
    await page.reload();
    await page.waitForFunction(() => window.clicktrack.loaded);
    let got = await events(redisPort, key, 2);
    assert.equal(got[0].visitor, got[1].visitor);
    assert.equal(got[0].session, got[1].session);

    await page.evaluate(() => sessionStorage.setItem('ct_t',
        String(Date.now() - 31 * 60 * 1000)));
    await page.reload();
    await page.waitForFunction(() => window.clicktrack.loaded);
    got = await events(redisPort, key, 3);
    assert.equal(got[2].visitor, got[0].visitor);
    assert.notEqual(got[2].session, got[0].session);
    await context.close();
});

test('transport: sendBeacon first; without sendBeacon and fetch, an image',
     async () => {
    await fresh();
    let { context, requests } = await open('/site/index.html');
    await events(redisPort, key, 1);
    assert.equal(requests[0].method, 'POST');
    assert.equal(requests[0].type, 'ping');
    await context.close();

    await fresh();
    ({ context, requests } = await open('/site/early.html', {
        init: 'delete Navigator.prototype.sendBeacon; delete window.fetch;',
    }));
    const got = await events(redisPort, key, 2);
    assert.equal(got.length, 2);
    assert.deepEqual(got.find((e) => e.type === 'signup').props,
                     { plan: 'pro', seats: '3' });
    assert.ok(requests.every((r) => r.method === 'GET'
                                    && r.type === 'image'),
              JSON.stringify(requests));
    await context.close();
});

test('a page of another origin reports to the collector', async () => {
    await fresh();
    site('xorigin.html', html(`http://127.0.0.1:${port}/ct.js`, ''));
    const { context } = await open('/site/xorigin.html',
                                   { base: `http://localhost:${port}` });
    const [e] = await events(redisPort, key, 1);
    assert.equal(e.url, `http://localhost:${port}/site/xorigin.html`);
    await context.close();
});

for (const [name, file, prepare] of [
    ['answers normally', 'normal.html', null],
    ['is slow (answers after 5 s)', 'slow.html', null],
    ['is down (connection refused)', 'down.html', () => stops[1]()],
]) {
    test(`a click navigates at once when the collector ${name}`, async () => {
        const { page, context } = await open(`/site/${file}`);
        if (prepare) {
            prepare();
            await sleep(300);
        }
        const t0 = Date.now();
        await page.click('#go');
        await page.waitForURL('**/two.html', { timeout: 5000 });

        // well under the slow collector's 5 s, with room for a busy
        // machine: a tracker that waited for its beacon would take 5 s
        const took = Date.now() - t0;
        assert.ok(took < 2500, `navigation took ${took} ms`);
        await context.close();
    });
}

test('downloads: a link to a file is a click with c = download; '
     + 'data-ct-prop-* attributes are its props', async () => {
    await fresh();
    const { page, context } = await open('/site/files.html');
    await events(redisPort, key, 1);
    for (const id of ['pdf', 'zip', 'page', 'own', 'plan']) {
        await page.click(`#${id}`);
    }
    // each click is its own request, possibly to another worker: the
    // list holds them in the order they were pushed, not clicked
    const clicks = (await events(redisPort, key, 6))
        .filter((e) => e.type === 'click');
    const byLabel = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    assert.deepEqual(
        clicks.map((e) => [e.label, e.category, e.props]).sort(byLabel), [
        [`http://127.0.0.1:${port}/site/files/report.PDF?v=2`, 'download',
         undefined],
        ['https://downloads.example.org/app-2.1.tar.gz', 'download',
         { version: '2.1', os: 'linux' }],
        [`http://127.0.0.1:${port}/site/files/report.pdf.html`, undefined,
         undefined],
        [`http://127.0.0.1:${port}/site/price.csv`, 'prices', undefined],
        ['choose', undefined, { plan: 'pro', seats: '3' }],
    ].sort(byLabel));
    await context.close();
});

test('identify: kept, an identify event, i on every later event; null '
     + 'forgets it', async () => {
    await fresh();
    const { page, context, requests } = await open('/site/index.html');
    await events(redisPort, key, 1);
    await page.evaluate(() => clicktrack('identify',
                                         { user: 'alice@example.com' }));
    await page.click('#buy');
    assert.equal(await page.evaluate(() => localStorage.getItem('ct_i')),
                 'alice@example.com');
    await page.reload();
    await page.waitForFunction(() => window.clicktrack.loaded);
    await page.evaluate(() => clicktrack('identify', null));
    await page.click('#buy');
    assert.equal(await page.evaluate(() => localStorage.getItem('ct_i')),
                 null);
    const got = (await events(redisPort, key, 6))
        .filter((e) => e.type !== 'engage');
    assert.deepEqual(got.map((e) => e.type), ['pageview', 'identify',
        'click', 'pageview', 'click']);

    // what the tracker sent: i from identify until the sign-out
    const sent = requests.map((r) => JSON.parse(r.body))
        .filter((e) => e.t !== 'engage');
    assert.deepEqual(sent.map((e) => [e.t, e.i]), [
        ['pageview', undefined],
        ['identify', 'alice@example.com'],
        ['click', 'alice@example.com'],
        ['pageview', 'alice@example.com'],
        ['click', undefined],
    ]);
    await context.close();
});

test('data-storage="none": nothing stored, no v and s sent', async () => {
    await fresh();
    const { page, context, requests } = await open('/site/none.html');
    await events(redisPort, key, 1);
    await page.evaluate(() => clicktrack('identify', { user: 'bob' }));
    await page.evaluate(() => clicktrack('signup', { label: 'x' }));
    await page.click('#go');
    await visibility(page, 'hidden');
    const got = await events(redisPort, key, 5);
    assert.deepEqual(got.map((e) => e.type),
                     ['pageview', 'identify', 'signup', 'click', 'engage']);
    assert.ok(got.every((e) => !e.visitor && !e.session),
              JSON.stringify(got));
    assert.ok(requests.every((r) => !/"[vs]":/.test(r.body)),
              JSON.stringify(requests));
    assert.equal(JSON.parse(requests[2].body).i, 'bob');
    assert.deepEqual(await page.evaluate(() => [localStorage.length,
        sessionStorage.length, document.cookie]), [0, 0, '']);
    assert.deepEqual(await context.cookies(), []);
    await context.close();
});

// headless Chromium keeps a page visible whatever the window does: a tab
// switch is what the browser tells the page, visibilityState and its event
function visibility(page, state) {
    return page.evaluate((s) => {
        Object.defineProperty(document, 'visibilityState',
                              { configurable: true, get: () => s });
        document.dispatchEvent(new Event('visibilitychange'));
    }, state);
}

test('engage: a tab switch sends the visible time and the scroll depth, '
     + 'then the time since it was shown again', async () => {
    // the upper bounds are the wall time around each visible stretch, so
    // that a loaded machine (slow evaluate calls) does not fail the test
    await fresh();
    const t0 = Date.now();
    const { page, context } = await open('/site/long.html');
    await events(redisPort, key, 1);
    await page.setViewportSize({ width: 800, height: 1000 });
    await page.evaluate(() => window.scrollTo(0, 1000));
    await sleep(700);
    await visibility(page, 'hidden');
    const t1 = Date.now();
    await sleep(1000);                          // hidden: not counted
    const t2 = Date.now();
    await visibility(page, 'visible');
    await sleep(300);
    await visibility(page, 'hidden');
    const t3 = Date.now();
    const got = (await events(redisPort, key, 3))
        .filter((e) => e.type === 'engage');
    assert.equal(got.length, 2, JSON.stringify(got));
    assert.equal(got[0].url, `http://127.0.0.1:${port}/site/long.html`);
    assert.ok(got[0].props.time >= 700 && got[0].props.time <= t1 - t0,
              JSON.stringify(got[0]) + ` (at most ${t1 - t0})`);
    // 2000 px of the page's 4000 and some seen: about half
    assert.ok(got[0].props.scroll >= 45 && got[0].props.scroll <= 55,
              JSON.stringify(got[0]));
    // 1000 ms hidden between them: not in the second
    assert.ok(got[1].props.time >= 300 && got[1].props.time <= t3 - t2,
              JSON.stringify(got[1]) + ` (at most ${t3 - t2})`);
    assert.equal(got[1].props.scroll, got[0].props.scroll);
    await context.close();
});

// a beacon sent while a page is left goes out with the browser's own
// user agent, not the context's (HeadlessChrome: dropped as a bot), so
// this test has a browser whose own user agent is UA
test('engage: leaving the page sends one, with the time on it',
     async () => {
    await fresh();
    const other = await chromium.launch({ executablePath: chromiumPath,
        args: ['--no-sandbox', `--user-agent=${UA}`] });
    const { page } = await open('/site/long.html', { browser: other });
    await events(redisPort, key, 1);
    await sleep(500);
    await page.click('#go');
    await page.waitForURL('**/two.html');
    const got = await events(redisPort, key, 4);
    await other.close();
    const engage = got.filter((e) => e.type === 'engage');
    assert.equal(engage.length, 1, JSON.stringify(got));
    assert.equal(engage[0].url, `http://127.0.0.1:${port}/site/long.html`);
    assert.ok(engage[0].props.time >= 500 && engage[0].props.time < 3000,
              JSON.stringify(engage[0]));
    assert.equal(typeof engage[0].props.scroll, 'number');
});

test('engage: an SPA page change ends the last page\'s engagement first',
     async () => {
    await fresh();
    const { page, context } = await open('/site/long.html');
    await events(redisPort, key, 1);
    await sleep(400);
    await page.click('#spa');
    const got = (await events(redisPort, key, 4))
        .filter((e) => e.type !== 'click');
    assert.deepEqual(got.map((e) => [e.type, e.url]), [
        ['pageview', `http://127.0.0.1:${port}/site/long.html`],
        ['engage', `http://127.0.0.1:${port}/site/long.html`],
        ['pageview', `http://127.0.0.1:${port}/site/app/next`],
    ]);
    assert.ok(got[1].props.time >= 400, JSON.stringify(got[1]));
    assert.ok(got[1].client_ts <= got[2].client_ts);
    await context.close();
});

test('headless Chromium\'s own user agent is dropped as a bot', async () => {
    await fresh();
    const { page, context } = await open('/site/index.html', { bot: true });
    assert.match(await page.evaluate(() => navigator.userAgent),
                 /HeadlessChrome/);
    await page.click('#buy');
    await sleep(700);
    assert.deepEqual(await events(redisPort, key, 1, 100), []);
    await context.close();
});

test('nothing the script did threw into a page', () => {
    assert.deepEqual(pageErrors, []);
});
