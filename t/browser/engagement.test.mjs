// Bounce rate and visit duration end to end (SPEC 7 and 11): scripted
// visits of known pages and length in headless Chromium, through the
// tracker and the rollups, and the figures the stats API reports for
// them, against the engage events the list holds.  Run by util/test.sh as
// "node --test t/browser/".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, chmodSync }
    from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { freePort, suiteRedis, startNginx, redisCli, events, sleep,
         chromiumPath } from './lib.mjs';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
    + '(KHTML, like Gecko) Chrome/120.0 Safari/537.36';

let dir, port, redisPort, redis, browser, stop;
const key = `clicktrack:engagement:${process.pid}`;
const prefix = `clicktrack:engagement-stats:${process.pid}`;

function page(name, body) {
    writeFileSync(join(dir, 'site', name), `<!doctype html><html><head>
<meta charset="utf-8"><script async src="/ct.js"></script></head>
<body>${body}</body></html>`);
}

// the page hidden (as by a tab switch): the tracker sends its engage
function hide(p) {
    return p.evaluate(() => {
        Object.defineProperty(document, 'visibilityState',
                              { configurable: true, get: () => 'hidden' });
        document.dispatchEvent(new Event('visibilitychange'));
    });
}

async function visit(path) {
    const context = await browser.newContext({ userAgent: UA });
    const p = await context.newPage();
    await p.goto(`http://127.0.0.1:${port}${path}`);
    await p.waitForFunction(() => window.clicktrack
                                  && window.clicktrack.loaded);
    return { context, p };
}

async function stats(query) {
    const r = await fetch(`http://127.0.0.1:${port}/stats?${query}`);
    assert.equal(r.status, 200);
    return r.json();
}

before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clicktrack-engagement-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'site'));
    port = await freePort();
    [redisPort, redis] = await suiteRedis(dir);

    page('a.html', `<a id="spa" href="#" onclick="history.pushState({}, '',
        '/site/b.html'); return false">b</a>`);

    stop = await startNginx(join(dir, 'nginx'), port, `
    clicktrack_redis 127.0.0.1:${redisPort};
    clicktrack_list ${key};
    clicktrack_recent off;
    clicktrack_cookie off;
    clicktrack_rollup ${prefix} window=100ms;
    server {
        listen 127.0.0.1:${port};
        location = /ct.js { clicktrack_js /ct; }
        location = /ct {
            clicktrack_allow_origin http://127.0.0.1:${port};
            clicktrack_beacon;
        }
        location = /stats { clicktrack_stats; }
        location /site/ { alias ${dir}/site/; }
    }`, 2);

    browser = await chromium.launch({ executablePath: chromiumPath,
                                      args: ['--no-sandbox'] });
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
    } else {
        redisCli(redisPort, 'DEL', key);
        const keys = redisCli(redisPort, '--raw', 'KEYS', `${prefix}:*`)
            .split('\n').filter((k) => k.length);
        if (keys.length) {
            redisCli(redisPort, 'DEL', ...keys);
        }
    }
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
});

test('two visits: one page for 1.5 s (a bounce), two pages for 1 s each: '
     + 'bounce rate 0.5, the visible time over two visits', async () => {
    // the first visit: one page, 1.5 s, then the tab is left
    const one = await visit('/site/a.html');
    await sleep(1500);
    await hide(one.p);

    // the second: a page for 1 s, an SPA change to a second, 1 s more
    const two = await visit('/site/a.html');
    await sleep(1000);
    await two.p.click('#spa');
    await sleep(1000);
    await hide(two.p);

    // 3 pageviews and 3 engages in the list, the exact record
    const got = await events(redisPort, key, 6);
    await one.context.close();
    await two.context.close();

    const views = got.filter((e) => e.type === 'pageview');
    const engages = got.filter((e) => e.type === 'engage');
    assert.equal(views.length, 3, JSON.stringify(got));
    assert.equal(engages.length, 3, JSON.stringify(got));
    assert.equal(new Set(views.map((e) => e.session)).size, 2);

    const ms = engages.reduce((s, e) => s + e.props.time, 0);
    assert.ok(ms >= 3500 && ms < 6000, `visible time ${ms} ms`);

    // what the rollups have of it: exact, once their windows are sent
    let s;
    for (let i = 0; i < 60; i++) {
        s = await stats('period=today');
        if (s.totals.pageviews === 3 && s.totals.events === 6) {
            break;
        }
        await sleep(100);
    }

    const counts = `${prefix}:{${s.site}}:${s.from}:counts`;
    assert.equal(redisCli(redisPort, 'HGET', counts, 'visits_viewed').trim(),
                 '2');
    assert.equal(redisCli(redisPort, 'HGET', counts, 'visits_multi').trim(),
                 '1');
    assert.equal(redisCli(redisPort, 'HGET', counts, 'engaged_ms').trim(),
                 String(ms));

    assert.equal(s.totals.visits, 2);
    assert.equal(s.totals.pageviews, 3);
    assert.equal(s.totals.bounce_rate, 0.5);
    assert.equal(s.totals.visit_duration, Math.round(ms / 2 / 1000));
    assert.ok(s.totals.visit_duration >= 2, JSON.stringify(s.totals));
});
