
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_stream.h"
#include "ngx_http_clicktrack_beacon.h"


/*
 * clicktrack_stream, the request side: the arguments, the filters an
 * entry must pass, the request's cleanup, the location's checks.  The
 * per-worker hub (ngx_http_clicktrack_stream_hub.c) has the Redis side,
 * ngx_http_clicktrack_stream_output.c what the client is sent.
 */


static ngx_int_t ngx_http_clicktrack_stream_args(ngx_http_request_t *r,
    ngx_http_clicktrack_stream_ctx_t *ctx, char **fault);
static ngx_int_t ngx_http_clicktrack_stream_arg(ngx_http_request_t *r,
    char *name, ngx_str_t *value);
static ngx_int_t ngx_http_clicktrack_stream_number(ngx_str_t *value,
    ngx_uint_t max, ngx_uint_t *n);
static ngx_int_t ngx_http_clicktrack_stream_types(ngx_str_t *value,
    ngx_http_clicktrack_stream_ctx_t *ctx);
static ngx_table_elt_t *ngx_http_clicktrack_stream_header(
    ngx_http_request_t *r, char *name);
static void ngx_http_clicktrack_stream_close(ngx_event_t *ev);


ngx_int_t
ngx_http_clicktrack_stream_handler(ngx_http_request_t *r)
{
    char                              *fault;
    ngx_int_t                          rc;
    ngx_str_t                          allow;
    ngx_pool_cleanup_t                *cln;
    ngx_http_clicktrack_stream_hub_t  *hub;
    ngx_http_clicktrack_stream_ctx_t  *ctx;
    ngx_http_clicktrack_loc_conf_t    *lcf;
    ngx_http_clicktrack_main_conf_t   *mcf;

    if (r->method != NGX_HTTP_GET) {
        ngx_str_set(&allow, "GET");

        if (ngx_http_clicktrack_add_header(r, "Allow", &allow)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_clicktrack_stream_text(r, NGX_HTTP_NOT_ALLOWED,
                                   "clicktrack: the stream answers GET only",
                                   0);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_clicktrack_stream_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;

    if (ngx_http_clicktrack_stream_args(r, ctx, &fault) != NGX_OK) {
        return ngx_http_clicktrack_stream_text(r, NGX_HTTP_BAD_REQUEST,
                                               fault, 0);
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_clicktrack_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);

    /* the location's stream among the hub's, found when merging */
    ctx->key = lcf->stream_key;

    hub = ngx_http_clicktrack_stream_hub(mcf);
    if (hub == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_clicktrack_stream_cleanup;
    cln->data = ctx;

    ctx->hub = hub;
    hub->users++;

    ctx->ping.handler = ngx_http_clicktrack_stream_ping;
    ctx->ping.data = ctx;
    ctx->ping.log = r->connection->log;
    ctx->ping.cancelable = 1;

    ctx->close.handler = ngx_http_clicktrack_stream_close;
    ctx->close.data = ctx;
    ctx->close.log = r->connection->log;

    if (ctx->format == NGX_HTTP_CLICKTRACK_SSE) {
        ctx->sse = 1;
        hub->nclients++;
    }

    if (!hub->query_open) {
        hub->query_open = 1;
        ngx_http_clicktrack_redis_open(&hub->query);
    }

    if (ctx->sse && !hub->reader_open) {
        hub->reader_open = 1;
        ngx_http_clicktrack_redis_open(&hub->reader);
    }

    if (ngx_http_clicktrack_stream_failing(ctx)) {
        return ngx_http_clicktrack_stream_text(r,
                                    NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "clicktrack: redis is unreachable",
                                    ngx_http_clicktrack_stream_retry(hub));
    }

    r->main->count++;

    if (ngx_http_clicktrack_stream_can_start(ctx)) {
        ngx_http_clicktrack_stream_start(ctx);

    } else {
        ctx->waiting = 1;
        ngx_queue_insert_tail(&hub->waiting, &ctx->queue);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_clicktrack_stream_args(ngx_http_request_t *r,
    ngx_http_clicktrack_stream_ctx_t *ctx, char **fault)
{
    u_char            ch;
    ngx_str_t         value;
    ngx_uint_t        n;
    ngx_table_elt_t  *h;

    ctx->format = NGX_HTTP_CLICKTRACK_SSE;

    if (ngx_http_clicktrack_stream_arg(r, "format", &value) == NGX_OK) {

        if (value.len == 3 && ngx_strncmp(value.data, "sse", 3) == 0) {
            ctx->format = NGX_HTTP_CLICKTRACK_SSE;

        } else if (value.len == 4 && ngx_strncmp(value.data, "json", 4) == 0)
        {
            ctx->format = NGX_HTTP_CLICKTRACK_JSON;

        } else if (value.len == 3 && ngx_strncmp(value.data, "csv", 3) == 0) {
            ctx->format = NGX_HTTP_CLICKTRACK_CSV;

        } else {
            *fault = "format: sse, json or csv";
            return NGX_ERROR;
        }
    }

    /* both defaults are 100 today, but they are separate settings */

    ctx->count = (ctx->format == NGX_HTTP_CLICKTRACK_SSE)
                 /* NOLINTNEXTLINE(bugprone-branch-clone) */
                 ? NGX_HTTP_CLICKTRACK_BACKLOG : NGX_HTTP_CLICKTRACK_LIMIT;

    if (ngx_http_clicktrack_stream_arg(r, "backlog", &value) == NGX_OK) {
        if (ngx_http_clicktrack_stream_number(&value,
                                              NGX_HTTP_CLICKTRACK_BACKLOG_MAX,
                                              &n)
            != NGX_OK)
        {
            *fault = "backlog: a number from 0 to 1000";
            return NGX_ERROR;
        }

        if (ctx->format == NGX_HTTP_CLICKTRACK_SSE) {
            ctx->count = n;
        }
    }

    if (ngx_http_clicktrack_stream_arg(r, "limit", &value) == NGX_OK) {
        if (ngx_http_clicktrack_stream_number(&value,
                                              NGX_HTTP_CLICKTRACK_LIMIT_MAX,
                                              &n)
            != NGX_OK)
        {
            *fault = "limit: a number from 0 to 10000";
            return NGX_ERROR;
        }

        if (ctx->format != NGX_HTTP_CLICKTRACK_SSE) {
            ctx->count = n;
        }
    }

    /* the header (an EventSource reconnecting) is newer than the URL's */

    h = ngx_http_clicktrack_stream_header(r, "Last-Event-ID");

    if (h != NULL) {
        if (ngx_http_clicktrack_stream_parse_id(h->value.data, h->value.len,
                                                &ctx->resume)
            != NGX_OK)
        {
            *fault = "Last-Event-ID: a stream entry id such as 1700000000000-0";
            return NGX_ERROR;
        }

        ctx->resuming = 1;

    } else if (ngx_http_clicktrack_stream_arg(r, "last_event_id", &value)
               == NGX_OK)
    {
        if (ngx_http_clicktrack_stream_parse_id(value.data, value.len,
                                                &ctx->resume)
            != NGX_OK)
        {
            *fault = "last_event_id: a stream entry id such as "
                     "1700000000000-0";
            return NGX_ERROR;
        }

        ctx->resuming = 1;
    }

    if (ngx_http_clicktrack_stream_arg(r, "type", &value) == NGX_OK) {
        if (ngx_http_clicktrack_stream_types(&value, ctx) != NGX_OK) {
            *fault = "type: up to 16 comma-separated types, "
                     "each 1-32 of [a-z0-9_.:-]";
            return NGX_ERROR;
        }
    }

    if (ngx_http_clicktrack_stream_arg(r, "visitor", &ctx->visitor)
        == NGX_OK)
    {
        for (n = 0; n < ctx->visitor.len; n++) {
            ch = ctx->visitor.data[n];

            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                  || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            {
                break;
            }
        }

        if (ctx->visitor.len < 8 || ctx->visitor.len > 64
            || n != ctx->visitor.len)
        {
            *fault = "visitor: 8-64 of [A-Za-z0-9_-]";
            return NGX_ERROR;
        }
    }

    if (ngx_http_clicktrack_stream_arg(r, "user", &value) == NGX_OK) {

        if (ngx_http_clicktrack_record_valid_user(value.data, value.len)
            != NGX_OK)
        {
            *fault = "user: 1-128 bytes, no control characters";
            return NGX_ERROR;
        }

        /* as the record holds it: JSON-escaped */

        ctx->user.data = ngx_pnalloc(r->pool, 6 * value.len);
        if (ctx->user.data == NULL) {
            *fault = "out of memory";
            return NGX_ERROR;
        }

        ctx->user.len = ngx_http_clicktrack_record_escape(ctx->user.data,
                                                          value.data,
                                                          value.len)
                        - ctx->user.data;
    }

    if (ngx_http_clicktrack_stream_arg(r, "host", &ctx->host) == NGX_OK) {
        for (n = 0; n < ctx->host.len; n++) {
            if (ctx->host.data[n] <= ' ' || ctx->host.data[n] >= 0x7f
                || ctx->host.data[n] == '"' || ctx->host.data[n] == '\\')
            {
                break;
            }
        }

        if (ctx->host.len == 0 || ctx->host.len > 255
            || n != ctx->host.len)
        {
            *fault = "host: 1-255 printable characters, no quote, "
                     "backslash or space";
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a query argument, percent-decoded: NGX_DECLINED when absent */

static ngx_int_t
ngx_http_clicktrack_stream_arg(ngx_http_request_t *r, char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    dst = ngx_pnalloc(r->pool, raw.len + 1);
    if (dst == NULL) {
        return NGX_DECLINED;
    }

    value->data = dst;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, 0);

    value->len = dst - value->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_stream_number(ngx_str_t *value, ngx_uint_t max,
    ngx_uint_t *n)
{
    ngx_int_t  v;

    if (value->len == 0 || value->len > 6) {
        return NGX_ERROR;
    }

    v = ngx_atoi(value->data, value->len);

    if (v == NGX_ERROR || (ngx_uint_t) v > max) {
        return NGX_ERROR;
    }

    *n = (ngx_uint_t) v;

    return NGX_OK;
}


/* "click,pageview": each a valid type, folded to lower case */

static ngx_int_t
ngx_http_clicktrack_stream_types(ngx_str_t *value,
    ngx_http_clicktrack_stream_ctx_t *ctx)
{
    u_char  *p, *last, *start, ch;

    p = value->data;
    last = p + value->len;
    start = p;

    for ( ;; ) {
        if (p == last || *p == ',') {

            if (p == start || p - start > 32
                || ctx->ntypes == NGX_HTTP_CLICKTRACK_MAX_TYPES)
            {
                return NGX_ERROR;
            }

            ctx->types[ctx->ntypes].data = start;
            ctx->types[ctx->ntypes].len = p - start;
            ctx->ntypes++;

            if (p == last) {
                return NGX_OK;
            }

            start = ++p;
            continue;
        }

        ch = ngx_tolower(*p);

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
              || ch == '_' || ch == '.' || ch == ':' || ch == '-'))
        {
            return NGX_ERROR;
        }

        *p++ = ch;
    }
}


/* "MS-SEQ", each a decimal uint64 */

ngx_int_t
ngx_http_clicktrack_stream_parse_id(u_char *p, size_t len,
    ngx_http_clicktrack_stream_id_t *id)
{
    u_char      *last;
    uint64_t    *v, d;
    ngx_uint_t   part, digits;

    last = p + len;
    v = &id->ms;
    part = 0;
    digits = 0;

    id->ms = 0;
    id->seq = 0;

    for ( ; p < last; p++) {

        if (*p == '-' && part == 0 && digits > 0) {
            v = &id->seq;
            part = 1;
            digits = 0;
            continue;
        }

        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        d = *p - '0';

        if (*v > (NGX_HTTP_CLICKTRACK_UINT64_MAX - d) / 10) {
            return NGX_ERROR;
        }

        *v = *v * 10 + d;
        digits++;
    }

    return (part == 1 && digits > 0) ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_clicktrack_stream_cmp(ngx_http_clicktrack_stream_id_t *a,
    ngx_http_clicktrack_stream_id_t *b)
{
    if (a->ms != b->ms) {
        return (a->ms < b->ms) ? -1 : 1;
    }

    if (a->seq != b->seq) {
        return (a->seq < b->seq) ? -1 : 1;
    }

    return 0;
}


static ngx_table_elt_t *
ngx_http_clicktrack_stream_header(ngx_http_request_t *r, char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/*
 * The request's pool is going: whatever it held in the hub is let go of
 * here, at once.
 */

void
ngx_http_clicktrack_stream_cleanup(void *data)
{
    ngx_http_clicktrack_stream_ctx_t *ctx = data;

    ngx_chain_t                        *cl;
    ngx_http_clicktrack_stream_hub_t   *hub;
    ngx_http_clicktrack_stream_held_t  *h, *next;

    hub = ctx->hub;

    if (ctx->waiting || ctx->attached) {
        ngx_queue_remove(&ctx->queue);
        ctx->waiting = 0;
        ctx->attached = 0;
    }

    if (ctx->query != NULL) {
        /* its reply frees it */
        ctx->query->ctx = NULL;
        ctx->query = NULL;
    }

    if (ctx->ping.timer_set) {
        ngx_del_timer(&ctx->ping);
    }

    if (ctx->close.posted) {
        ngx_delete_posted_event(&ctx->close);
    }

    for (h = ctx->held; h != NULL; h = next) {
        next = h->next;
        ngx_free(h);
    }

    ctx->held = NULL;

    for (cl = ctx->free; cl != NULL; cl = cl->next) {
        ngx_free(cl->buf->start);
    }

    for (cl = ctx->busy; cl != NULL; cl = cl->next) {
        ngx_free(cl->buf->start);
    }

    ctx->free = NULL;
    ctx->busy = NULL;

    if (ctx->counted) {
        ctx->counted = 0;
        ngx_http_clicktrack_gauge(hub->mcf->counters, stream_clients, -1);
    }

    if (ctx->sse) {
        ctx->sse = 0;
        hub->nclients--;
    }

    hub->users--;

    if (!hub->exiting
        && (hub->users == 0 || (hub->nclients == 0 && hub->reader_open))
        && !hub->idle.posted)
    {
        /* not from here: this may run inside a hiredis callback */
        ngx_post_event(&hub->idle, &ngx_posted_events);
    }
}


ngx_uint_t
ngx_http_clicktrack_stream_match(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e)
{
    ngx_uint_t   i;
    ngx_str_t   *v;

    if (ctx->ntypes) {
        v = &e->field[NGX_HTTP_CLICKTRACK_F_TYPE];

        for (i = 0; i < ctx->ntypes; i++) {
            if (v->len == ctx->types[i].len
                && ngx_strncmp(v->data, ctx->types[i].data, v->len) == 0)
            {
                break;
            }
        }

        if (i == ctx->ntypes) {
            return 0;
        }
    }

    if (ctx->visitor.len) {
        v = &e->field[NGX_HTTP_CLICKTRACK_F_VISITOR];

        if (v->len != ctx->visitor.len
            || ngx_strncmp(v->data, ctx->visitor.data, v->len) != 0)
        {
            return 0;
        }
    }

    if (ctx->user.len) {
        v = &e->field[NGX_HTTP_CLICKTRACK_F_USER];

        if (v->len != ctx->user.len
            || ngx_strncmp(v->data, ctx->user.data, v->len) != 0)
        {
            return 0;
        }
    }

    if (ctx->host.len) {
        v = &e->field[NGX_HTTP_CLICKTRACK_F_HOST];

        if (v->len != ctx->host.len
            || ngx_strncasecmp(v->data, ctx->host.data, v->len) != 0)
        {
            return 0;
        }
    }

    return 1;
}


/* not from here (a hiredis callback, a loop over clients): posted */

void
ngx_http_clicktrack_stream_close_later(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    if (ctx->done) {
        return;
    }

    ctx->done = 1;

    if (ctx->ping.timer_set) {
        ngx_del_timer(&ctx->ping);
    }

    ngx_post_event(&ctx->close, &ngx_posted_events);
}


static void
ngx_http_clicktrack_stream_close(ngx_event_t *ev)
{
    ngx_connection_t                  *c;
    ngx_http_request_t                *r;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    if (r->header_sent) {
        ngx_http_finalize_request(r, NGX_ERROR);

    } else {
        ngx_http_clicktrack_stream_unavailable(ctx);
    }

    ngx_http_run_posted_requests(c);
}


char *
ngx_http_clicktrack_stream_merge(ngx_conf_t *cf,
    ngx_http_clicktrack_main_conf_t *mcf, ngx_http_clicktrack_loc_conf_t *lcf)
{
    ngx_str_t                 *key;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != ngx_http_clicktrack_stream_handler) {
        return NGX_CONF_OK;
    }

    if (lcf->recent == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"clicktrack_stream\" in location \"%V\" reads the "
                      "recent stream, but \"clicktrack_recent\" is off there",
                      &clcf->name);
        return NGX_CONF_ERROR;
    }

    if (mcf->stream == NULL) {
        mcf->stream = ngx_pcalloc(cf->pool,
                                  sizeof(ngx_http_clicktrack_stream_t));
        if (mcf->stream == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_array_init(&mcf->stream->keys, cf->pool, 2, sizeof(ngx_str_t))
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    key = mcf->stream->keys.elts;

    for (i = 0; i < mcf->stream->keys.nelts; i++) {
        if (key[i].len == lcf->recent->key.len
            && ngx_strncmp(key[i].data, lcf->recent->key.data, key[i].len)
               == 0)
        {
            lcf->stream_key = i;
            return NGX_CONF_OK;
        }
    }

    key = ngx_array_push(&mcf->stream->keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    *key = lcf->recent->key;
    lcf->stream_key = mcf->stream->keys.nelts - 1;

    return NGX_CONF_OK;
}
