// The demo as a newcomer meets it (make -f Makefile.local demo): util/demo.sh
// on free ports with its traffic (util/demo-traffic.pl), then the
// dashboard's overview full at once.  Its screenshot is the README's
// (build/screenshots/demo-overview.png, copied to docs/overview.png).
// Run by util/test.sh as "node --test t/browser/".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { top, nginxBin, module, freePort, sleep, chromiumPath }
    from './lib.mjs';

let dir, port, demo, browser, page, output = '';
const consoleErrors = [];

before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clicktrack-demo-'));
    port = await freePort();
    const redisPort = await freePort();

    demo = spawn(join(top, 'util/demo.sh'), [], {
        env: { ...process.env, DEMO_PORT: String(port),
               DEMO_REDIS_PORT: String(redisPort), DEMO_DIR: dir,
               NGINX_BINARY: nginxBin, DEMO_MODULE: module },
        stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout.on('data', (d) => { output += d; });
    demo.stderr.on('data', (d) => { output += d; });

    for (let i = 0; i < 300 && !/Ctrl-C stops/.test(output); i++) {
        await sleep(100);
    }
    assert.match(output, new RegExp('demo traffic: \\d+ events today '
                                    + 'through the beacon, 30 days before'));

    browser = await chromium.launch({ executablePath: chromiumPath,
                                      args: ['--no-sandbox'] });
    page = await (await browser.newContext({
        viewport: { width: 1200, height: 800 } })).newPage();
    page.on('console', (m) => {
        if (m.type() === 'error') {
            consoleErrors.push(m.text());
        }
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
});

after(async () => {
    if (browser) {
        await browser.close();
    }
    if (demo) {
        demo.kill('SIGTERM');
        await new Promise((r) => demo.exitCode !== null ? r()
                                                          : demo.on('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
});

test('the demo\'s overview is full at once', async () => {
    // today's rollups are written within a window (1 s)
    await sleep(1500);
    await page.goto(`http://127.0.0.1:${port}/clicktrack/dashboard?period=30d`);
    await page.waitForSelector('#chart svg', { timeout: 5000 });

    const figures = await page.evaluate(() => {
        const out = {};
        document.querySelectorAll('#totals .stat').forEach((s) => {
            out[s.dataset.total] = s.querySelector('.v').textContent;
        });
        document.querySelectorAll('[data-table]').forEach((s) => {
            out[s.dataset.table] = s.querySelectorAll('tbody td.n').length;
        });
        return out;
    });

    for (const k of ['visitors', 'visits', 'pageviews', 'now']) {
        assert.ok(Number(figures[k].replace(/,/g, '')) > 0,
                  `${k} ${figures[k]}`);
    }
    assert.match(figures.bounce_rate, /^\d+%$/);
    assert.match(figures.visit_duration, /^\d+m \d+s$|^\d+s$/);

    // util/demo.sh loads the geoip module into Debian's nginx only
    const geoip = existsSync('/usr/lib/nginx/modules/ngx_http_geoip_module.so')
                  && existsSync('/usr/share/GeoIP/GeoIP.dat')
                  && nginxBin === '/usr/sbin/nginx';
    for (const t of ['pages', 'referrers', 'utm_source', 'utm_medium',
                     'utm_campaign', 'utm_content', 'utm_term', 'browsers',
                     'os', 'devices', 'events', 'labels', 'outbound',
                     'downloads'].concat(geoip ? ['countries'] : [])) {
        assert.ok(figures[t] > 0, `the ${t} table has rows`);
    }
    assert.equal(await page.locator('#chart svg rect.pv').count(), 30);
    assert.deepEqual(consoleErrors, []);

    const out = join(top, 'build/screenshots');
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, 'demo-overview.png'),
                            clip: { x: 0, y: 0, width: 1200, height: 800 } });
});
