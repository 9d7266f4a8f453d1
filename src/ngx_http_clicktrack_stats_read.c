
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
 * A request is checked, then becomes one pipeline of reads on this
 * worker's stats connection: per day of the range the counts hash, per
 * point of the series a PFCOUNT, PFCOUNT over the range's days for the
 * totals (a union), over the last five minutes for "now", and per table
 * the union of its days (ZUNIONSTORE into a key of the site's slot that
 * lives for a few seconds, ZREVRANGE, DEL).  Without "site=" (and for
 * "?sites"), the days' sites come first, in a pipeline of their own.
 * Every reply is taken in its callback, into the request's pool; the
 * last one answers.  A query outlives a request that goes away: the
 * replies still due find it gone.
 */

static ngx_int_t ngx_http_clicktrack_stats_ask_sites(
    ngx_http_clicktrack_stats_ctx_t *ctx);
static ngx_int_t ngx_http_clicktrack_stats_ask(
    ngx_http_clicktrack_stats_ctx_t *ctx);
static ngx_int_t ngx_http_clicktrack_stats_ask_range(
    ngx_http_clicktrack_stats_ctx_t *ctx, ngx_uint_t r);
static ngx_int_t ngx_http_clicktrack_stats_command(
    ngx_http_clicktrack_stats_ctx_t *ctx, ngx_uint_t kind, ngx_uint_t range,
    ngx_uint_t index, ngx_uint_t argc, const char **argv, size_t *argvlen);
static ngx_str_t *ngx_http_clicktrack_stats_key(
    ngx_http_clicktrack_stats_ctx_t *ctx, ngx_int_t day, ngx_int_t hour,
    ngx_int_t minute, const char *name);
static void ngx_http_clicktrack_stats_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_stats_take(
    ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_http_clicktrack_stats_slot_t *slot, redisReply *r);
static ngx_int_t ngx_http_clicktrack_stats_rows(ngx_pool_t *pool,
    ngx_array_t *rows, redisReply *r, ngx_uint_t merge);
static void ngx_http_clicktrack_stats_done(
    ngx_http_clicktrack_stats_ctx_t *ctx);
static ngx_int_t ngx_http_clicktrack_stats_json(
    ngx_http_clicktrack_stats_ctx_t *ctx, ngx_str_t *out);
static u_char *ngx_http_clicktrack_stats_range_json(u_char *p,
    ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_http_clicktrack_stats_range_t *rg);
static u_char *ngx_http_clicktrack_stats_point(u_char *p,
    ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_http_clicktrack_stats_range_t *rg, ngx_uint_t i);
static u_char *ngx_http_clicktrack_stats_rows_json(u_char *p,
    ngx_array_t *rows, ngx_uint_t limit);
static ngx_int_t ngx_http_clicktrack_stats_csv(
    ngx_http_clicktrack_stats_ctx_t *ctx, ngx_str_t *out);
static int ngx_libc_cdecl ngx_http_clicktrack_stats_cmp(const void *one,
    const void *two);




/* the connection is ready: the first pipeline */

ngx_int_t
ngx_http_clicktrack_stats_start(ngx_http_clicktrack_stats_ctx_t *ctx)
{
    ngx_http_clicktrack_stats_query_t  *q;

    q = ngx_alloc(sizeof(ngx_http_clicktrack_stats_query_t),
                  ctx->request->connection->log);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->ctx = ctx;
    q->pending = 0;
    ctx->query = q;

    if (ctx->site.len == 0 || ctx->list_sites) {
        return ngx_http_clicktrack_stats_ask_sites(ctx);
    }

    return ngx_http_clicktrack_stats_ask(ctx);
}


static ngx_int_t
ngx_http_clicktrack_stats_ask_sites(ngx_http_clicktrack_stats_ctx_t *ctx)
{
    u_char                             *p;
    size_t                              argvlen[5];
    ngx_int_t                           day;
    const char                         *argv[5];
    ngx_http_clicktrack_stats_range_t  *rg;

    rg = &ctx->range[0];

    for (day = rg->from; day <= rg->to; day++) {
        p = ngx_pnalloc(ctx->request->pool,
                        ctx->prefix.len + sizeof(":sites:YYYY-MM-DD"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        argv[0] = "ZRANGE";
        argvlen[0] = 6;
        argv[1] = (const char *) p;
        p = ngx_cpymem(p, ctx->prefix.data, ctx->prefix.len);
        p = ngx_cpymem(p, ":sites:", sizeof(":sites:") - 1);
        p = ngx_http_clicktrack_stats_day_text(p, day);
        argvlen[1] = p - (u_char *) argv[1];
        argv[2] = "0";
        argvlen[2] = 1;
        argv[3] = "-1";
        argvlen[3] = 2;
        argv[4] = "WITHSCORES";
        argvlen[4] = 10;

        if (ngx_http_clicktrack_stats_command(ctx,
                                              NGX_HTTP_CLICKTRACK_R_SITES, 0,
                                              0, 5, argv, argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the site is known: the figures of the range (and the compared one) */

static ngx_int_t
ngx_http_clicktrack_stats_ask(ngx_http_clicktrack_stats_ctx_t *ctx)
{
    size_t                              len, *argvlen;
    time_t                              now;
    u_char                             *p;
    ngx_int_t                           day, n, t;
    ngx_str_t                          *key, tmp;
    ngx_uint_t                          i, r;
    const char                        **argv, **names;
    ngx_http_clicktrack_stats_range_t  *rg;

    names = (const char **) ngx_http_clicktrack_rollup_table_names;

    for (r = 0; r < ctx->ranges; r++) {
        if (ngx_http_clicktrack_stats_ask_range(ctx, r) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    rg = &ctx->range[0];
    n = rg->to - rg->from + 1;

    argv = ngx_palloc(ctx->request->pool, (n + 8) * sizeof(char *));
    argvlen = ngx_palloc(ctx->request->pool, (n + 8) * sizeof(size_t));
    if (argv == NULL || argvlen == NULL) {
        return NGX_ERROR;
    }

    /* now: the visitors of the last five minutes */

    argv[0] = "PFCOUNT";
    argvlen[0] = 7;

    now = ngx_time() + ctx->tz;

    for (i = 0; i < 5; i++) {
        key = ngx_http_clicktrack_stats_key(ctx,
                                            (now - 60 * i) / 86400,
                                            (now - 60 * i) % 86400 / 3600,
                                            (now - 60 * i) % 3600 / 60,
                                            "visitors");
        if (key == NULL) {
            return NGX_ERROR;
        }

        argv[1 + i] = (const char *) key->data;
        argvlen[1 + i] = key->len;
    }

    if (ngx_http_clicktrack_stats_command(ctx, NGX_HTTP_CLICKTRACK_R_NOW, 0,
                                          0, 6, argv, argvlen)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->csv && ctx->table == NGX_HTTP_CLICKTRACK_STATS_SERIES) {
        return NGX_OK;
    }

    /* the tables: the union of the days, its largest entries */

    for (t = 0; t < (ngx_int_t) NGX_HTTP_CLICKTRACK_ROLLUP_NTABLES; t++) {

        if (ctx->csv && t != ctx->table) {
            continue;
        }

        if (n == 1) {
            key = ngx_http_clicktrack_stats_key(ctx, rg->from, -1, -1,
                                                names[t]);
            if (key == NULL) {
                return NGX_ERROR;
            }

            tmp = *key;

        } else {
            len = ctx->prefix.len + ctx->site.len
                  + sizeof(":{}:tmp:-:") + 2 * NGX_INT_T_LEN;

            tmp.data = ngx_pnalloc(ctx->request->pool, len);
            if (tmp.data == NULL) {
                return NGX_ERROR;
            }

            tmp.len = ngx_sprintf(tmp.data, "%V:{%V}:tmp:%P-%ui:%i",
                                  &ctx->prefix, &ctx->site, ngx_pid,
                                  ctx->stats->seq++, t)
                      - tmp.data;

            argv[0] = "ZUNIONSTORE";
            argvlen[0] = 11;
            argv[1] = (const char *) tmp.data;
            argvlen[1] = tmp.len;

            p = ngx_pnalloc(ctx->request->pool, NGX_INT_T_LEN);
            if (p == NULL) {
                return NGX_ERROR;
            }

            argv[2] = (const char *) p;
            argvlen[2] = ngx_sprintf(p, "%i", n) - p;

            for (day = rg->from; day <= rg->to; day++) {
                key = ngx_http_clicktrack_stats_key(ctx, day, -1, -1,
                                                    names[t]);
                if (key == NULL) {
                    return NGX_ERROR;
                }

                argv[3 + day - rg->from] = (const char *) key->data;
                argvlen[3 + day - rg->from] = key->len;
            }

            if (ngx_http_clicktrack_stats_command(ctx,
                                              NGX_HTTP_CLICKTRACK_R_IGNORE, 0,
                                              0, 3 + n, argv, argvlen)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            argv[0] = "EXPIRE";
            argvlen[0] = 6;
            argv[2] = NGX_HTTP_CLICKTRACK_STATS_TMP_TTL;
            argvlen[2] = sizeof(NGX_HTTP_CLICKTRACK_STATS_TMP_TTL) - 1;

            if (ngx_http_clicktrack_stats_command(ctx,
                                              NGX_HTTP_CLICKTRACK_R_IGNORE, 0,
                                              0, 3, argv, argvlen)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        p = ngx_pnalloc(ctx->request->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        argv[0] = "ZREVRANGE";
        argvlen[0] = 9;
        argv[1] = (const char *) tmp.data;
        argvlen[1] = tmp.len;
        argv[2] = "0";
        argvlen[2] = 1;
        argv[3] = (const char *) p;
        argvlen[3] = ngx_sprintf(p, "%ui", ctx->limit - 1) - p;
        argv[4] = "WITHSCORES";
        argvlen[4] = 10;

        if (ngx_http_clicktrack_stats_command(ctx,
                                              NGX_HTTP_CLICKTRACK_R_TABLE, 0,
                                              t, 5, argv, argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (n > 1) {
            argv[0] = "DEL";
            argvlen[0] = 3;

            if (ngx_http_clicktrack_stats_command(ctx,
                                              NGX_HTTP_CLICKTRACK_R_IGNORE, 0,
                                              0, 2, argv, argvlen)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* a range's counts, series points and unique totals */

static ngx_int_t
ngx_http_clicktrack_stats_ask_range(ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_uint_t r)
{
    size_t                             *argvlen;
    ngx_int_t                           day, n, i, k;
    ngx_str_t                          *key;
    ngx_uint_t                          kind;
    const char                        **argv;
    ngx_http_clicktrack_stats_range_t  *rg;

    static char  *unique[] = { "visitors", "visits" };

    rg = &ctx->range[r];
    n = rg->to - rg->from + 1;

    argv = ngx_palloc(ctx->request->pool, (n + 2) * sizeof(char *));
    argvlen = ngx_palloc(ctx->request->pool, (n + 2) * sizeof(size_t));
    if (argv == NULL || argvlen == NULL) {
        return NGX_ERROR;
    }

    /* the days' counts */

    for (day = rg->from; day <= rg->to; day++) {
        key = ngx_http_clicktrack_stats_key(ctx, day, -1, -1, "counts");
        if (key == NULL) {
            return NGX_ERROR;
        }

        argv[0] = "HGETALL";
        argvlen[0] = 7;
        argv[1] = (const char *) key->data;
        argvlen[1] = key->len;

        if (ngx_http_clicktrack_stats_command(ctx,
                                              NGX_HTTP_CLICKTRACK_R_COUNTS, r,
                                              day - rg->from, 2, argv,
                                              argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the series' visitors: a day's, or an hour's */

    for (i = 0; i < (ngx_int_t) rg->npoints; i++) {
        key = ngx_http_clicktrack_stats_key(ctx,
                                            ctx->hourly ? rg->from
                                                        : rg->from + i,
                                            ctx->hourly ? i : -1, -1,
                                            "visitors");
        if (key == NULL) {
            return NGX_ERROR;
        }

        argv[0] = "PFCOUNT";
        argvlen[0] = 7;
        argv[1] = (const char *) key->data;
        argvlen[1] = key->len;

        if (ngx_http_clicktrack_stats_command(ctx,
                                              NGX_HTTP_CLICKTRACK_R_POINT, r,
                                              i, 2, argv, argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the range's visitors and visits: the union of its days */

    for (k = 0; k < 2; k++) {
        argv[0] = "PFCOUNT";
        argvlen[0] = 7;

        for (day = rg->from; day <= rg->to; day++) {
            key = ngx_http_clicktrack_stats_key(ctx, day, -1, -1, unique[k]);
            if (key == NULL) {
                return NGX_ERROR;
            }

            argv[1 + day - rg->from] = (const char *) key->data;
            argvlen[1 + day - rg->from] = key->len;
        }

        kind = k ? NGX_HTTP_CLICKTRACK_R_VISITS
                 : NGX_HTTP_CLICKTRACK_R_VISITORS;

        if (ngx_http_clicktrack_stats_command(ctx, kind, r, 0, 1 + n, argv,
                                              argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_stats_command(ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_uint_t kind, ngx_uint_t range, ngx_uint_t index, ngx_uint_t argc,
    const char **argv, size_t *argvlen)
{
    ngx_http_clicktrack_stats_slot_t  *slot;

    slot = ngx_alloc(sizeof(ngx_http_clicktrack_stats_slot_t),
                     ctx->request->connection->log);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    slot->query = ctx->query;
    slot->kind = (uint16_t) kind;
    slot->range = (uint16_t) range;
    slot->index = (uint32_t) index;

    if (ngx_http_clicktrack_redis_command(&ctx->stats->redis,
                                          ngx_http_clicktrack_stats_reply,
                                          slot, (int) argc, argv, argvlen)
        != NGX_OK)
    {
        ngx_free(slot);
        return NGX_ERROR;
    }

    ctx->query->pending++;

    return NGX_OK;
}


/*
 * PREFIX:{SITE}:DAY:NAME, PREFIX:{SITE}:DAYTHH:NAME (hour >= 0) or
 * PREFIX:{SITE}:DAYTHH:MM:NAME (minute >= 0), as the rollups write them
 */

static ngx_str_t *
ngx_http_clicktrack_stats_key(ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_int_t day, ngx_int_t hour, ngx_int_t minute, const char *name)
{
    u_char     *p;
    size_t      len;
    ngx_str_t  *key;

    len = ctx->prefix.len + ctx->site.len + sizeof(":{}:YYYY-MM-DDTHH:MM:")
          + ngx_strlen(name);

    key = ngx_palloc(ctx->request->pool, sizeof(ngx_str_t) + len);
    if (key == NULL) {
        return NULL;
    }

    key->data = (u_char *) (key + 1);

    p = ngx_sprintf(key->data, "%V:{%V}:", &ctx->prefix, &ctx->site);
    p = ngx_http_clicktrack_stats_day_text(p, day);

    if (hour >= 0) {
        p = ngx_sprintf(p, "T%02i", hour);

        if (minute >= 0) {
            p = ngx_sprintf(p, ":%02i", minute);
        }
    }

    p = ngx_sprintf(p, ":%s", name);

    key->len = p - key->data;

    return key;
}


static void
ngx_http_clicktrack_stats_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_stats_slot_t *slot = privdata;

    redisReply                         *r = reply;
    ngx_http_clicktrack_stats_ctx_t    *ctx;
    ngx_http_clicktrack_stats_query_t  *q;

    q = slot->query;
    ctx = q->ctx;

    q->pending--;

    if (ctx != NULL) {
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (r != NULL && !ctx->failed) {
                ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                              "clicktrack: redis refused a stats read: %*s",
                              (size_t) r->len, r->str);
            }

            ctx->failed = 1;

        } else {
            ngx_http_clicktrack_stats_take(ctx, slot, r);
        }
    }

    ngx_free(slot);

    if (q->pending) {
        return;
    }

    if (ctx == NULL) {
        ngx_free(q);
        return;
    }

    ngx_http_clicktrack_stats_done(ctx);
}


static void
ngx_http_clicktrack_stats_take(ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_http_clicktrack_stats_slot_t *slot, redisReply *r)
{
    size_t                              i;
    ngx_int_t                           n, h;
    redisReply                         *f, *v;
    ngx_http_clicktrack_stats_range_t  *rg;

    rg = &ctx->range[slot->range];

    switch (slot->kind) {

    case NGX_HTTP_CLICKTRACK_R_SITES:
        if (ngx_http_clicktrack_stats_rows(ctx->request->pool, &ctx->sites,
                                           r, 1)
            != NGX_OK)
        {
            ctx->failed = 1;
        }

        return;

    case NGX_HTTP_CLICKTRACK_R_COUNTS:
        if (r->type != REDIS_REPLY_ARRAY) {
            return;
        }

        for (i = 0; i + 1 < r->elements; i += 2) {
            f = r->element[i];
            v = r->element[i + 1];

            if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            {
                continue;
            }

            n = ngx_atoi((u_char *) v->str, v->len);
            if (n == NGX_ERROR) {
                continue;
            }

            if (f->len == 6 && ngx_strncmp(f->str, "events", 6) == 0) {
                rg->events += n;

            } else if (f->len == 10
                       && ngx_strncmp(f->str, "engaged_ms", 10) == 0)
            {
                rg->engaged += n;

            } else if (f->len == 13
                       && ngx_strncmp(f->str, "visits_viewed", 13) == 0)
            {
                rg->viewed += n;

            } else if (f->len == 12
                       && ngx_strncmp(f->str, "visits_multi", 12) == 0)
            {
                rg->multi += n;

            } else if (f->len == 9
                       && ngx_strncmp(f->str, "pageviews", 9) == 0)
            {
                rg->total_pageviews += n;

                if (!ctx->hourly) {
                    rg->pageviews[slot->index] += n;
                }

            } else if (ctx->hourly && f->len == 12
                       && ngx_strncmp(f->str, "pageviews:", 10) == 0)
            {
                h = ngx_atoi((u_char *) f->str + 10, 2);

                if (h >= 0 && h < 24) {
                    rg->pageviews[h] += n;
                }
            }
        }

        return;

    case NGX_HTTP_CLICKTRACK_R_POINT:
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
            rg->visitors[slot->index] = (ngx_uint_t) r->integer;
        }

        return;

    case NGX_HTTP_CLICKTRACK_R_VISITORS:
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
            rg->total_visitors = (ngx_uint_t) r->integer;
        }

        return;

    case NGX_HTTP_CLICKTRACK_R_VISITS:
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
            rg->total_visits = (ngx_uint_t) r->integer;
        }

        return;

    case NGX_HTTP_CLICKTRACK_R_NOW:
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
            ctx->now = (ngx_uint_t) r->integer;
        }

        return;

    case NGX_HTTP_CLICKTRACK_R_TABLE:
        if (ngx_http_clicktrack_stats_rows(ctx->request->pool,
                                           &ctx->tables[slot->index], r, 0)
            != NGX_OK)
        {
            ctx->failed = 1;
        }

        return;

    default:
        return;
    }
}


/* a WITHSCORES reply as rows; merge: add to the rows of the same name */

static ngx_int_t
ngx_http_clicktrack_stats_rows(ngx_pool_t *pool, ngx_array_t *rows,
    redisReply *r, ngx_uint_t merge)
{
    size_t                            i;
    ngx_uint_t                        k;
    ngx_int_t                         n;
    redisReply                       *name, *score;
    ngx_http_clicktrack_stats_row_t  *row;

    if (r->type != REDIS_REPLY_ARRAY) {
        return NGX_OK;
    }

    for (i = 0; i + 1 < r->elements; i += 2) {
        name = r->element[i];
        score = r->element[i + 1];

        if (name->type != REDIS_REPLY_STRING
            || score->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        /* the scores are whole: "12", not "1.2e1" */

        n = ngx_atoi((u_char *) score->str, score->len);
        if (n == NGX_ERROR) {
            continue;
        }

        row = NULL;

        if (merge) {
            row = rows->elts;

            for (k = 0; k < rows->nelts; k++) {
                if (row[k].name.len == name->len
                    && ngx_strncmp(row[k].name.data, name->str, name->len)
                       == 0)
                {
                    break;
                }
            }

            row = (k < rows->nelts) ? &row[k] : NULL;
        }

        if (row == NULL) {
            row = ngx_array_push(rows);
            if (row == NULL) {
                return NGX_ERROR;
            }

            row->name.len = name->len;
            row->name.data = ngx_pnalloc(pool, name->len);
            if (row->name.data == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(row->name.data, name->str, name->len);
            row->count = 0;
        }

        row->count += n;
    }

    return NGX_OK;
}


/* every reply of a pipeline is in */

static void
ngx_http_clicktrack_stats_done(ngx_http_clicktrack_stats_ctx_t *ctx)
{
    ngx_int_t                         rc;
    ngx_str_t                         body;
    ngx_http_request_t               *r;
    ngx_http_clicktrack_stats_row_t  *row;

    r = ctx->request;

    if (ctx->failed) {
        ngx_http_clicktrack_stats_unavailable(ctx);
        return;
    }

    if (!ctx->found && (ctx->site.len == 0 || ctx->list_sites)) {
        ctx->found = 1;

        /* the sites by events, the busiest first */

        ngx_qsort(ctx->sites.elts, ctx->sites.nelts,
                  sizeof(ngx_http_clicktrack_stats_row_t),
                  ngx_http_clicktrack_stats_cmp);

        /* no site asked for: the busiest, if any has data (else zeros) */

        if (!ctx->list_sites && ctx->sites.nelts) {
            row = ctx->sites.elts;
            ctx->site = row[0].name;

            if (ngx_http_clicktrack_stats_ask(ctx) != NGX_OK) {
                ngx_http_clicktrack_stats_unavailable(ctx);
            }

            return;
        }
    }

    if (ctx->csv) {
        rc = ngx_http_clicktrack_stats_csv(ctx, &body);

    } else {
        rc = ngx_http_clicktrack_stats_json(ctx, &body);
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
                 ngx_http_clicktrack_stats_send(r, NGX_HTTP_OK,
                                                ctx->csv ? "text/csv; "
                                                           "charset=utf-8"
                                                         : "application/json",
                                                &body));
}


/* the JSON answer, keys in SPEC section 11's order */

static ngx_int_t
ngx_http_clicktrack_stats_json(ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_str_t *out)
{
    u_char                           *p;
    size_t                            size;
    ngx_uint_t                        i, k, r;
    ngx_array_t                      *rows;
    ngx_http_clicktrack_stats_row_t  *row;

    /* a bound: every name escaped at six bytes a byte, numbers at 20 */

    size = 1024 + 6 * ctx->site.len;

    for (r = 0; r < ctx->ranges; r++) {
        size += 512 + ctx->range[r].npoints * 96;
    }

    for (i = 0; i < NGX_HTTP_CLICKTRACK_ROLLUP_NTABLES + 1; i++) {
        rows = (i < NGX_HTTP_CLICKTRACK_ROLLUP_NTABLES) ? &ctx->tables[i]
                                                       : &ctx->sites;
        row = rows->elts;

        size += 32;

        for (k = 0; k < rows->nelts; k++) {
            size += 6 * row[k].name.len + 32;
        }
    }

    out->data = ngx_pnalloc(ctx->request->pool, size);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;

    if (ctx->list_sites) {
        p = ngx_cpymem(p, "{\"from\":\"", 9);
        p = ngx_http_clicktrack_stats_day_text(p, ctx->range[0].from);
        p = ngx_cpymem(p, "\",\"to\":\"", 8);
        p = ngx_http_clicktrack_stats_day_text(p, ctx->range[0].to);
        p = ngx_cpymem(p, "\",\"sites\":", 10);
        p = ngx_http_clicktrack_stats_rows_json(p, &ctx->sites,
                                                ctx->sites.nelts);
        p = ngx_cpymem(p, "}\n", 2);

        out->len = p - out->data;
        return NGX_OK;
    }

    p = ngx_cpymem(p, "{\"site\":", 8);

    if (ctx->site.len) {
        *p++ = '"';
        p = ngx_http_clicktrack_record_escape(p, ctx->site.data,
                                              ctx->site.len);
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    *p++ = ',';
    p = ngx_http_clicktrack_stats_range_json(p, ctx, &ctx->range[0]);

    for (i = 0; i < NGX_HTTP_CLICKTRACK_ROLLUP_NTABLES; i++) {
        p = ngx_sprintf(p, ",\"%s\":",
                        ngx_http_clicktrack_rollup_table_names[i]);
        p = ngx_http_clicktrack_stats_rows_json(p, &ctx->tables[i],
                                                ctx->limit);
    }

    if (ctx->ranges == 2) {
        p = ngx_cpymem(p, ",\"compare\":{", 12);
        p = ngx_http_clicktrack_stats_range_json(p, ctx, &ctx->range[1]);
        *p++ = '}';
    }

    p = ngx_cpymem(p, "}\n", 2);

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * "from", "to", "totals", "series" of a range; for the asked one "tz" and
 * "interval" after "to", "now" before "series"
 */

static u_char *
ngx_http_clicktrack_stats_range_json(u_char *p,
    ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_http_clicktrack_stats_range_t *rg)
{
    ngx_uint_t  i, bounced;

    p = ngx_cpymem(p, "\"from\":\"", 8);
    p = ngx_http_clicktrack_stats_day_text(p, rg->from);
    p = ngx_cpymem(p, "\",\"to\":\"", 8);
    p = ngx_http_clicktrack_stats_day_text(p, rg->to);
    *p++ = '"';

    if (rg == &ctx->range[0]) {
        p = ngx_sprintf(p, ",\"tz\":\"%V\",\"interval\":\"%s\"",
                        &ctx->tz_text, ctx->hourly ? "hour" : "day");
    }

    p = ngx_sprintf(p, ",\"totals\":{\"visitors\":%ui,\"visits\":%ui,"
                    "\"pageviews\":%ui,\"events\":%ui,",
                    rg->total_visitors, rg->total_visits,
                    rg->total_pageviews, rg->events);

    /*
     * Both over the visits with a pageview, summed by day: the share of
     * them with one pageview, in hundredths, and their mean visible time,
     * in seconds, both rounded; the time is null without engage events
     * (docs/stats.md)
     */

    if (rg->viewed == 0) {
        p = ngx_cpymem(p, "\"bounce_rate\":null,", 19);

    } else {
        bounced = (rg->multi < rg->viewed) ? rg->viewed - rg->multi : 0;
        i = (bounced * 100 + rg->viewed / 2) / rg->viewed;

        p = ngx_sprintf(p, "\"bounce_rate\":%ui.%02ui,", i / 100, i % 100);
    }

    if (rg->viewed == 0 || rg->engaged == 0) {
        p = ngx_cpymem(p, "\"visit_duration\":null}", 22);

    } else {
        p = ngx_sprintf(p, "\"visit_duration\":%ui}",
                        (rg->engaged + rg->viewed * 500)
                        / (rg->viewed * 1000));
    }

    if (rg == &ctx->range[0]) {
        p = ngx_sprintf(p, ",\"now\":{\"visitors\":%ui}", ctx->now);
    }

    p = ngx_cpymem(p, ",\"series\":[", 11);

    for (i = 0; i < rg->npoints; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "{\"t\":\"", 6);
        p = ngx_http_clicktrack_stats_point(p, ctx, rg, i);
        p = ngx_sprintf(p, "\",\"visitors\":%ui,\"pageviews\":%ui}",
                        rg->visitors[i], rg->pageviews[i]);
    }

    *p++ = ']';

    return p;
}


/* a point's time: "2026-12-01", or "2026-12-01T13" for an hour */

static u_char *
ngx_http_clicktrack_stats_point(u_char *p,
    ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_http_clicktrack_stats_range_t *rg, ngx_uint_t i)
{
    if (ctx->hourly) {
        p = ngx_http_clicktrack_stats_day_text(p, rg->from);
        return ngx_sprintf(p, "T%02ui", i);
    }

    return ngx_http_clicktrack_stats_day_text(p, rg->from + i);
}


static u_char *
ngx_http_clicktrack_stats_rows_json(u_char *p, ngx_array_t *rows,
    ngx_uint_t limit)
{
    ngx_uint_t                        i;
    ngx_http_clicktrack_stats_row_t  *row;

    row = rows->elts;

    *p++ = '[';

    for (i = 0; i < rows->nelts && i < limit; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "[\"", 2);
        p = ngx_http_clicktrack_record_escape(p, row[i].name.data,
                                              row[i].name.len);
        p = ngx_sprintf(p, "\",%ui]", row[i].count);
    }

    *p++ = ']';

    return p;
}


/* one table, or the series, as CSV (RFC 4180), with a file name */

static ngx_int_t
ngx_http_clicktrack_stats_csv(ngx_http_clicktrack_stats_ctx_t *ctx,
    ngx_str_t *out)
{
    u_char                            *p, *s, *name;
    size_t                             size;
    ngx_str_t                          v;
    ngx_uint_t                         i, k;
    ngx_array_t                       *rows;
    ngx_http_clicktrack_stats_row_t   *row;
    ngx_http_clicktrack_stats_range_t *rg;

    rg = &ctx->range[0];
    rows = NULL;
    row = NULL;

    if (ctx->table == NGX_HTTP_CLICKTRACK_STATS_SERIES) {
        name = (u_char *) "series";
        size = 64 + rg->npoints * 64;

    } else {
        name = (u_char *) ngx_http_clicktrack_rollup_table_names[ctx->table];
        rows = &ctx->tables[ctx->table];
        row = rows->elts;
        size = 64;

        for (i = 0; i < rows->nelts; i++) {
            size += 2 * row[i].name.len + 3 + NGX_INT_T_LEN + 3;
        }
    }

    out->data = ngx_pnalloc(ctx->request->pool, size);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;

    if (rows == NULL) {
        p = ngx_cpymem(p, "t,visitors,pageviews\r\n", 22);

        for (i = 0; i < rg->npoints; i++) {
            p = ngx_http_clicktrack_stats_point(p, ctx, rg, i);
            p = ngx_sprintf(p, ",%ui,%ui\r\n", rg->visitors[i],
                            rg->pageviews[i]);
        }

    } else {
        p = ngx_cpymem(p, "name,count\r\n", 12);

        for (i = 0; i < rows->nelts && i < ctx->limit; i++) {
            /* quoted when it holds a comma, a quote or a line break */

            for (k = 0; k < row[i].name.len; k++) {
                s = &row[i].name.data[k];

                if (*s == ',' || *s == '"' || *s == '\r' || *s == '\n') {
                    break;
                }
            }

            if (k == row[i].name.len) {
                p = ngx_cpymem(p, row[i].name.data, row[i].name.len);

            } else {
                *p++ = '"';

                for (k = 0; k < row[i].name.len; k++) {
                    if (row[i].name.data[k] == '"') {
                        *p++ = '"';
                    }

                    *p++ = row[i].name.data[k];
                }

                *p++ = '"';
            }

            p = ngx_sprintf(p, ",%ui\r\n", row[i].count);
        }
    }

    out->len = p - out->data;

    /* clicktrack-SITE-TABLE-FROM-TO.csv: the site holds no quote */

    v.len = sizeof("attachment; filename=\"clicktrack----.csv\"") - 1
            + ctx->site.len + ngx_strlen(name) + 20;
    v.data = ngx_pnalloc(ctx->request->pool, v.len);
    if (v.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(v.data, "attachment; filename=\"clicktrack-%V-%s-",
                    &ctx->site, name);
    p = ngx_http_clicktrack_stats_day_text(p, rg->from);
    *p++ = '-';
    p = ngx_http_clicktrack_stats_day_text(p, rg->to);
    p = ngx_cpymem(p, ".csv\"", 5);
    v.len = p - v.data;

    return ngx_http_clicktrack_add_header(ctx->request,
                                          "Content-Disposition", &v);
}


/* by count, the largest first; ties by name */

static int ngx_libc_cdecl
ngx_http_clicktrack_stats_cmp(const void *one, const void *two)
{
    const ngx_http_clicktrack_stats_row_t  *a = one;
    const ngx_http_clicktrack_stats_row_t  *b = two;

    ngx_int_t  rc;

    if (a->count != b->count) {
        return (a->count > b->count) ? -1 : 1;
    }

    rc = ngx_memn2cmp(a->name.data, b->name.data, a->name.len, b->name.len);

    return (int) rc;
}
