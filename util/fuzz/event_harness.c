
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "event_harness.h"


/*
 * The harness links the real src/ngx_http_clicktrack_event.c and
 * src/ngx_http_clicktrack_record.c with nginx's own ngx_palloc.c,
 * ngx_string.c, ngx_array.c, ngx_times.c, os/unix ngx_alloc.c and
 * ngx_time.c (see build.sh); this file gives the two
 * globals those want from the rest of nginx.
 *
 * The record checker below is written apart from the encoder on purpose:
 * it validates RFC 8259 and UTF-8 itself.
 */


typedef struct {
    u_char                          *start;
    u_char                          *pos;
    u_char                          *end;
    const char                      *why;
} ngx_http_clicktrack_chk_t;


static void ngx_http_clicktrack_harness_fill(ngx_http_clicktrack_event_t *ev,
    ngx_uint_t n);
static ngx_int_t ngx_http_clicktrack_chk_fail(ngx_http_clicktrack_chk_t *c,
    const char *why);
static ngx_int_t ngx_http_clicktrack_chk_byte(ngx_http_clicktrack_chk_t *c,
    u_char ch);
static ngx_int_t ngx_http_clicktrack_chk_string(ngx_http_clicktrack_chk_t *c,
    ngx_str_t *raw);
static ngx_int_t ngx_http_clicktrack_chk_number(ngx_http_clicktrack_chk_t *c,
    ngx_str_t *raw);
static ngx_int_t ngx_http_clicktrack_chk_props(ngx_http_clicktrack_chk_t *c);
static const char *ngx_http_clicktrack_harness_url(ngx_str_t *url,
    ngx_pool_t *pool);
static const char *ngx_http_clicktrack_harness_ua(ngx_str_t *ua);
static ngx_uint_t ngx_http_clicktrack_harness_named(ngx_str_t *name,
    char **names);
static ngx_int_t ngx_http_clicktrack_chk_charset(ngx_str_t *s,
    const char *set, size_t min, size_t max);


volatile ngx_cycle_t  *ngx_cycle;


static ngx_log_t   ngx_http_clicktrack_harness_log;
static time_t      ngx_http_clicktrack_harness_sec = 1795350665;
static ngx_msec_t  ngx_http_clicktrack_harness_msec = 720;

/* the classifier's names, as docs/stats.md lists them */

static char  *ngx_http_clicktrack_harness_browsers[] = {
    "Facebook", "Instagram", "TikTok", "Snapchat", "WeChat", "LinkedIn",
    "Google App", "Edge", "Opera", "Samsung Internet", "Yandex Browser",
    "Vivaldi", "UC Browser", "Silk", "DuckDuckGo", "Mi Browser",
    "Huawei Browser", "Firefox", "Internet Explorer", "Android WebView",
    "Chromium", "Chrome", "Safari", "Android Browser", "Other", NULL
};

static char  *ngx_http_clicktrack_harness_systems[] = {
    "Windows Phone", "Windows", "KaiOS", "iPadOS", "iOS", "ChromeOS",
    "Android", "macOS", "Linux", "Other", NULL
};

static char  *ngx_http_clicktrack_harness_devices[] = {
    "desktop", "mobile", "tablet", "Other", NULL
};

static ngx_http_clicktrack_kv_t  ngx_http_clicktrack_harness_fields[] = {
    { ngx_string("country"), ngx_string("FR") },
    { ngx_string("region"), ngx_null_string },       /* empty: left out */
    { ngx_string("ab_test"), ngx_string("b\"\\\x01") }
};

static char  *ngx_http_clicktrack_harness_keys[] = {
    "id", "ts", "type", "category", "label", "url", "referrer", "visitor",
    "session", "user", "client_ts", "host", "ip", "ua", "props", NULL
};


void ngx_cdecl
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;
    u_char    errstr[NGX_MAX_ERROR_STR];

    va_start(args, fmt);
    p = ngx_vslprintf(errstr, errstr + NGX_MAX_ERROR_STR - 1, fmt, args);
    va_end(args);

    *p = '\0';

    fprintf(stderr, "nginx log [%d]: %s\n", (int) level, errstr);
}


void
ngx_http_clicktrack_harness_init(void)
{
    ngx_pagesize = getpagesize();
    ngx_cacheline_size = NGX_CPU_CACHE_LINE;

    for (ngx_pagesize_shift = 0; (ngx_pagesize >> ngx_pagesize_shift) > 1;
         ngx_pagesize_shift++)
    {
        /* void */
    }

    ngx_http_clicktrack_harness_log.log_level = NGX_LOG_ERR;

    if (ngx_http_clicktrack_ua_init(&ngx_http_clicktrack_harness_log)
        != NGX_OK)
    {
        fprintf(stderr, "BUG: ngx_http_clicktrack_ua_init() failed\n");
        abort();
    }
}


void
ngx_http_clicktrack_harness_time(time_t sec, ngx_msec_t msec)
{
    ngx_http_clicktrack_harness_sec = sec;
    ngx_http_clicktrack_harness_msec = msec;
}


/* what the beacon handler fills in after parsing */

static void
ngx_http_clicktrack_harness_fill(ngx_http_clicktrack_event_t *ev,
    ngx_uint_t n)
{
    static u_char  visitor[] = "5c469967-1dbe-4214-aa2a-dfa7bb8e1be4";

    ngx_memcpy(ev->id, "0b6c2a4e-8f0e-4a57-9d43-6f2a4c1d9e21",
               NGX_HTTP_CLICKTRACK_UUID_LEN);

    /* a batch gets distinct ids: the last hex digits count the events */
    (void) ngx_sprintf(ev->id + NGX_HTTP_CLICKTRACK_UUID_LEN - 4, "%04xi",
                       n & 0xffff);

    if (ev->client_visitor.len) {
        ev->visitor = ev->client_visitor;

    } else {
        ev->visitor.data = visitor;
        ev->visitor.len = sizeof(visitor) - 1;
    }
}


ngx_int_t
ngx_http_clicktrack_harness_run(u_char *data, size_t len, ngx_uint_t mode,
    ngx_uint_t max_batch, ngx_http_clicktrack_harness_out_pt out,
    ngx_http_clicktrack_harness_out_pt reject, void *ctx)
{
    u_char                        *buf, *last;
    size_t                         size, i;
    ngx_int_t                      rc;
    ngx_str_t                      err;
    ngx_uint_t                     n, nevents;
    ngx_pool_t                    *pool;
    const char                    *why;
    ngx_http_clicktrack_common_t   common;
    ngx_http_clicktrack_event_t   *events;

    /*
     * A pool with no room of its own: every allocation is a malloc() of
     * its exact size, so that ASan and valgrind see a read past any of
     * them.
     */

    pool = ngx_create_pool(sizeof(ngx_pool_t),
                           &ngx_http_clicktrack_harness_log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null(&err);
    events = NULL;
    nevents = 0;

    if (mode == NGX_HTTP_CLICKTRACK_HARNESS_FORM) {
        events = ngx_palloc(pool, sizeof(ngx_http_clicktrack_event_t));
        if (events == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        rc = ngx_http_clicktrack_parse_form(pool, data, len, events, &err);
        nevents = 1;

    } else {
        rc = ngx_http_clicktrack_parse_json(pool, data, len, max_batch,
                                            &events, &nevents, &err);
    }

    if (rc == NGX_DECLINED) {

        if (err.len == 0 || err.data == NULL) {
            fprintf(stderr, "BUG: rejected without a reason\n");
            abort();
        }

        for (i = 0; i < err.len; i++) {
            if (err.data[i] < 0x20 || err.data[i] > 0x7e) {
                fprintf(stderr, "BUG: reason not printable ASCII\n");
                abort();
            }
        }

        reject(ctx, err.data, err.len);
        ngx_destroy_pool(pool);
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    if (nevents == 0 || events == NULL
        || (mode == NGX_HTTP_CLICKTRACK_HARNESS_JSON && nevents > max_batch
            && nevents != 1))
    {
        fprintf(stderr, "BUG: accepted %lu events\n", (unsigned long) nevents);
        abort();
    }

    ngx_memzero(&common, sizeof(ngx_http_clicktrack_common_t));

    last = ngx_http_clicktrack_record_format_ts(common.ts,
               ngx_http_clicktrack_harness_sec, ngx_http_clicktrack_harness_msec);

    if (last != common.ts + NGX_HTTP_CLICKTRACK_TS_LEN) {
        fprintf(stderr, "BUG: format_ts wrote %lu bytes\n",
                (unsigned long) (last - common.ts));
        abort();
    }
    ngx_str_set(&common.host, "example.com");
    ngx_str_set(&common.ip, "203.0.113.0");
    ngx_str_set(&common.ua, "Mozilla/5.0 (X11; Linux x86_64)");
    common.fields = ngx_http_clicktrack_harness_fields;
    common.nfields = sizeof(ngx_http_clicktrack_harness_fields)
                     / sizeof(ngx_http_clicktrack_kv_t);

    for (n = 0; n < nevents; n++) {
        ngx_http_clicktrack_harness_fill(&events[n], n + 1);

        size = ngx_http_clicktrack_record_max(&events[n], &common);

        /* exactly the announced bound: a write past it is caught */
        buf = malloc(size);
        if (buf == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        last = ngx_http_clicktrack_record_write(buf, &events[n], &common);

        if ((size_t) (last - buf) > size) {
            fprintf(stderr, "BUG: event %lu: json_max %lu, wrote %lu\n",
                    (unsigned long) n + 1, (unsigned long) size,
                    (unsigned long) (last - buf));
            abort();
        }

        why = ngx_http_clicktrack_harness_check(buf, last - buf, &common);

        if (why != NULL) {
            fprintf(stderr, "BUG: event %lu: %s: %.*s\n",
                    (unsigned long) n + 1, why, (int) (last - buf), buf);
            abort();
        }

        out(ctx, buf, last - buf);
        free(buf);

        why = ngx_http_clicktrack_harness_url(&events[n].url, pool);

        if (why == NULL) {
            why = ngx_http_clicktrack_harness_url(&events[n].referrer, pool);
        }

        /* the classifier, on the fixed User-Agent and on fuzzed bytes */

        if (why == NULL) {
            why = ngx_http_clicktrack_harness_ua(&common.ua);
        }

        if (why == NULL) {
            why = ngx_http_clicktrack_harness_ua(&events[n].url);
        }

        if (why == NULL) {
            why = ngx_http_clicktrack_harness_ua(&events[n].label);
        }

        if (why != NULL) {
            fprintf(stderr, "BUG: event %lu: %s\n", (unsigned long) n + 1,
                    why);
            abort();
        }
    }

    ngx_destroy_pool(pool);

    return NGX_OK;
}


/*
 * The rollups' URL parts (src/ngx_http_clicktrack_url.c), by properties
 * of their own: each part lies inside the URL (but the path "/" of a URL
 * without one); the path holds no '?' or '#', the host no '/', '?', '#'
 * or '@'; the query follows a '?', and url_parts() finds the query that
 * url_query() does; a decoded argument is no
 * longer than the query.
 */

static const char *
ngx_http_clicktrack_harness_url(ngx_str_t *url, ngx_pool_t *pool)
{
    u_char     *buf, *last;
    ngx_str_t   path, host, query, value, both_path, both_query;

    if (url->len == 0) {
        return NULL;
    }

    last = url->data + url->len;

    ngx_http_clicktrack_url_path(url, &path);

    if (!(path.len == 1 && path.data[0] == '/')
        && (path.data < url->data || path.data + path.len > last))
    {
        return "url_path outside the URL";
    }

    if (path.len == 0 || ngx_strlchr(path.data, path.data + path.len, '?')
        || ngx_strlchr(path.data, path.data + path.len, '#'))
    {
        return "url_path empty, or with '?' or '#'";
    }

    ngx_http_clicktrack_url_host(url, &host);

    if (host.len
        && (host.data < url->data || host.data + host.len > last
            || ngx_strlchr(host.data, host.data + host.len, '/')
            || ngx_strlchr(host.data, host.data + host.len, '?')
            || ngx_strlchr(host.data, host.data + host.len, '#')
            || ngx_strlchr(host.data, host.data + host.len, '@')))
    {
        return "url_host outside the URL, or with '/', '?', '#', '@'";
    }

    ngx_http_clicktrack_url_query(url, &query);

    /* the one pass of url_parts() (url_path()'s too) finds url_query()'s */

    ngx_http_clicktrack_url_parts(url, &both_path, &both_query);

    if (both_query.len != query.len
        || (query.len && both_query.data != query.data))
    {
        return "url_parts' query is not url_query's";
    }

    if (query.len == 0) {
        return NULL;
    }

    if (query.data <= url->data || query.data + query.len > last
        || query.data[-1] != '?'
        || ngx_strlchr(query.data, query.data + query.len, '#'))
    {
        return "url_query not after a '?', or with a '#'";
    }

    buf = ngx_pnalloc(pool, query.len);
    if (buf == NULL) {
        return NULL;
    }

    if (ngx_http_clicktrack_url_arg(&query, (u_char *) "utm_source", 10, buf,
                                    &value)
        == NGX_OK
        && (value.len == 0 || value.len > query.len))
    {
        return "url_arg longer than the query, or empty";
    }

    return NULL;
}


/*
 * The User-Agent classifier (src/ngx_http_clicktrack_ua.c), by properties
 * of its own: every name is one docs/stats.md lists; the same bytes give
 * the same names; and the names agree with each other as the rules say
 * (an iPhone's system is a phone's, Safari runs on Apple's systems or
 * Windows, the Android browsers on Android, no bytes say nothing).
 */

static const char *
ngx_http_clicktrack_harness_ua(ngx_str_t *ua)
{
    ngx_str_t                 *os, *device;
    ngx_http_clicktrack_ua_t   res, again;

    ngx_http_clicktrack_ua_classify(ua, &res);

    if (!ngx_http_clicktrack_harness_named(res.browser,
                                           ngx_http_clicktrack_harness_browsers)
        || !ngx_http_clicktrack_harness_named(res.os,
                                           ngx_http_clicktrack_harness_systems)
        || !ngx_http_clicktrack_harness_named(res.device,
                                           ngx_http_clicktrack_harness_devices))
    {
        return "ua: a name not in docs/stats.md";
    }

    ngx_http_clicktrack_ua_classify(ua, &again);

    if (again.browser != res.browser || again.os != res.os
        || again.device != res.device)
    {
        return "ua: the same bytes, other names";
    }

#define ngx_http_clicktrack_is(s, lit)                                        \
    ((s)->len == sizeof(lit) - 1 && ngx_strncmp((s)->data, lit, (s)->len) == 0)

    os = res.os;
    device = res.device;

    if ((ngx_http_clicktrack_is(os, "iOS")
         || ngx_http_clicktrack_is(os, "Windows Phone")
         || ngx_http_clicktrack_is(os, "KaiOS"))
        && !ngx_http_clicktrack_is(device, "mobile"))
    {
        return "ua: a phone's system, not a mobile device";
    }

    if (ngx_http_clicktrack_is(os, "iPadOS")
        && !ngx_http_clicktrack_is(device, "tablet"))
    {
        return "ua: iPadOS, not a tablet";
    }

    if ((ngx_http_clicktrack_is(os, "Windows")
         || ngx_http_clicktrack_is(os, "macOS")
         || ngx_http_clicktrack_is(os, "ChromeOS"))
        && !ngx_http_clicktrack_is(device, "desktop"))
    {
        return "ua: a desktop system, not a desktop";
    }

    if (ngx_http_clicktrack_is(os, "Android")
        && !ngx_http_clicktrack_is(device, "mobile")
        && !ngx_http_clicktrack_is(device, "tablet"))
    {
        return "ua: Android, neither mobile nor tablet";
    }

    if (ngx_http_clicktrack_is(res.browser, "Safari")
        && !ngx_http_clicktrack_is(os, "iOS")
        && !ngx_http_clicktrack_is(os, "iPadOS")
        && !ngx_http_clicktrack_is(os, "macOS")
        && !ngx_http_clicktrack_is(os, "Windows"))
    {
        return "ua: Safari, not on Apple's systems or Windows";
    }

    if ((ngx_http_clicktrack_is(res.browser, "Android WebView")
         || ngx_http_clicktrack_is(res.browser, "Android Browser"))
        && !ngx_http_clicktrack_is(os, "Android"))
    {
        return "ua: an Android browser, not on Android";
    }

    if (ua->len < sizeof("iPod") - 1
        && (!ngx_http_clicktrack_is(res.browser, "Other")
            || !ngx_http_clicktrack_is(os, "Other")
            || !ngx_http_clicktrack_is(device, "Other")))
    {
        return "ua: a name from fewer bytes than any token";
    }

#undef ngx_http_clicktrack_is

    return NULL;
}


static ngx_uint_t
ngx_http_clicktrack_harness_named(ngx_str_t *name, char **names)
{
    for ( /* void */ ; *names; names++) {
        if (name->len == ngx_strlen(*names)
            && ngx_strncmp(name->data, *names, name->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* the record checker */


const char *
ngx_http_clicktrack_harness_check(u_char *p, size_t len,
    ngx_http_clicktrack_common_t *common)
{
    int64_t                     ts;
    ngx_int_t                   rc;
    ngx_str_t                   key, value;
    ngx_uint_t                  i, rank, next, seen;
    ngx_http_clicktrack_chk_t   c;

    c.start = p;
    c.pos = p;
    c.end = p + len;
    c.why = NULL;

    if (ngx_http_clicktrack_chk_byte(&c, '{') != NGX_OK) {
        return c.why;
    }

    next = 0;
    seen = 0;

    for ( ;; ) {
        if (ngx_http_clicktrack_chk_string(&c, &key) != NGX_OK) {
            return c.why;
        }

        /* the key's rank in SPEC order: built-ins, then fields */

        for (rank = 0; ngx_http_clicktrack_harness_keys[rank]; rank++) {
            if (key.len == ngx_strlen(ngx_http_clicktrack_harness_keys[rank])
                && ngx_strncmp(key.data,
                               ngx_http_clicktrack_harness_keys[rank],
                               key.len)
                   == 0)
            {
                break;
            }
        }

        if (ngx_http_clicktrack_harness_keys[rank] == NULL) {
            for (i = 0; i < common->nfields; i++) {
                if (common->fields[i].value.len
                    && key.len == common->fields[i].name.len
                    && ngx_strncmp(key.data, common->fields[i].name.data,
                                   key.len)
                       == 0)
                {
                    break;
                }
            }

            if (i == common->nfields) {
                return "unexpected key";
            }

            rank += i;
        }

        if (rank < next) {
            return "key out of order or repeated";
        }

        next = rank + 1;

        if (rank < 8 * sizeof(ngx_uint_t)) {
            seen |= (ngx_uint_t) 1 << rank;
        }

        if (ngx_http_clicktrack_chk_byte(&c, ':') != NGX_OK) {
            return c.why;
        }

        if (rank == 10) {                               /* client_ts */
            if (ngx_http_clicktrack_chk_number(&c, &value) != NGX_OK) {
                return c.why;
            }

            ts = 0;

            for (i = 0; i < value.len; i++) {
                if (value.data[i] < '0' || value.data[i] > '9' || i > 15) {
                    return "client_ts not an integer below 2^53";
                }

                ts = ts * 10 + (value.data[i] - '0');
            }

            if (ts < 1 || ts >= NGX_HTTP_CLICKTRACK_MAX_TS) {
                return "client_ts out of range";
            }

        } else if (rank == 14) {                        /* props */
            if (ngx_http_clicktrack_chk_props(&c) != NGX_OK) {
                return c.why;
            }

        } else {
            if (ngx_http_clicktrack_chk_string(&c, &value) != NGX_OK) {
                return c.why;
            }

            if (value.len == 0) {
                return "empty string value";
            }

            rc = NGX_OK;

            if (rank == 2) {
                rc = ngx_http_clicktrack_chk_charset(&value,
                                    "abcdefghijklmnopqrstuvwxyz0123456789_.:-",
                                    1, NGX_HTTP_CLICKTRACK_MAX_TYPE);

            } else if (rank == 7 || rank == 8) {
                rc = ngx_http_clicktrack_chk_charset(&value,
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "abcdefghijklmnopqrstuvwxyz0123456789_-",
                                    NGX_HTTP_CLICKTRACK_MIN_ID,
                                    NGX_HTTP_CLICKTRACK_MAX_ID);
            }

            if (rc != NGX_OK) {
                return "type, visitor or session breaks its rule";
            }
        }

        if (c.pos < c.end && *c.pos == ',') {
            c.pos++;
            continue;
        }

        if (ngx_http_clicktrack_chk_byte(&c, '}') != NGX_OK) {
            return c.why;
        }

        break;
    }

    if (c.pos != c.end) {
        return "bytes after the object";
    }

    /* id, ts, type, visitor are always there in this harness */
    if ((seen & 0x87) != 0x87) {
        return "id, ts, type or visitor missing";
    }

    return NULL;
}


static ngx_int_t
ngx_http_clicktrack_chk_fail(ngx_http_clicktrack_chk_t *c, const char *why)
{
    c->why = why;
    return NGX_ERROR;
}


static ngx_int_t
ngx_http_clicktrack_chk_byte(ngx_http_clicktrack_chk_t *c, u_char ch)
{
    if (c->pos == c->end || *c->pos != ch) {
        return ngx_http_clicktrack_chk_fail(c, "unexpected byte (or space)");
    }

    c->pos++;

    return NGX_OK;
}


/* a string, checked for RFC 8259 and UTF-8; raw is its escaped body */

static ngx_int_t
ngx_http_clicktrack_chk_string(ngx_http_clicktrack_chk_t *c, ngx_str_t *raw)
{
    u_char      ch;
    uint32_t    cp, min;
    ngx_uint_t  i, n;

    if (ngx_http_clicktrack_chk_byte(c, '"') != NGX_OK) {
        return NGX_ERROR;
    }

    raw->data = c->pos;

    for ( ;; ) {
        if (c->pos == c->end) {
            return ngx_http_clicktrack_chk_fail(c, "unterminated string");
        }

        ch = *c->pos;

        if (ch == '"') {
            break;
        }

        if (ch < 0x20 || ch == 0x7f) {
            return ngx_http_clicktrack_chk_fail(c, "raw control character");
        }

        if (ch == '\\') {
            if (c->end - c->pos < 2) {
                return ngx_http_clicktrack_chk_fail(c, "bad escape");
            }

            ch = c->pos[1];

            if (ch == 'u') {
                if (c->end - c->pos < 6) {
                    return ngx_http_clicktrack_chk_fail(c, "bad \\u");
                }

                for (i = 2; i < 6; i++) {
                    if (!isxdigit(c->pos[i])) {
                        return ngx_http_clicktrack_chk_fail(c, "bad \\u");
                    }
                }

                c->pos += 6;
                continue;
            }

            if (ngx_strchr("\"\\/bfnrt", ch) == NULL || ch == '\0') {
                return ngx_http_clicktrack_chk_fail(c, "bad escape");
            }

            c->pos += 2;
            continue;
        }

        if (ch < 0x80) {
            c->pos++;
            continue;
        }

        /* UTF-8, decoded to check shortest form and range */

        if (ch >= 0xc0 && ch < 0xe0) {
            n = 1;
            cp = ch & 0x1f;
            min = 0x80;

        } else if (ch >= 0xe0 && ch < 0xf0) {
            n = 2;
            cp = ch & 0x0f;
            min = 0x800;

        } else if (ch >= 0xf0 && ch < 0xf8) {
            n = 3;
            cp = ch & 0x07;
            min = 0x10000;

        } else {
            return ngx_http_clicktrack_chk_fail(c, "invalid UTF-8 lead");
        }

        if ((ngx_uint_t) (c->end - c->pos) <= n) {
            return ngx_http_clicktrack_chk_fail(c, "truncated UTF-8");
        }

        for (i = 1; i <= n; i++) {
            if ((c->pos[i] & 0xc0) != 0x80) {
                return ngx_http_clicktrack_chk_fail(c, "bad UTF-8 trail");
            }

            cp = (cp << 6) | (c->pos[i] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return ngx_http_clicktrack_chk_fail(c, "ill-formed UTF-8");
        }

        if (cp == 0x2028 || cp == 0x2029) {
            return ngx_http_clicktrack_chk_fail(c, "raw U+2028/U+2029");
        }

        c->pos += n + 1;
    }

    raw->len = c->pos - raw->data;
    c->pos++;

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_chk_number(ngx_http_clicktrack_chk_t *c, ngx_str_t *raw)
{
    u_char  *p;

    p = c->pos;

    if (p < c->end && *p == '-') {
        p++;
    }

    if (p < c->end && *p == '0') {
        p++;

    } else if (p < c->end && *p >= '1' && *p <= '9') {
        while (p < c->end && isdigit(*p)) {
            p++;
        }

    } else {
        return ngx_http_clicktrack_chk_fail(c, "bad number");
    }

    if (p < c->end && *p == '.') {
        p++;

        if (p == c->end || !isdigit(*p)) {
            return ngx_http_clicktrack_chk_fail(c, "bad fraction");
        }

        while (p < c->end && isdigit(*p)) {
            p++;
        }
    }

    if (p < c->end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < c->end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == c->end || !isdigit(*p)) {
            return ngx_http_clicktrack_chk_fail(c, "bad exponent");
        }

        while (p < c->end && isdigit(*p)) {
            p++;
        }
    }

    raw->data = c->pos;
    raw->len = p - c->pos;
    c->pos = p;

    return NGX_OK;
}


/* "props": 1..20 unique names, scalar values, no null */

static ngx_int_t
ngx_http_clicktrack_chk_props(ngx_http_clicktrack_chk_t *c)
{
    ngx_str_t   name, value, names[NGX_HTTP_CLICKTRACK_MAX_PROPS];
    ngx_uint_t  i, n;

    if (ngx_http_clicktrack_chk_byte(c, '{') != NGX_OK) {
        return NGX_ERROR;
    }

    n = 0;

    for ( ;; ) {
        if (ngx_http_clicktrack_chk_string(c, &name) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_clicktrack_chk_charset(&name,
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "abcdefghijklmnopqrstuvwxyz0123456789_.-",
                                  1, NGX_HTTP_CLICKTRACK_MAX_PROP_NAME)
            != NGX_OK)
        {
            return ngx_http_clicktrack_chk_fail(c, "bad prop name");
        }

        if (n == NGX_HTTP_CLICKTRACK_MAX_PROPS) {
            return ngx_http_clicktrack_chk_fail(c, "over 20 props");
        }

        for (i = 0; i < n; i++) {
            if (names[i].len == name.len
                && ngx_strncmp(names[i].data, name.data, name.len) == 0)
            {
                return ngx_http_clicktrack_chk_fail(c, "duplicate prop");
            }
        }

        names[n++] = name;

        if (ngx_http_clicktrack_chk_byte(c, ':') != NGX_OK) {
            return NGX_ERROR;
        }

        if (c->pos == c->end) {
            return ngx_http_clicktrack_chk_fail(c, "no prop value");
        }

        if (*c->pos == '"') {
            if (ngx_http_clicktrack_chk_string(c, &value) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (c->end - c->pos >= 4
                   && ngx_strncmp(c->pos, "true", 4) == 0)
        {
            c->pos += 4;

        } else if (c->end - c->pos >= 5
                   && ngx_strncmp(c->pos, "false", 5) == 0)
        {
            c->pos += 5;

        } else {
            if (ngx_http_clicktrack_chk_number(c, &value) != NGX_OK) {
                return NGX_ERROR;
            }

            if (value.len > NGX_HTTP_CLICKTRACK_MAX_PROP_VALUE) {
                return ngx_http_clicktrack_chk_fail(c, "long number prop");
            }
        }

        if (c->pos < c->end && *c->pos == ',') {
            c->pos++;
            continue;
        }

        return ngx_http_clicktrack_chk_byte(c, '}');
    }
}


static ngx_int_t
ngx_http_clicktrack_chk_charset(ngx_str_t *s, const char *set, size_t min,
    size_t max)
{
    size_t  i;

    if (s->len < min || s->len > max) {
        return NGX_ERROR;
    }

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '\0' || strchr(set, s->data[i]) == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
