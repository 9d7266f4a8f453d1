// Shared by the browser tests: ports, an nginx of their own with the
// module from build/, Redis reads, Chromium.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const top = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const nginxBin = process.env.TEST_NGINX_BINARY || '/usr/sbin/nginx';
export const module = process.env.TEST_NGINX_LOAD_MODULES
    || join(top, 'build/ngx_http_clicktrack_module.so');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
    return new Promise((ok, fail) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
            const p = s.address().port;
            s.close(() => ok(p));
        });
        s.on('error', fail);
    });
}

export async function waitPort(p) {
    for (let i = 0; i < 100; i++) {
        try {
            await fetch(`http://127.0.0.1:${p}/`);
            return;
        } catch (e) {
            await sleep(50);
        }
    }
    throw new Error(`nothing on port ${p}`);
}

// the suite's Redis ($TEST_NGINX_REDIS_PORT), else one of our own under
// DIR: [port, the process or null]
export async function suiteRedis(dir) {
    if (process.env.TEST_NGINX_REDIS_PORT) {
        return [process.env.TEST_NGINX_REDIS_PORT, null];
    }
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port),
        '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir], { stdio: 'ignore' });
    await sleep(300);
    return [port, redis];
}

// an nginx under DIR (conf, logs) with HTTP, the http{} body; started,
// and stopped by the returned function
export async function startNginx(dir, port, http, workers = 1) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, `
load_module ${module};
worker_processes ${workers};
error_log ${dir}/logs/error.log warn;
pid ${dir}/logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${dir};
${http}
}
`);
    const args = ['-p', dir, '-c', conf, '-e', join(dir, 'logs/error.log')];
    const r = spawnSync(nginxBin, args, { encoding: 'utf8' });
    if (r.status !== 0) {
        throw new Error(`nginx does not start: ${r.stderr}`);
    }
    await waitPort(port);
    return () => spawnSync(nginxBin, [...args, '-s', 'stop']);
}

export function redisCli(port, ...args) {
    const r = spawnSync('redis-cli', ['-p', String(port), ...args],
                        { encoding: 'utf8' });
    return r.stdout;
}

// the events in list KEY, parsed, once there are at least N (or after
// WAIT ms)
export async function events(port, key, n, wait = 3000) {
    let got = [];
    for (let t = 0; t < wait; t += 50) {
        // one event per line: the module writes each on one line
        got = redisCli(port, '--raw', 'LRANGE', key, '0', '-1')
            .split('\n').filter((l) => l.length)
            .map((l) => JSON.parse(l));
        if (got.length >= n) {
            break;
        }
        await sleep(50);
    }
    return got;
}
