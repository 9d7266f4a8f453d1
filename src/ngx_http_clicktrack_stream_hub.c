
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_stream.h"


/*
 * clicktrack_stream, the hub: the recent stream as Server-Sent Events (a
 * backlog, then live events), or exported as JSON or CSV, is read from
 * Redis here.
 *
 * Each worker has a hub with two Redis connections, open while the worker
 * has requests for them:
 *
 *   reader   XREAD BLOCK on every stream a clicktrack_stream location
 *            reads, from the last id seen; its replies are fanned out to
 *            every live client of the worker.  Open while the worker has
 *            SSE clients.
 *   query    XREVRANGE / XRANGE for backlogs, resumes and exports: one
 *            non-blocking command per request.
 *
 * A client first takes its backlog from the query connection.  Live events
 * that arrive meanwhile are held, and sent after the backlog when their id
 * is above the backlog's newest: no event is lost or sent twice.
 */


static void ngx_http_clicktrack_stream_idle(ngx_event_t *ev);
static void ngx_http_clicktrack_stream_query_ready(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_query_lost(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_query_failed(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_query_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_stream_reader_ready(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_reader_lost(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_reader_failed(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_seed_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_stream_read(
    ngx_http_clicktrack_stream_hub_t *hub);
static void ngx_http_clicktrack_stream_read_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_stream_fan_out(
    ngx_http_clicktrack_stream_hub_t *hub, ngx_uint_t key,
    redisReply *entries);
static ngx_int_t ngx_http_clicktrack_stream_entry(redisReply *r,
    ngx_http_clicktrack_stream_entry_t *e);


/* this worker's hub, made on the first request */

ngx_http_clicktrack_stream_hub_t *
ngx_http_clicktrack_stream_hub(ngx_http_clicktrack_main_conf_t *mcf)
{
    ngx_uint_t                         n;
    ngx_pool_t                        *pool;
    ngx_http_clicktrack_stream_hub_t  *hub;

    if (mcf->stream->hub != NULL) {
        return mcf->stream->hub;
    }

    pool = ngx_cycle->pool;
    n = mcf->stream->keys.nelts;

    hub = ngx_pcalloc(pool, sizeof(ngx_http_clicktrack_stream_hub_t));
    if (hub == NULL) {
        return NULL;
    }

    hub->mcf = mcf;
    hub->keys = mcf->stream->keys.elts;
    hub->nkeys = n;

    hub->pos = ngx_pcalloc(pool, n * sizeof(ngx_http_clicktrack_stream_id_t));
    hub->pos_text = ngx_pnalloc(pool, n * NGX_HTTP_CLICKTRACK_ID_LEN);

    /* XREAD COUNT c BLOCK ms STREAMS key... id... */
    hub->argv = ngx_palloc(pool, (6 + 2 * n) * sizeof(char *));
    hub->argvlen = ngx_palloc(pool, (6 + 2 * n) * sizeof(size_t));

    if (hub->pos == NULL || hub->pos_text == NULL || hub->argv == NULL
        || hub->argvlen == NULL)
    {
        return NULL;
    }

    ngx_queue_init(&hub->clients);
    ngx_queue_init(&hub->waiting);

    ngx_http_clicktrack_redis_setup(&hub->reader, mcf->redis, mcf->counters,
                                    ngx_cycle->log);
    hub->reader.ready = ngx_http_clicktrack_stream_reader_ready;
    hub->reader.lost = ngx_http_clicktrack_stream_reader_lost;
    hub->reader.failed = ngx_http_clicktrack_stream_reader_failed;
    hub->reader.data = hub;
    hub->reader.block = NGX_HTTP_CLICKTRACK_BLOCK;

    ngx_http_clicktrack_redis_setup(&hub->query, mcf->redis, mcf->counters,
                                    ngx_cycle->log);
    hub->query.ready = ngx_http_clicktrack_stream_query_ready;
    hub->query.lost = ngx_http_clicktrack_stream_query_lost;
    hub->query.failed = ngx_http_clicktrack_stream_query_failed;
    hub->query.data = hub;

    hub->idle.handler = ngx_http_clicktrack_stream_idle;
    hub->idle.data = hub;
    hub->idle.log = ngx_cycle->log;
    hub->idle.cancelable = 1;

    mcf->stream->hub = hub;

    return hub;
}


ngx_uint_t
ngx_http_clicktrack_stream_can_start(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    ngx_http_clicktrack_stream_hub_t  *hub = ctx->hub;

    if (hub->query.state != NGX_HTTP_CLICKTRACK_REDIS_READY) {
        return 0;
    }

    return !ctx->sse || hub->seeded;
}


/* a connection this request needs is between attempts: Redis is down */

ngx_uint_t
ngx_http_clicktrack_stream_failing(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    ngx_http_clicktrack_stream_hub_t  *hub = ctx->hub;

    if (hub->query.state == NGX_HTTP_CLICKTRACK_REDIS_IDLE) {
        return 1;
    }

    return ctx->sse && !hub->seeded
           && hub->reader.state == NGX_HTTP_CLICKTRACK_REDIS_IDLE;
}


/* the connections are ready: the backlog (or export) query, or live */

void
ngx_http_clicktrack_stream_start(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    int                                 argc;
    u_char                              from[NGX_HTTP_CLICKTRACK_ID_LEN];
    u_char                              count[NGX_INT_T_LEN];
    size_t                              argvlen[6];
    ngx_int_t                           rc;
    const char                         *argv[6];
    ngx_http_clicktrack_stream_id_t     next;
    ngx_http_clicktrack_stream_hub_t   *hub;
    ngx_http_clicktrack_stream_query_t *q;

    hub = ctx->hub;

    if (ctx->sse) {
        ctx->attached = 1;
        ngx_queue_insert_tail(&hub->clients, &ctx->queue);

        ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "clicktrack stream: subscribed to \"%V\", "
                       "backlog %ui%s, %ui client(s)",
                       &hub->keys[ctx->key], ctx->count,
                       ctx->resuming ? ", resuming" : "", hub->nclients);

        if (!ctx->resuming && ctx->count == 0) {
            /* no backlog: live from here on */
            ctx->last = hub->pos[ctx->key];

            rc = ngx_http_clicktrack_stream_begin(ctx, NULL, 0, 0);

            if (rc != NGX_OK) {
                ngx_http_finalize_request(ctx->request, rc);
            }

            return;
        }

        ctx->loading = 1;
        ctx->held_last = &ctx->held;
    }

    argv[1] = (const char *) hub->keys[ctx->key].data;
    argvlen[1] = hub->keys[ctx->key].len;
    argv[4] = "COUNT";
    argvlen[4] = 5;

    if (ctx->resuming) {
        /* the entries after the id: from the next possible one */

        next = ctx->resume;

        if (next.seq == NGX_HTTP_CLICKTRACK_UINT64_MAX) {
            next.ms++;
            next.seq = 0;

        } else {
            next.seq++;
        }

        argv[0] = "XRANGE";
        argvlen[0] = 6;
        argv[2] = (const char *) from;
        argvlen[2] = ngx_sprintf(from, "%uL-%uL", next.ms, next.seq) - from;
        argv[3] = "+";
        argvlen[3] = 1;
        argv[5] = (const char *) count;
        argvlen[5] = ngx_sprintf(count, "%d",
                                 NGX_HTTP_CLICKTRACK_RESUME_MAX) - count;

    } else {
        argv[0] = "XREVRANGE";
        argvlen[0] = 9;
        argv[2] = "+";
        argvlen[2] = 1;
        argv[3] = "-";
        argvlen[3] = 1;
        argv[5] = (const char *) count;
        argvlen[5] = ngx_sprintf(count, "%ui", ctx->count) - count;
    }

    argc = 6;

    if (!ctx->resuming && ctx->count == 0) {
        /* an export of nothing: no need to ask */
        ngx_http_clicktrack_stream_answer(ctx, NULL);
        return;
    }

    q = ngx_alloc(sizeof(ngx_http_clicktrack_stream_query_t),
                  ctx->request->connection->log);
    if (q == NULL) {
        ngx_http_finalize_request(ctx->request,
                                  NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    q->ctx = ctx;

    ngx_log_debug8(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "clicktrack stream: %s \"%V\" %*s %*s COUNT %*s",
                   argv[0], &hub->keys[ctx->key],
                   argvlen[2], argv[2], argvlen[3], argv[3],
                   argvlen[5], argv[5]);

    if (ngx_http_clicktrack_redis_command(&hub->query,
                                        ngx_http_clicktrack_stream_query_reply,
                                        q, argc, argv, argvlen)
        != NGX_OK)
    {
        ngx_free(q);
        ngx_http_clicktrack_stream_unavailable(ctx);
        return;
    }

    ctx->query = q;
}


/*
 * Starts the waiting requests whose connections are ready; with fail_sse
 * (the reader could not connect) or fail_all (the query connection could
 * not), answers the others 503.
 */

void
ngx_http_clicktrack_stream_run_waiting(ngx_http_clicktrack_stream_hub_t *hub,
    ngx_uint_t fail_sse, ngx_uint_t fail_all)
{
    ngx_queue_t                       *q, *next;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    for (q = ngx_queue_head(&hub->waiting);
         q != ngx_queue_sentinel(&hub->waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_clicktrack_stream_ctx_t, queue);

        if (ngx_http_clicktrack_stream_can_start(ctx)) {
            ngx_queue_remove(q);
            ctx->waiting = 0;
            ngx_http_clicktrack_stream_start(ctx);
            continue;
        }

        if (fail_all || (fail_sse && ctx->sse)) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log,
                           0, "clicktrack stream: redis unavailable");

            ngx_queue_remove(q);
            ctx->waiting = 0;
            ngx_http_clicktrack_stream_unavailable(ctx);
        }
    }
}


/* closes the connections nobody needs any more */

static void
ngx_http_clicktrack_stream_idle(ngx_event_t *ev)
{
    ngx_http_clicktrack_stream_hub_t *hub = ev->data;

    if (hub->nclients == 0 && hub->reader_open) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, hub->reader.log, 0,
                       "clicktrack stream: no client left, reader closed");

        hub->reader_open = 0;
        hub->seeded = 0;
        hub->reading = 0;
        ngx_http_clicktrack_redis_close(&hub->reader);
    }

    if (hub->users == 0 && hub->query_open) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, hub->query.log, 0,
                       "clicktrack stream: no request left, query closed");

        hub->query_open = 0;
        ngx_http_clicktrack_redis_close(&hub->query);
    }
}


void
ngx_http_clicktrack_stream_exit(ngx_http_clicktrack_main_conf_t *mcf)
{
    ngx_http_clicktrack_stream_hub_t  *hub;

    if (mcf->stream == NULL || mcf->stream->hub == NULL) {
        return;
    }

    hub = mcf->stream->hub;
    hub->exiting = 1;

    if (hub->idle.posted) {
        ngx_delete_posted_event(&hub->idle);
    }

    if (hub->reader_open) {
        hub->reader_open = 0;
        ngx_http_clicktrack_redis_close(&hub->reader);
    }

    if (hub->query_open) {
        hub->query_open = 0;
        ngx_http_clicktrack_redis_close(&hub->query);
    }
}


static void
ngx_http_clicktrack_stream_query_ready(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_redis_healthy(rc);
    ngx_http_clicktrack_stream_run_waiting(rc->data, 0, 0);
}


static void
ngx_http_clicktrack_stream_query_lost(ngx_http_clicktrack_redis_t *rc)
{
    /* the queries in flight had their callbacks with no reply: 503 */
}


static void
ngx_http_clicktrack_stream_query_failed(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_stream_hub_t *hub = rc->data;

    if (!hub->exiting) {
        ngx_http_clicktrack_stream_run_waiting(hub, 1, 1);
    }
}


static void
ngx_http_clicktrack_stream_query_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_stream_query_t *q = privdata;

    redisReply                        *r = reply;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    ctx = q->ctx;
    ngx_free(q);

    if (ctx == NULL || ctx->hub->exiting) {
        return;
    }

    ctx->query = NULL;

    if (r == NULL) {
        ngx_http_clicktrack_stream_unavailable(ctx);
        return;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "clicktrack: redis refused to read \"%V\": %*s",
                      &ctx->hub->keys[ctx->key], (size_t) r->len, r->str);

        ngx_http_finalize_request(ctx->request,
                 ngx_http_clicktrack_stream_text(ctx->request,
                                      NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "clicktrack: redis refused the read",
                                      0));
        return;
    }

    ngx_http_clicktrack_redis_healthy(&ctx->hub->query);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "clicktrack stream: query answered, %uz entries",
                   r->type == REDIS_REPLY_ARRAY ? (size_t) r->elements : 0);

    ngx_http_clicktrack_stream_answer(ctx, r);
}


/*
 * The reader: first the newest id of each stream ("seeds", so that no
 * event added after a client's backlog query escapes it), then XREAD from
 * those ids, again and again.  After a reconnection it goes on from where
 * it was.
 */

static void
ngx_http_clicktrack_stream_reader_ready(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_stream_hub_t *hub = rc->data;

    size_t       argvlen[6];
    ngx_uint_t   i;
    const char  *argv[6];

    if (hub->seeded) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                       "clicktrack stream: reader back, reading on");

        ngx_http_clicktrack_stream_read(hub);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                   "clicktrack stream: reader ready, seeding %ui stream(s)",
                   hub->nkeys);

    hub->seeds = 0;

    argv[0] = "XREVRANGE";
    argvlen[0] = 9;
    argv[2] = "+";
    argvlen[2] = 1;
    argv[3] = "-";
    argvlen[3] = 1;
    argv[4] = "COUNT";
    argvlen[4] = 5;
    argv[5] = "1";
    argvlen[5] = 1;

    for (i = 0; i < hub->nkeys; i++) {
        argv[1] = (const char *) hub->keys[i].data;
        argvlen[1] = hub->keys[i].len;

        if (ngx_http_clicktrack_redis_command(rc,
                                        ngx_http_clicktrack_stream_seed_reply,
                                        &hub->pos[i], 6, argv, argvlen)
            != NGX_OK)
        {
            ngx_http_clicktrack_redis_reset(rc, "XREVRANGE not sent");
            return;
        }

        hub->seeds++;
    }
}


static void
ngx_http_clicktrack_stream_reader_lost(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_stream_hub_t *hub = rc->data;

    hub->reading = 0;
}


static void
ngx_http_clicktrack_stream_reader_failed(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_stream_hub_t *hub = rc->data;

    if (!hub->exiting && !hub->seeded) {
        ngx_http_clicktrack_stream_run_waiting(hub, 1, 0);
    }
}


static void
ngx_http_clicktrack_stream_seed_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_stream_id_t *pos = privdata;

    redisReply                        *r = reply, *e;
    ngx_http_clicktrack_redis_t       *rc;
    ngx_http_clicktrack_stream_hub_t  *hub;

    if (r == NULL) {
        return;
    }

    rc = ac->data;
    hub = rc->data;

    if (r->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "clicktrack: redis refused to read the recent stream: "
                      "%*s", (size_t) r->len, r->str);

        /* the streams waiting for the reader would wait for ever */
        ngx_http_clicktrack_stream_run_waiting(hub, 1, 0);

        ngx_http_clicktrack_redis_reset(rc, "XREVRANGE refused");
        return;
    }

    pos->ms = 0;
    pos->seq = 0;

    if (r->elements > 0) {
        e = r->element[0];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1
            || e->element[0]->type != REDIS_REPLY_STRING
            || ngx_http_clicktrack_stream_parse_id((u_char *)
                                                   e->element[0]->str,
                                                   e->element[0]->len, pos)
               != NGX_OK)
        {
            ngx_http_clicktrack_redis_reset(rc, "XREVRANGE reply unexpected");
            return;
        }
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                   "clicktrack stream: \"%V\" seeded at %uL-%uL",
                   &hub->keys[pos - hub->pos], pos->ms, pos->seq);

    if (--hub->seeds > 0) {
        return;
    }

    hub->seeded = 1;

    ngx_http_clicktrack_redis_healthy(rc);
    ngx_http_clicktrack_stream_read(hub);
    ngx_http_clicktrack_stream_run_waiting(hub, 0, 0);
}


static void
ngx_http_clicktrack_stream_read(ngx_http_clicktrack_stream_hub_t *hub)
{
    u_char      *p;
    ngx_uint_t   i, n;

    if (hub->reading || hub->exiting || !hub->seeded
        || hub->reader.state != NGX_HTTP_CLICKTRACK_REDIS_READY)
    {
        return;
    }

    n = hub->nkeys;

    hub->argv[0] = "XREAD";
    hub->argvlen[0] = 5;
    hub->argv[1] = "COUNT";
    hub->argvlen[1] = 5;
    hub->argv[2] = NGX_HTTP_CLICKTRACK_READ_COUNT;
    hub->argvlen[2] = sizeof(NGX_HTTP_CLICKTRACK_READ_COUNT) - 1;
    hub->argv[3] = "BLOCK";
    hub->argvlen[3] = 5;
    hub->argv[4] = NGX_HTTP_CLICKTRACK_BLOCK_TEXT;
    hub->argvlen[4] = sizeof(NGX_HTTP_CLICKTRACK_BLOCK_TEXT) - 1;
    hub->argv[5] = "STREAMS";
    hub->argvlen[5] = 7;

    for (i = 0; i < n; i++) {
        hub->argv[6 + i] = (const char *) hub->keys[i].data;
        hub->argvlen[6 + i] = hub->keys[i].len;

        p = hub->pos_text + i * NGX_HTTP_CLICKTRACK_ID_LEN;

        hub->argv[6 + n + i] = (const char *) p;
        hub->argvlen[6 + n + i] = ngx_sprintf(p, "%uL-%uL", hub->pos[i].ms,
                                              hub->pos[i].seq)
                                  - p;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, hub->reader.log, 0,
                       "clicktrack stream: XREAD \"%V\" after %uL-%uL",
                       &hub->keys[i], hub->pos[i].ms, hub->pos[i].seq);
    }

    if (ngx_http_clicktrack_redis_command(&hub->reader,
                                        ngx_http_clicktrack_stream_read_reply,
                                        hub, 6 + 2 * n, hub->argv,
                                        hub->argvlen)
        != NGX_OK)
    {
        ngx_http_clicktrack_redis_reset(&hub->reader, "XREAD not sent");
        return;
    }

    hub->reading = 1;
}


static void
ngx_http_clicktrack_stream_read_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_stream_hub_t *hub = privdata;

    redisReply  *r = reply, *s;
    ngx_uint_t   i, k;

    if (r == NULL || hub->exiting) {
        /* a lost connection: "ready" reads again */
        return;
    }

    hub->reading = 0;

    if (r->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, hub->reader.log, 0,
                      "clicktrack: redis refused XREAD: %*s",
                      (size_t) r->len, r->str);
        ngx_http_clicktrack_redis_reset(&hub->reader, "XREAD refused");
        return;
    }

    ngx_http_clicktrack_redis_healthy(&hub->reader);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, hub->reader.log, 0,
                   "clicktrack stream: XREAD answered, %ui stream(s)",
                   r->type == REDIS_REPLY_ARRAY ? (ngx_uint_t) r->elements
                                                : 0);

    if (r->type == REDIS_REPLY_ARRAY) {

        /* [[key, [[id, [field, value, ...]], ...]], ...] */

        for (i = 0; i < r->elements; i++) {
            s = r->element[i];

            if (s->type != REDIS_REPLY_ARRAY || s->elements != 2
                || s->element[0]->type != REDIS_REPLY_STRING
                || s->element[1]->type != REDIS_REPLY_ARRAY)
            {
                continue;
            }

            for (k = 0; k < hub->nkeys; k++) {
                if (hub->keys[k].len == s->element[0]->len
                    && ngx_strncmp(hub->keys[k].data, s->element[0]->str,
                                   hub->keys[k].len)
                       == 0)
                {
                    ngx_http_clicktrack_stream_fan_out(hub, k,
                                                       s->element[1]);
                    break;
                }
            }
        }
    }

    /* a nil reply: BLOCK ran out with nothing new */

    ngx_http_clicktrack_stream_read(hub);
}


/* new entries of stream "key" to every client of this worker reading it */

static void
ngx_http_clicktrack_stream_fan_out(ngx_http_clicktrack_stream_hub_t *hub,
    ngx_uint_t key, redisReply *entries)
{
    u_char                              *p;
    size_t                               size;
    ngx_uint_t                           i, n;
    ngx_queue_t                         *q, *next;
    ngx_chain_t                         *cl;
    ngx_http_clicktrack_stream_ctx_t    *ctx;
    ngx_http_clicktrack_stream_entry_t  *e;

    if (entries->elements == 0) {
        return;
    }

    e = ngx_alloc(entries->elements
                  * sizeof(ngx_http_clicktrack_stream_entry_t),
                  hub->reader.log);
    if (e == NULL) {
        return;
    }

    n = 0;

    for (i = 0; i < entries->elements; i++) {
        if (ngx_http_clicktrack_stream_entry(entries->element[i], &e[n])
            == NGX_OK)
        {
            n++;
        }
    }

    if (n > 0) {
        /* entries come in id order; the reader goes on after the last */
        hub->pos[key] = e[n - 1].id;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, hub->reader.log, 0,
                   "clicktrack stream: \"%V\": %ui of %uz entries to fan "
                   "out to %ui client(s)",
                   &hub->keys[key], n, (size_t) entries->elements,
                   hub->nclients);

    for (q = ngx_queue_head(&hub->clients);
         q != ngx_queue_sentinel(&hub->clients);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_clicktrack_stream_ctx_t, queue);

        if (ctx->key != key || ctx->done) {
            continue;
        }

        if (ctx->loading) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log,
                           0, "clicktrack stream: live entries held until "
                           "the backlog is sent");

            for (i = 0; i < n; i++) {
                if (ngx_http_clicktrack_stream_match(ctx, &e[i])) {
                    ngx_http_clicktrack_stream_hold(ctx, &e[i]);
                }
            }

            continue;
        }

        size = 0;

        for (i = 0; i < n; i++) {
            if (ngx_http_clicktrack_stream_cmp(&e[i].id, &ctx->last) > 0
                && ngx_http_clicktrack_stream_match(ctx, &e[i]))
            {
                size += ngx_http_clicktrack_stream_message_size(&e[i]);
            }
        }

        if (size == 0) {
            continue;
        }

        cl = ngx_http_clicktrack_stream_buf(ctx, size);
        if (cl == NULL) {
            ngx_http_clicktrack_stream_close_later(ctx);
            continue;
        }

        p = cl->buf->last;

        for (i = 0; i < n; i++) {
            if (ngx_http_clicktrack_stream_cmp(&e[i].id, &ctx->last) > 0
                && ngx_http_clicktrack_stream_match(ctx, &e[i]))
            {
                p = ngx_http_clicktrack_stream_message(p, &e[i]);
                ctx->last = e[i].id;
            }
        }

        cl->buf->last = p;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "clicktrack stream: %uz bytes sent, last id %uL-%uL",
                       size, ctx->last.ms, ctx->last.seq);

        ngx_http_clicktrack_stream_send(ctx, cl);
    }

    ngx_free(e);
}


/* a reply of XRANGE / XREVRANGE, as entries (from the request's pool) */

ngx_int_t
ngx_http_clicktrack_stream_entries(ngx_http_request_t *r, redisReply *reply,
    ngx_http_clicktrack_stream_entry_t **out, ngx_uint_t *n)
{
    ngx_uint_t                           i;
    ngx_http_clicktrack_stream_entry_t  *e;

    *out = NULL;
    *n = 0;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0)
    {
        return NGX_OK;
    }

    e = ngx_palloc(r->pool, reply->elements
                            * sizeof(ngx_http_clicktrack_stream_entry_t));
    if (e == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < reply->elements; i++) {
        if (ngx_http_clicktrack_stream_entry(reply->element[i], &e[*n])
            == NGX_OK)
        {
            (*n)++;
        }
    }

    *out = e;

    return NGX_OK;
}


/*
 * [id, [field, value, ...]] with an "e" field holding an event object.
 * Anything else in the stream (written by another program) is skipped.
 */

static ngx_int_t
ngx_http_clicktrack_stream_entry(redisReply *r,
    ngx_http_clicktrack_stream_entry_t *e)
{
    u_char      *p;
    ngx_uint_t   i;
    redisReply  *id, *fv;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        return NGX_DECLINED;
    }

    id = r->element[0];
    fv = r->element[1];

    if (id->type != REDIS_REPLY_STRING || fv->type != REDIS_REPLY_ARRAY
        || ngx_http_clicktrack_stream_parse_id((u_char *) id->str, id->len,
                                               &e->id)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    e->id_text.data = (u_char *) id->str;
    e->id_text.len = id->len;

    for (i = 0; i + 1 < fv->elements; i += 2) {

        if (fv->element[i]->type == REDIS_REPLY_STRING
            && fv->element[i]->len == 1 && fv->element[i]->str[0] == 'e'
            && fv->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            p = (u_char *) fv->element[i + 1]->str;

            e->json.data = p;
            e->json.len = fv->element[i + 1]->len;

            if (ngx_http_clicktrack_record_scan(p, p + e->json.len, e->field)
                != NGX_OK)
            {
                return NGX_DECLINED;
            }

            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* when to come back: the next reconnection attempt, at least 1 s */

ngx_msec_t
ngx_http_clicktrack_stream_retry(ngx_http_clicktrack_stream_hub_t *hub)
{
    ngx_msec_t    retry, left;
    ngx_event_t  *ev[2];
    ngx_uint_t    i;

    retry = 1000;

    ev[0] = &hub->query.reconnect_timer;
    ev[1] = &hub->reader.reconnect_timer;

    for (i = 0; i < 2; i++) {
        if (ev[i]->timer_set) {
            left = (ngx_msec_t) (ev[i]->timer.key - ngx_current_msec);

            if (left > retry && left < 60000) {
                retry = left;
            }
        }
    }

    return retry;
}
