
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_stream.h"
#include "ngx_http_clicktrack_beacon.h"


/*
 * clicktrack_stream, the output: Server-Sent Events (the headers, the
 * backlog, live messages, pings, a client too slow to keep up), the JSON
 * and CSV exports, and the answers that end a request early (400, 503).
 */


#define NGX_HTTP_CLICKTRACK_CSV_COLUMNS                                       \
    (sizeof(ngx_http_clicktrack_stream_csv) / sizeof(ngx_uint_t))


static ngx_int_t ngx_http_clicktrack_stream_export(
    ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e, ngx_uint_t n);
static size_t ngx_http_clicktrack_stream_csv_field(u_char *dst, ngx_str_t *v,
    u_char *tmp);
static void ngx_http_clicktrack_stream_writer(ngx_http_request_t *r);
static ngx_int_t ngx_http_clicktrack_stream_set(ngx_http_request_t *r,
    char *key, char *value);


/* the CSV columns (SPEC section 6), in their order */

static ngx_uint_t  ngx_http_clicktrack_stream_csv[] = {
    NGX_HTTP_CLICKTRACK_F_ID,
    NGX_HTTP_CLICKTRACK_F_TS,
    NGX_HTTP_CLICKTRACK_F_TYPE,
    NGX_HTTP_CLICKTRACK_F_CATEGORY,
    NGX_HTTP_CLICKTRACK_F_LABEL,
    NGX_HTTP_CLICKTRACK_F_URL,
    NGX_HTTP_CLICKTRACK_F_REFERRER,
    NGX_HTTP_CLICKTRACK_F_VISITOR,
    NGX_HTTP_CLICKTRACK_F_SESSION,
    NGX_HTTP_CLICKTRACK_F_USER,
    NGX_HTTP_CLICKTRACK_F_HOST,
    NGX_HTTP_CLICKTRACK_F_IP
};


/* the query's reply: the export, or the stream's start */

void
ngx_http_clicktrack_stream_answer(ngx_http_clicktrack_stream_ctx_t *ctx,
    redisReply *reply)
{
    ngx_int_t                            rc;
    ngx_uint_t                           n;
    ngx_http_request_t                  *r;
    ngx_http_clicktrack_stream_entry_t  *e;

    r = ctx->request;

    if (ngx_http_clicktrack_stream_entries(r, reply, &e, &n) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->format != NGX_HTTP_CLICKTRACK_SSE) {
        ngx_http_finalize_request(r,
                                 ngx_http_clicktrack_stream_export(ctx, e, n));
        return;
    }

    /* XREVRANGE is newest first, XRANGE oldest first */

    rc = ngx_http_clicktrack_stream_begin(ctx, e, n, ctx->resuming ? 0 : 1);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * The stream's headers, the backlog oldest first, then what arrived live
 * meanwhile; from here on the reader feeds the client.
 */

ngx_int_t
ngx_http_clicktrack_stream_begin(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e, ngx_uint_t n, ngx_uint_t newest)
{
    u_char                             *p;
    size_t                              size;
    ngx_int_t                           rc;
    ngx_uint_t                          i, k;
    ngx_chain_t                        *cl;
    ngx_http_request_t                 *r;
    ngx_http_clicktrack_stream_held_t  *h, *next;

    r = ctx->request;

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);

    if (ngx_http_clicktrack_stream_set(r, "Cache-Control", "no-cache")
        != NGX_OK
        || ngx_http_clicktrack_stream_set(r, "X-Accel-Buffering", "no")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    ctx->counted = 1;
    ngx_http_clicktrack_gauge(ctx->hub->mcf->counters, stream_clients, 1);

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_clicktrack_stream_writer;

    /* a graceful shutdown or reload closes the stream at once */
    r->connection->idle = 1;

    /* the newest id of the reply, filtered or not, bounds the held ones */

    if (ctx->resuming) {
        ctx->last = ctx->resume;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_clicktrack_stream_cmp(&e[i].id, &ctx->last) > 0) {
            ctx->last = e[i].id;
        }
    }

    size = sizeof(": clicktrack\n\n") - 1;

    for (i = 0; i < n; i++) {
        if (ngx_http_clicktrack_stream_match(ctx, &e[i])) {
            size += ngx_http_clicktrack_stream_message_size(&e[i]);
        }
    }

    for (h = ctx->held; h != NULL; h = h->next) {
        if (ngx_http_clicktrack_stream_cmp(&h->id, &ctx->last) > 0) {
            size += h->len;
        }
    }

    cl = ngx_http_clicktrack_stream_buf(ctx, size);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    /* the headers go out at once, even with no backlog */

    p = ngx_cpymem(cl->buf->last, ": clicktrack\n\n",
                   sizeof(": clicktrack\n\n") - 1);

    for (i = 0; i < n; i++) {
        k = newest ? n - 1 - i : i;

        if (ngx_http_clicktrack_stream_match(ctx, &e[k])) {
            p = ngx_http_clicktrack_stream_message(p, &e[k]);
        }
    }

    for (h = ctx->held; h != NULL; h = next) {
        next = h->next;

        if (ngx_http_clicktrack_stream_cmp(&h->id, &ctx->last) > 0) {
            p = ngx_cpymem(p, h->data, h->len);
            ctx->last = h->id;
        }

        ngx_free(h);
    }

    ctx->held = NULL;
    ctx->held_bytes = 0;
    ctx->loading = 0;

    cl->buf->last = p;

    ngx_http_clicktrack_stream_send(ctx, cl);

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_stream_export(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e, ngx_uint_t n)
{
    char                *type;
    u_char              *p, *tmp;
    size_t               size, longest;
    ngx_str_t           *v, body;
    ngx_uint_t           i, k, f, col, first, json;
    ngx_http_request_t  *r;

    r = ctx->request;

    /*
     * read once: the clang static analyzer cannot tell that
     * ngx_http_clicktrack_stream_match() leaves ctx->format alone, and
     * would follow a JSON export into the CSV writer with no tmp buffer
     */

    json = (ctx->format == NGX_HTTP_CLICKTRACK_JSON);
    longest = 0;

    if (json) {
        size = sizeof("[]\n");

        for (i = 0; i < n; i++) {
            size += e[i].json.len + 1;
        }

    } else {
        size = sizeof("\r\n") - 1;

        for (f = 0; f < NGX_HTTP_CLICKTRACK_CSV_COLUMNS; f++) {
            col = ngx_http_clicktrack_stream_csv[f];
            size += ngx_http_clicktrack_record_names[col].len + 1;
        }

        for (i = 0; i < n; i++) {

            /* at worst every byte a doubled quote, plus the two quotes */

            for (f = 0; f < NGX_HTTP_CLICKTRACK_CSV_COLUMNS; f++) {
                v = &e[i].field[ngx_http_clicktrack_stream_csv[f]];
                size += 2 * v->len + 3;

                if (v->len > longest) {
                    longest = v->len;
                }
            }

            size += 2;
        }
    }

    body.data = ngx_pnalloc(r->pool, size);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tmp = NULL;

    if (longest) {
        tmp = ngx_pnalloc(r->pool, longest);
        if (tmp == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    p = body.data;
    first = 1;

    if (json) {
        *p++ = '[';

    } else {
        for (f = 0; f < NGX_HTTP_CLICKTRACK_CSV_COLUMNS; f++) {
            if (f) {
                *p++ = ',';
            }

            col = ngx_http_clicktrack_stream_csv[f];
            v = &ngx_http_clicktrack_record_names[col];
            p = ngx_cpymem(p, v->data, v->len);
        }

        *p++ = '\r';
        *p++ = '\n';
    }

    /* XREVRANGE: newest first; the export is oldest first */

    for (i = 0; i < n; i++) {
        k = n - 1 - i;

        if (!ngx_http_clicktrack_stream_match(ctx, &e[k])) {
            continue;
        }

        if (json) {
            if (!first) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, e[k].json.data, e[k].json.len);
            first = 0;
            continue;
        }

        for (f = 0; f < NGX_HTTP_CLICKTRACK_CSV_COLUMNS; f++) {
            if (f) {
                *p++ = ',';
            }

            v = &e[k].field[ngx_http_clicktrack_stream_csv[f]];
            p += ngx_http_clicktrack_stream_csv_field(p, v, tmp);
        }

        *p++ = '\r';
        *p++ = '\n';
    }

    if (json) {
        *p++ = ']';
        *p++ = '\n';
        type = "application/json";

    } else {
        type = "text/csv; charset=utf-8";

        if (ngx_http_clicktrack_stream_set(r, "Content-Disposition",
                "attachment; filename=\"clicktrack-events.csv\"")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    body.len = p - body.data;

    if (ngx_http_clicktrack_stream_set(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_clicktrack_send(r, NGX_HTTP_OK, type, &body);
}


/*
 * One CSV field (RFC 4180) from a raw JSON value: unescaped to UTF-8,
 * quoted when it holds a comma, a quote or a line break, quotes doubled.
 */

static size_t
ngx_http_clicktrack_stream_csv_field(u_char *dst, ngx_str_t *v, u_char *tmp)
{
    u_char      *p, *s;
    size_t       len;
    ngx_uint_t   i, quote;

    if (v->len == 0) {
        return 0;
    }

    len = ngx_http_clicktrack_record_unescape(tmp, v->data,
                                              v->data + v->len);
    quote = 0;

    for (i = 0; i < len; i++) {
        if (tmp[i] == ',' || tmp[i] == '"' || tmp[i] == '\r'
            || tmp[i] == '\n')
        {
            quote = 1;
            break;
        }
    }

    if (!quote) {
        ngx_memcpy(dst, tmp, len);
        return len;
    }

    p = dst;
    *p++ = '"';

    for (s = tmp; s < tmp + len; s++) {
        if (*s == '"') {
            *p++ = '"';
        }

        *p++ = *s;
    }

    *p++ = '"';

    return p - dst;
}


/* "id: ID\nevent: TYPE\ndata: JSON\n\n", a data line per line of JSON */

size_t
ngx_http_clicktrack_stream_message_size(
    ngx_http_clicktrack_stream_entry_t *e)
{
    size_t   size;
    u_char  *p, *last;

    size = sizeof("id: \n") - 1 + e->id_text.len
           + sizeof("event: \n") - 1 + e->field[NGX_HTTP_CLICKTRACK_F_TYPE].len
           + sizeof("data: \n\n") - 1 + e->json.len;

    last = e->json.data + e->json.len;

    for (p = e->json.data; p < last; p++) {
        if (*p == '\n' || *p == '\r') {
            size += sizeof("data: ") - 1;
        }
    }

    return size;
}


u_char *
ngx_http_clicktrack_stream_message(u_char *p,
    ngx_http_clicktrack_stream_entry_t *e)
{
    u_char      *s, *last;
    ngx_str_t   *type;
    ngx_uint_t   i;

    p = ngx_cpymem(p, "id: ", 4);
    p = ngx_cpymem(p, e->id_text.data, e->id_text.len);
    *p++ = '\n';

    /* an event name only from a valid type: it ends at a line break */

    type = &e->field[NGX_HTTP_CLICKTRACK_F_TYPE];

    for (i = 0; i < type->len; i++) {
        if (type->data[i] <= ' ' || type->data[i] == '\\') {
            break;
        }
    }

    if (type->len && i == type->len) {
        p = ngx_cpymem(p, "event: ", 7);
        p = ngx_cpymem(p, type->data, type->len);
        *p++ = '\n';
    }

    p = ngx_cpymem(p, "data: ", 6);

    last = e->json.data + e->json.len;

    for (s = e->json.data; s < last; s++) {
        if (*s == '\n' || *s == '\r') {
            p = ngx_cpymem(p, "\ndata: ", 7);
            continue;
        }

        *p++ = *s;
    }

    *p++ = '\n';
    *p++ = '\n';

    return p;
}


/* a live message for a client still waiting for its backlog */

void
ngx_http_clicktrack_stream_hold(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e)
{
    size_t                              size;
    ngx_http_clicktrack_stream_held_t  *h;

    size = ngx_http_clicktrack_stream_message_size(e);

    if (ctx->held_bytes + size > NGX_HTTP_CLICKTRACK_MAX_UNSENT) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "clicktrack: stream client's backlog too slow, "
                      "closing it");
        ctx->why = "clicktrack: live events outran the backlog, "
                   "ask for a smaller one";
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    h = ngx_alloc(offsetof(ngx_http_clicktrack_stream_held_t, data) + size,
                  ctx->request->connection->log);
    if (h == NULL) {
        ctx->why = "clicktrack: out of memory";
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    h->next = NULL;
    h->id = e->id;
    h->len = ngx_http_clicktrack_stream_message(h->data, e) - h->data;

    *ctx->held_last = h;
    ctx->held_last = &h->next;
    ctx->held_bytes += size;
}


/*
 * An output buffer of at least "size" bytes, reused once sent: a stream
 * that lives for days must not grow its request's pool.
 */

ngx_chain_t *
ngx_http_clicktrack_stream_buf(ngx_http_clicktrack_stream_ctx_t *ctx,
    size_t size)
{
    u_char              *start;
    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r;

    r = ctx->request;

    cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
    if (cl == NULL) {
        return NULL;
    }

    b = cl->buf;

    if (b->start == NULL || (size_t) (b->end - b->start) < size) {

        if (size < 4096) {
            size = 4096;
        }

        start = ngx_alloc(size, r->connection->log);
        if (start == NULL) {
            /* keep the buf for the cleanup to find */
            cl->next = ctx->free;
            ctx->free = cl;
            return NULL;
        }

        if (b->start != NULL) {
            ngx_free(b->start);
        }

        b->start = start;
        b->end = start + size;
    }

    b->pos = b->start;
    b->last = b->start;
    b->memory = 1;
    b->flush = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_clicktrack_stream_handler;

    return cl;
}


void
ngx_http_clicktrack_stream_send(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_chain_t *out)
{
    off_t                      unsent;
    ngx_int_t                  rc;
    ngx_chain_t               *cl;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = ctx->request;
    c = r->connection;

    rc = ngx_http_output_filter(r, out);

    ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &out,
                          (ngx_buf_tag_t) &ngx_http_clicktrack_stream_handler);

    if (rc == NGX_ERROR || c->error) {
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    unsent = 0;

    for (cl = ctx->busy; cl != NULL; cl = cl->next) {
        unsent += ngx_buf_size(cl->buf);
    }

    if (unsent > NGX_HTTP_CLICKTRACK_MAX_UNSENT) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "clicktrack: stream client not keeping up, %O bytes "
                      "unsent, closing it", unsent);
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (unsent > 0 || c->buffered) {
        if (!c->write->timer_set) {
            ngx_add_timer(c->write, clcf->send_timeout);
        }

        if (ngx_handle_write_event(c->write, clcf->send_lowat) != NGX_OK) {
            ngx_http_clicktrack_stream_close_later(ctx);
            return;
        }

    } else if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    ngx_add_timer(&ctx->ping, NGX_HTTP_CLICKTRACK_PING);
}


static void
ngx_http_clicktrack_stream_writer(ngx_http_request_t *r)
{
    ngx_event_t                       *wev;
    ngx_pool_cleanup_t                *cln;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    wev = r->connection->write;

    /* the module's request context is the beacon's: ours is the cleanup's */

    ctx = NULL;

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_clicktrack_stream_cleanup) {
            ctx = cln->data;
            break;
        }
    }

    if (ctx == NULL || ctx->done) {
        return;
    }

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, NGX_ETIMEDOUT,
                      "clicktrack: stream client timed out");
        r->connection->timedout = 1;
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    ngx_http_clicktrack_stream_send(ctx, NULL);
}


void
ngx_http_clicktrack_stream_ping(ngx_event_t *ev)
{
    ngx_chain_t                       *cl;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    ctx = ev->data;

    if (ctx->done || ctx->loading) {
        return;
    }

    cl = ngx_http_clicktrack_stream_buf(ctx, sizeof(": ping\n\n") - 1);
    if (cl == NULL) {
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    cl->buf->last = ngx_cpymem(cl->buf->last, ": ping\n\n",
                               sizeof(": ping\n\n") - 1);

    ngx_http_clicktrack_stream_send(ctx, cl);

    ngx_http_run_posted_requests(ctx->request->connection);
}


/* a short text/plain answer; with "retry", a Retry-After in seconds */

ngx_int_t
ngx_http_clicktrack_stream_text(ngx_http_request_t *r, ngx_uint_t status,
    char *text, ngx_msec_t retry)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   v;

    if (retry) {
        v.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (v.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        v.len = ngx_sprintf(v.data, "%M", (retry + 999) / 1000) - v.data;

        if (ngx_http_clicktrack_add_header(r, "Retry-After", &v)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_clicktrack_stream_set(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(text);

    v.len = len + 1;

    v.data = ngx_pnalloc(r->pool, v.len);
    if (v.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(v.data, text, len);
    *p = '\n';

    return ngx_http_clicktrack_send(r, status, "text/plain", &v);
}


static ngx_int_t
ngx_http_clicktrack_stream_set(ngx_http_request_t *r, char *key, char *value)
{
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_http_clicktrack_add_header(r, key, &v);
}


/* Redis went away before the request's answer started: 503 */

void
ngx_http_clicktrack_stream_unavailable(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    ngx_http_request_t  *r;

    r = ctx->request;

    if (r->header_sent) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    /*
     * ctx->queue links a request into hub->waiting or hub->clients, never
     * both, and ngx_http_clicktrack_stream_run_waiting() has taken it out
     * of hub->waiting before it comes here with attached 0; the clang
     * static analyzer does not know the two flags exclude each other.
     */

    if (ctx->attached) {
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
        ngx_queue_remove(&ctx->queue);
        ctx->attached = 0;
        ctx->loading = 0;
    }

    if (ctx->why == NULL) {
        ctx->why = "clicktrack: redis is unreachable";
    }

    ngx_http_finalize_request(r,
               ngx_http_clicktrack_stream_text(r,
                                   NGX_HTTP_SERVICE_UNAVAILABLE, ctx->why,
                                   ngx_http_clicktrack_stream_retry(ctx->hub)));
}
