
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_stats.h"
#include "ngx_http_clicktrack_rollup.h"
#include "ngx_http_clicktrack_record.h"
#include "ngx_http_clicktrack_beacon.h"


/*
 * clicktrack_stats, the request side: the method, the arguments and the
 * range they name (days since 1970 in the rollups' tz), the wait for the
 * worker's stats connection, the early answers (400, 405, 503), and the
 * request's cleanup.  ngx_http_clicktrack_stats_read.c sends the reads
 * and answers.
 */


/* ", pages" and so on, for the message that lists the tables */
#define ngx_http_clicktrack_stats_listed(name, text)  ", " text


static ngx_int_t ngx_http_clicktrack_stats_args(ngx_http_request_t *r,
    ngx_http_clicktrack_stats_ctx_t *ctx, char **fault);
static ngx_int_t ngx_http_clicktrack_stats_period(
    ngx_http_clicktrack_stats_ctx_t *ctx, ngx_str_t *period);
static ngx_int_t ngx_http_clicktrack_stats_date(ngx_str_t *s, ngx_int_t *day);
static ngx_int_t ngx_http_clicktrack_stats_days(ngx_int_t y, ngx_int_t m,
    ngx_int_t d);
static void ngx_http_clicktrack_stats_civil(ngx_int_t days, ngx_int_t *y,
    ngx_int_t *m, ngx_int_t *d);
static ngx_int_t ngx_http_clicktrack_stats_fault(ngx_http_request_t *r,
    ngx_uint_t status, char *text);
static void ngx_http_clicktrack_stats_cleanup(void *data);
static void ngx_http_clicktrack_stats_ready(ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stats_lost(ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stats_failed(ngx_http_clicktrack_redis_t *rc);


ngx_int_t
ngx_http_clicktrack_stats_handler(ngx_http_request_t *r)
{
    char                             *fault;
    ngx_int_t                         rc;
    ngx_str_t                         allow;
    ngx_pool_cleanup_t               *cln;
    ngx_http_clicktrack_stats_ctx_t  *ctx;
    ngx_http_clicktrack_loc_conf_t   *lcf;
    ngx_http_clicktrack_main_conf_t  *mcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        ngx_str_set(&allow, "GET, HEAD");

        if (ngx_http_clicktrack_add_header(r, "Allow", &allow) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_clicktrack_stats_fault(r, NGX_HTTP_NOT_ALLOWED,
                                               "method not allowed");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_clicktrack_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_clicktrack_stats_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->stats = mcf->stats;
    ctx->prefix = lcf->stats_prefix;

    if (lcf->rollup) {
        ctx->tz = lcf->rollup->tz;
        ctx->tz_text = lcf->rollup->tz_text;
        ctx->top = lcf->rollup->top;

    } else {
        ngx_str_set(&ctx->tz_text, "+00:00");
        ctx->top = 1000;
    }

    ctx->limit = ngx_min(NGX_HTTP_CLICKTRACK_STATS_LIMIT, ctx->top);
    ctx->ranges = 1;

    if (ngx_http_clicktrack_stats_args(r, ctx, &fault) != NGX_OK) {
        if (fault == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_clicktrack_stats_fault(r, NGX_HTTP_BAD_REQUEST,
                                               fault);
    }

    if (ctx->stats == NULL) {
        /* the worker could not set the connection up: logged then */
        return ngx_http_clicktrack_stats_fault(r,
                                             NGX_HTTP_SERVICE_UNAVAILABLE,
                                             NGX_HTTP_CLICKTRACK_STATS_DOWN);
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_clicktrack_stats_cleanup;
    cln->data = ctx;

    r->main->count++;

    if (ctx->stats->redis.state == NGX_HTTP_CLICKTRACK_REDIS_READY) {
        if (ngx_http_clicktrack_stats_start(ctx) != NGX_OK) {
            ngx_http_clicktrack_stats_unavailable(ctx);
        }

        return NGX_DONE;
    }

    if (ctx->stats->redis.state == NGX_HTTP_CLICKTRACK_REDIS_CONNECTING) {
        ngx_queue_insert_tail(&ctx->stats->waiting, &ctx->queue);
        ctx->waiting = 1;
        return NGX_DONE;
    }

    ngx_http_clicktrack_stats_unavailable(ctx);

    return NGX_DONE;
}


/*
 * The arguments.  NGX_ERROR with *fault set names the bad one; with
 * *fault NULL, no memory.
 */

static ngx_int_t
ngx_http_clicktrack_stats_args(ngx_http_request_t *r,
    ngx_http_clicktrack_stats_ctx_t *ctx, char **fault)
{
    u_char                             *p, *last, *end, *eq;
    ngx_int_t                           n, i;
    ngx_str_t                           name, value, from, to, period;
    ngx_str_t                           format, table, compare;
    ngx_uint_t                          seen_sites;
    ngx_http_clicktrack_stats_range_t  *rg, *cr;

    *fault = NULL;

    ngx_str_null(&from);
    ngx_str_null(&to);
    ngx_str_null(&period);
    ngx_str_null(&format);
    ngx_str_null(&table);
    ngx_str_null(&compare);
    seen_sites = 0;

    p = r->args.data;
    last = r->args.len ? p + r->args.len : p;

    for ( /* void */ ; p < last; p = end + 1) {

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if (end == p) {
            continue;
        }

        eq = ngx_strlchr(p, end, '=');

        name.data = p;
        name.len = (eq ? eq : end) - p;
        value.data = eq ? eq + 1 : end;
        value.len = end - value.data;

#define ngx_http_clicktrack_stats_arg(n)                                      \
    (name.len == sizeof(n) - 1 && ngx_strncmp(name.data, n, name.len) == 0)

        if (ngx_http_clicktrack_stats_arg("site")) {
            ctx->site = value;

        } else if (ngx_http_clicktrack_stats_arg("from")) {
            from = value;

        } else if (ngx_http_clicktrack_stats_arg("to")) {
            to = value;

        } else if (ngx_http_clicktrack_stats_arg("period")) {
            period = value;

        } else if (ngx_http_clicktrack_stats_arg("limit")) {
            n = ngx_atoi(value.data, value.len);

            if (n == NGX_ERROR || n == 0 || (ngx_uint_t) n > ctx->top) {
                *fault = "invalid \"limit\": 1 up to the rollups' top";
                return NGX_ERROR;
            }

            ctx->limit = (ngx_uint_t) n;

        } else if (ngx_http_clicktrack_stats_arg("sites")) {
            seen_sites = 1;

        } else if (ngx_http_clicktrack_stats_arg("format")) {
            format = value;

        } else if (ngx_http_clicktrack_stats_arg("table")) {
            table = value;

        } else if (ngx_http_clicktrack_stats_arg("compare")) {
            compare = value;

        } else {
            *fault = "unknown argument: site, from, to, period, limit, "
                     "sites, format, table, compare";
            return NGX_ERROR;
        }

#undef ngx_http_clicktrack_stats_arg
    }

    /* a site: a host name, an address, a port */

    for (i = 0; i < (ngx_int_t) ctx->site.len; i++) {
        p = &ctx->site.data[i];

        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'
              || *p == '_' || *p == ':' || *p == '[' || *p == ']'))
        {
            *fault = "invalid \"site\": a host name";
            return NGX_ERROR;
        }
    }

    if (ctx->site.len > 255 || (ctx->site.data && ctx->site.len == 0)) {
        *fault = "invalid \"site\": a host name";
        return NGX_ERROR;
    }

    rg = &ctx->range[0];

    if (from.data || to.data) {
        if (period.data) {
            *fault = "\"period\" and \"from\"/\"to\" exclude each other";
            return NGX_ERROR;
        }

        if (from.data == NULL || to.data == NULL) {
            *fault = "\"from\" and \"to\" go together";
            return NGX_ERROR;
        }

        if (ngx_http_clicktrack_stats_date(&from, &rg->from) != NGX_OK) {
            *fault = "invalid \"from\": a date, YYYY-MM-DD";
            return NGX_ERROR;
        }

        if (ngx_http_clicktrack_stats_date(&to, &rg->to) != NGX_OK) {
            *fault = "invalid \"to\": a date, YYYY-MM-DD";
            return NGX_ERROR;
        }

        if (rg->from > rg->to) {
            *fault = "\"from\" is after \"to\"";
            return NGX_ERROR;
        }

        if (rg->to - rg->from + 1 > NGX_HTTP_CLICKTRACK_STATS_MAX_DAYS) {
            *fault = "a range of more than 366 days";
            return NGX_ERROR;
        }

    } else if (ngx_http_clicktrack_stats_period(ctx, &period) != NGX_OK) {
        *fault = "unknown \"period\": today, yesterday, 7d, 30d, month, "
                 "12mo";
        return NGX_ERROR;
    }

    ctx->hourly = (rg->from == rg->to);

    if (format.data && !(format.len == 4
                         && ngx_strncmp(format.data, "json", 4) == 0))
    {
        if (!(format.len == 3 && ngx_strncmp(format.data, "csv", 3) == 0)) {
            *fault = "unknown \"format\": json, csv";
            return NGX_ERROR;
        }

        ctx->csv = 1;
    }

    if (table.data) {
        if (!ctx->csv) {
            *fault = "\"table\" is for \"format=csv\"";
            return NGX_ERROR;
        }

        ctx->table = NGX_ERROR;

        if (table.len == 6 && ngx_strncmp(table.data, "series", 6) == 0) {
            ctx->table = NGX_HTTP_CLICKTRACK_STATS_SERIES;
        }

        for (i = 0; i < (ngx_int_t) NGX_HTTP_CLICKTRACK_ROLLUP_NTABLES; i++) {
            name.data = (u_char *) ngx_http_clicktrack_rollup_table_names[i];
            name.len = ngx_strlen(name.data);

            if (table.len == name.len
                && ngx_strncmp(table.data, name.data, name.len) == 0)
            {
                ctx->table = i;
            }
        }

        if (ctx->table == NGX_ERROR) {
            *fault = "unknown \"table\": series"
                     ngx_http_clicktrack_rollup_tables(
                         ngx_http_clicktrack_stats_listed);
            return NGX_ERROR;
        }

    } else if (ctx->csv) {
        *fault = "\"format=csv\" needs \"table\"";
        return NGX_ERROR;
    }

    if (compare.data) {
        cr = &ctx->range[1];

        if (compare.len == 8 && ngx_strncmp(compare.data, "previous", 8) == 0)
        {
            cr->to = rg->from - 1;
            cr->from = cr->to - (rg->to - rg->from);

        } else if (compare.len == 4
                   && ngx_strncmp(compare.data, "year", 4) == 0)
        {
            /* the same dates a year earlier: 365 days, 366 over a Feb 29 */

            ngx_int_t  y, m, d;

            ngx_http_clicktrack_stats_civil(rg->from, &y, &m, &d);
            cr->from = ngx_http_clicktrack_stats_days(y - 1, m,
                                                      (m == 2 && d == 29)
                                                      ? 28 : d);
            cr->to = cr->from + (rg->to - rg->from);
            ctx->compare_year = 1;

        } else {
            *fault = "unknown \"compare\": previous, year";
            return NGX_ERROR;
        }

        ctx->ranges = 2;
    }

    ctx->list_sites = seen_sites;

    for (i = 0; i < (ngx_int_t) ctx->ranges; i++) {
        rg = &ctx->range[i];

        rg->npoints = ctx->hourly ? 24 : (ngx_uint_t) (rg->to - rg->from + 1);

        rg->visitors = ngx_pcalloc(r->pool, rg->npoints * sizeof(ngx_uint_t));
        rg->pageviews = ngx_pcalloc(r->pool,
                                    rg->npoints * sizeof(ngx_uint_t));

        if (rg->visitors == NULL || rg->pageviews == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_array_init(&ctx->sites, r->pool, 8,
                       sizeof(ngx_http_clicktrack_stats_row_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < (ngx_int_t) NGX_HTTP_CLICKTRACK_ROLLUP_NTABLES; i++) {
        if (ngx_array_init(&ctx->tables[i], r->pool, 4,
                           sizeof(ngx_http_clicktrack_stats_row_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* today and the named periods, in the rollups' tz */

static ngx_int_t
ngx_http_clicktrack_stats_period(ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_str_t *period)
{
    ngx_int_t                           today, y, m, d;
    ngx_http_clicktrack_stats_range_t  *rg;

    rg = &ctx->range[0];

    today = (ngx_int_t) ((ngx_time() + ctx->tz) / 86400);
    rg->to = today;

#define ngx_http_clicktrack_stats_is(s)                                       \
    (period->len == sizeof(s) - 1                                             \
     && ngx_strncmp(period->data, s, period->len) == 0)

    if (period->data == NULL || ngx_http_clicktrack_stats_is("today")) {
        rg->from = today;

    } else if (ngx_http_clicktrack_stats_is("yesterday")) {
        rg->from = today - 1;
        rg->to = today - 1;

    } else if (ngx_http_clicktrack_stats_is("7d")) {
        rg->from = today - 6;

    } else if (ngx_http_clicktrack_stats_is("30d")) {
        rg->from = today - 29;

    } else if (ngx_http_clicktrack_stats_is("month")) {
        ngx_http_clicktrack_stats_civil(today, &y, &m, &d);
        rg->from = ngx_http_clicktrack_stats_days(y, m, 1);

    } else if (ngx_http_clicktrack_stats_is("12mo")) {
        /* this month and the eleven before it */
        ngx_http_clicktrack_stats_civil(today, &y, &m, &d);
        m -= 11;

        if (m < 1) {
            m += 12;
            y--;
        }

        rg->from = ngx_http_clicktrack_stats_days(y, m, 1);

    } else {
        return NGX_ERROR;
    }

#undef ngx_http_clicktrack_stats_is

    return NGX_OK;
}


/* "YYYY-MM-DD", a real date */

static ngx_int_t
ngx_http_clicktrack_stats_date(ngx_str_t *s, ngx_int_t *day)
{
    u_char     *p;
    ngx_int_t   y, m, d, dim;

    static const ngx_int_t  days_in[] = { 31, 29, 31, 30, 31, 30, 31, 31,
                                          30, 31, 30, 31 };

    p = s->data;

    if (s->len != 10 || p[4] != '-' || p[7] != '-') {
        return NGX_ERROR;
    }

    y = ngx_atoi(p, 4);
    m = ngx_atoi(p + 5, 2);
    d = ngx_atoi(p + 8, 2);

    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1) {
        return NGX_ERROR;
    }

    dim = days_in[m - 1];

    if (m == 2 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        dim = 28;
    }

    if (d > dim) {
        return NGX_ERROR;
    }

    *day = ngx_http_clicktrack_stats_days(y, m, d);

    return NGX_OK;
}


/* days since 1970-01-01 of a date of the proleptic Gregorian calendar */

static ngx_int_t
ngx_http_clicktrack_stats_days(ngx_int_t y, ngx_int_t m, ngx_int_t d)
{
    ngx_int_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static void
ngx_http_clicktrack_stats_civil(ngx_int_t days, ngx_int_t *y, ngx_int_t *m,
    ngx_int_t *d)
{
    ngx_int_t  z, era, doe, yoe, doy, mp;

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}


u_char *
ngx_http_clicktrack_stats_day_text(u_char *p, ngx_int_t day)
{
    ngx_int_t  y, m, d;

    ngx_http_clicktrack_stats_civil(day, &y, &m, &d);

    return ngx_sprintf(p, "%04i-%02i-%02i", y, m, d);
}


/*
 * Every whole answer of the stats API, 200s and errors: not to be
 * stored, through the module's one response helper (which keeps the
 * type alone in content_type_len for "text/csv; charset=utf-8").
 */

ngx_int_t
ngx_http_clicktrack_stats_send(ngx_http_request_t *r, ngx_uint_t status,
    char *type, ngx_str_t *body)
{
    ngx_str_t  cc;

    ngx_str_set(&cc, "no-store");

    if (ngx_http_clicktrack_add_header(r, "Cache-Control", &cc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_clicktrack_send(r, status, type, body);
}


static ngx_int_t
ngx_http_clicktrack_stats_fault(ngx_http_request_t *r, ngx_uint_t status,
    char *text)
{
    ngx_str_t  body;

    body.len = ngx_strlen(text) + 1;
    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body.data, text, body.len - 1);
    body.data[body.len - 1] = '\n';

    return ngx_http_clicktrack_stats_send(r, status, "text/plain", &body);
}


/* Redis is away, or went away before the answer: 503 */

void
ngx_http_clicktrack_stats_unavailable(ngx_http_clicktrack_stats_ctx_t *ctx)
{
    ngx_str_t             v;
    ngx_msec_t            retry, left;
    ngx_http_request_t   *r;

    r = ctx->request;

    if (ctx->waiting) {
        ngx_queue_remove(&ctx->queue);
        ctx->waiting = 0;
    }

    retry = 1000;

    if (ctx->stats && ctx->stats->redis.reconnect_timer.timer_set) {
        left = (ngx_msec_t) (ctx->stats->redis.reconnect_timer.timer.key
                             - ngx_current_msec);

        if (left > retry && left < 60000) {
            retry = left;
        }
    }

    v.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (v.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    v.len = ngx_sprintf(v.data, "%M", (retry + 999) / 1000) - v.data;

    if (ngx_http_clicktrack_add_header(r, "Retry-After", &v) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
                 ngx_http_clicktrack_stats_fault(r,
                                             NGX_HTTP_SERVICE_UNAVAILABLE,
                                             NGX_HTTP_CLICKTRACK_STATS_DOWN));
}


/* the request goes: replies still due find its query without it */

static void
ngx_http_clicktrack_stats_cleanup(void *data)
{
    ngx_http_clicktrack_stats_ctx_t *ctx = data;

    if (ctx->waiting) {
        ngx_queue_remove(&ctx->queue);
        ctx->waiting = 0;
    }

    if (ctx->query == NULL) {
        return;
    }

    if (ctx->query->pending == 0) {
        ngx_free(ctx->query);

    } else {
        ctx->query->ctx = NULL;
    }

    ctx->query = NULL;
}


ngx_int_t
ngx_http_clicktrack_stats_init(ngx_cycle_t *cycle,
    ngx_http_clicktrack_main_conf_t *mcf)
{
    ngx_http_clicktrack_stats_t  *st;

    st = ngx_pcalloc(cycle->pool, sizeof(ngx_http_clicktrack_stats_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&st->waiting);

    ngx_http_clicktrack_redis_setup(&st->redis, mcf->redis, mcf->counters,
                                    cycle->log);
    st->redis.ready = ngx_http_clicktrack_stats_ready;
    st->redis.lost = ngx_http_clicktrack_stats_lost;
    st->redis.failed = ngx_http_clicktrack_stats_failed;
    st->redis.data = st;

    mcf->stats = st;

    ngx_http_clicktrack_redis_connect(&st->redis);

    return NGX_OK;
}


void
ngx_http_clicktrack_stats_exit(ngx_http_clicktrack_main_conf_t *mcf)
{
    if (mcf->stats == NULL) {
        return;
    }

    ngx_http_clicktrack_redis_close(&mcf->stats->redis);
    mcf->stats = NULL;
}


/* the requests that waited for the connection start, or fail */

static void
ngx_http_clicktrack_stats_ready(ngx_http_clicktrack_redis_t *rc)
{
    ngx_queue_t                      *q, *next;
    ngx_http_clicktrack_stats_t      *st;
    ngx_http_clicktrack_stats_ctx_t  *ctx;

    st = rc->data;

    for (q = ngx_queue_head(&st->waiting);
         q != ngx_queue_sentinel(&st->waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_clicktrack_stats_ctx_t, queue);
        ctx->waiting = 0;

        if (ngx_http_clicktrack_stats_start(ctx) != NGX_OK) {
            ngx_http_clicktrack_stats_unavailable(ctx);
        }
    }
}


static void
ngx_http_clicktrack_stats_lost(ngx_http_clicktrack_redis_t *rc)
{
    /* the commands in flight got their callbacks with NULL: 503 there */
}


static void
ngx_http_clicktrack_stats_failed(ngx_http_clicktrack_redis_t *rc)
{
    ngx_queue_t                      *q, *next;
    ngx_http_clicktrack_stats_t      *st;
    ngx_http_clicktrack_stats_ctx_t  *ctx;

    st = rc->data;

    for (q = ngx_queue_head(&st->waiting);
         q != ngx_queue_sentinel(&st->waiting);
         q = next)
    {
        next = ngx_queue_next(q);

        ctx = ngx_queue_data(q, ngx_http_clicktrack_stats_ctx_t, queue);

        /* takes it out of the queue */
        ngx_http_clicktrack_stats_unavailable(ctx);
    }
}
