
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_queue.h"
#include "ngx_http_clicktrack_redis.h"
#include "ngx_http_clicktrack_spool.h"


/*
 * The queue is one ring of clicktrack_queue size bytes per worker,
 * allocated once.  Records follow each other from "head" to "tail":
 *
 *   head .. send    in flight: sent, not yet answered by Redis
 *   send .. tail    queued: waiting for the next batch
 *
 * A record never wraps: when it does not fit before the end of the ring, a
 * zero size marks the wrap (or the end is too close for a header) and the
 * record goes to the start.  A record leaves the ring only when Redis has
 * answered for its whole batch; a lost connection sends every batch in
 * flight again, in order.
 */


#define NGX_HTTP_CLICKTRACK_MAX_FLIGHT    8
#define NGX_HTTP_CLICKTRACK_WATCH         100


typedef struct {
    uint32_t                         size;      /* aligned; 0: wrap */
    uint32_t                         list_len;
    uint32_t                         json_len;
    uint32_t                         from;      /* 0: live, or the spool */
    ngx_http_clicktrack_recent_t    *recent;    /* NULL: off */
    /* u_char list[list_len], json[json_len] */
} ngx_http_clicktrack_record_t;


typedef struct {
    ngx_http_clicktrack_queue_t     *queue;
    u_char                          *end;       /* after its last record */
    ngx_uint_t                       events;
    size_t                           bytes;
    ngx_uint_t                       pending;   /* replies owed */
    ngx_uint_t                       replayed;  /* events from the spool */
    unsigned                         failed:1;
} ngx_http_clicktrack_batch_t;


struct ngx_http_clicktrack_queue_s {
    ngx_http_clicktrack_redis_t      redis;
    ngx_http_clicktrack_spool_t     *spool;     /* NULL: off */
    ngx_http_clicktrack_main_conf_t *mcf;
    ngx_http_clicktrack_counters_t  *counters;
    ngx_log_t                       *log;

    u_char                          *start;
    u_char                          *end;
    u_char                          *head;
    u_char                          *send;
    u_char                          *tail;

    ngx_uint_t                       queued;    /* records in send..tail */
    ngx_uint_t                       flight;    /* records in head..send */
    size_t                           bytes;     /* of all records */

    ngx_http_clicktrack_batch_t      batch[NGX_HTTP_CLICKTRACK_MAX_FLIGHT];
    ngx_uint_t                       first;
    ngx_uint_t                       nbatches;

    /* scratch for one batch, sized for clicktrack_queue batch= */
    ngx_http_clicktrack_record_t   **recs;
    u_char                          *grouped;
    const char                     **argv;
    size_t                          *argvlen;

    ngx_event_t                      flush_timer;
    ngx_event_t                      flush_event;
    ngx_event_t                      watch_timer;
    ngx_event_t                      shutdown_timer;

    /* the spool's replay: the recent streams its lines name, and a tick */
    ngx_array_t                      recents;
    ngx_event_t                      replay_tick;

    ngx_uint_t                       drops;     /* not logged yet */
    time_t                           drop_logged;
    time_t                           xadd_logged;

    unsigned                         exiting:1;

    /* due to go, but every batch slot was in flight */
    unsigned                         held:1;
};


static void ngx_http_clicktrack_queue_ready(ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_queue_lost(ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_queue_flush(ngx_event_t *ev);
static void ngx_http_clicktrack_queue_send(ngx_http_clicktrack_queue_t *q);
static ngx_int_t ngx_http_clicktrack_queue_send_batch(
    ngx_http_clicktrack_queue_t *q);
static void ngx_http_clicktrack_queue_rpush_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_queue_xadd_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_queue_answered(
    ngx_http_clicktrack_batch_t *b);
static void ngx_http_clicktrack_queue_kick(ngx_http_clicktrack_queue_t *q);
static void ngx_http_clicktrack_queue_watch(ngx_event_t *ev);
static void ngx_http_clicktrack_queue_deadline(ngx_event_t *ev);
static void ngx_http_clicktrack_queue_discard(ngx_http_clicktrack_queue_t *q,
    const char *when);
static ngx_http_clicktrack_record_t *ngx_http_clicktrack_queue_at(
    ngx_http_clicktrack_queue_t *q, u_char *p);
static void ngx_http_clicktrack_queue_cleanup(void *data);
static ngx_int_t ngx_http_clicktrack_queue_put(ngx_http_clicktrack_queue_t *q,
    ngx_str_t *list, ngx_http_clicktrack_recent_t *recent, u_char *json,
    size_t len, ngx_uint_t from);
static ngx_uint_t ngx_http_clicktrack_queue_open(
    ngx_http_clicktrack_queue_t *q);
static void ngx_http_clicktrack_queue_tick(ngx_event_t *ev);
static void ngx_http_clicktrack_queue_replay(ngx_http_clicktrack_queue_t *q);
static ngx_http_clicktrack_recent_t *ngx_http_clicktrack_queue_recent_of(
    ngx_http_clicktrack_queue_t *q, ngx_http_clicktrack_spool_event_t *ev);


ngx_int_t
ngx_http_clicktrack_queue_init(ngx_cycle_t *cycle,
    ngx_http_clicktrack_main_conf_t *mcf)
{
    ngx_uint_t                    n;
    ngx_pool_cleanup_t           *cln;
    ngx_http_clicktrack_queue_t  *q;

    q = ngx_pcalloc(cycle->pool, sizeof(ngx_http_clicktrack_queue_t));
    if (q == NULL) {
        return NGX_ERROR;
    }

    /*
     * A worker closes its queue in exit_process; this is for a cycle that
     * goes while the process stays (a reload in single-process mode).
     */

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_clicktrack_queue_cleanup;
    cln->data = mcf;

    /* the pages of the ring are touched only as events arrive */

    q->start = ngx_alloc(mcf->queue_size, cycle->log);
    if (q->start == NULL) {
        return NGX_ERROR;
    }

    q->end = q->start + mcf->queue_size;
    q->head = q->start;
    q->send = q->start;
    q->tail = q->start;

    n = mcf->queue_batch;

    q->recs = ngx_palloc(cycle->pool, n * sizeof(void *));
    q->grouped = ngx_palloc(cycle->pool, n);
    q->argv = ngx_palloc(cycle->pool, (n + 2) * sizeof(char *));
    q->argvlen = ngx_palloc(cycle->pool, (n + 2) * sizeof(size_t));

    if (q->recs == NULL || q->grouped == NULL || q->argv == NULL
        || q->argvlen == NULL)
    {
        ngx_free(q->start);
        return NGX_ERROR;
    }

    q->mcf = mcf;
    q->counters = mcf->counters;
    q->log = cycle->log;

    q->flush_timer.handler = ngx_http_clicktrack_queue_flush;
    q->flush_timer.data = q;
    q->flush_timer.log = cycle->log;
    q->flush_timer.cancelable = 1;

    q->flush_event.handler = ngx_http_clicktrack_queue_flush;
    q->flush_event.data = q;
    q->flush_event.log = cycle->log;

    /*
     * Not cancelable: while events wait, this timer keeps a worker that is
     * shutting down alive, and notices the shutdown.
     */

    q->watch_timer.handler = ngx_http_clicktrack_queue_watch;
    q->watch_timer.data = q;
    q->watch_timer.log = cycle->log;

    q->shutdown_timer.handler = ngx_http_clicktrack_queue_deadline;
    q->shutdown_timer.data = q;
    q->shutdown_timer.log = cycle->log;

    if (ngx_http_clicktrack_redis_init(&q->redis, mcf->redis, mcf->counters,
                                       cycle->log)
        != NGX_OK)
    {
        ngx_free(q->start);
        return NGX_ERROR;
    }

    q->redis.ready = ngx_http_clicktrack_queue_ready;
    q->redis.lost = ngx_http_clicktrack_queue_lost;
    q->redis.data = q;

    if (mcf->spool) {
        q->spool = ngx_http_clicktrack_spool_init(cycle, mcf);

        if (q->spool == NULL
            || ngx_array_init(&q->recents, cycle->pool, 4,
                              sizeof(ngx_http_clicktrack_recent_t *))
               != NGX_OK)
        {
            ngx_free(q->start);
            return NGX_ERROR;
        }

        q->replay_tick.handler = ngx_http_clicktrack_queue_tick;
        q->replay_tick.data = q;
        q->replay_tick.log = cycle->log;
        q->replay_tick.cancelable = 1;

        /* leftovers are looked for at once */

        ngx_add_timer(&q->replay_tick, 1);
    }

    mcf->queue = q;

    ngx_http_clicktrack_redis_connect(&q->redis);

    return NGX_OK;
}


/* the worker is going away: what is still here is lost */

void
ngx_http_clicktrack_queue_exit(ngx_http_clicktrack_queue_t *q)
{
    ngx_http_clicktrack_queue_discard(q, "at exit");

    if (q->spool) {
        if (q->replay_tick.timer_set) {
            ngx_del_timer(&q->replay_tick);
        }

        ngx_http_clicktrack_spool_exit(q->spool);
        q->spool = NULL;
    }

    ngx_http_clicktrack_redis_close(&q->redis);

    if (q->flush_event.posted) {
        ngx_delete_posted_event(&q->flush_event);
    }

    ngx_free(q->start);
    q->start = NULL;
}


ngx_int_t
ngx_http_clicktrack_queue_recent(ngx_pool_t *pool,
    ngx_http_clicktrack_recent_t *recent)
{
    u_char  *p;

    p = ngx_pnalloc(pool, sizeof("*8\r\n$4\r\nXADD\r\n$6\r\nMAXLEN\r\n"
                                 "$1\r\n~\r\n$1\r\n*\r\n$1\r\ne\r\n") - 1
                          + 2 * (1 + NGX_SIZE_T_LEN + 2 + 2)
                          + recent->key.len + recent->max_text.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    recent->xadd.data = p;
    recent->xadd.len = ngx_sprintf(p, "*8\r\n$4\r\nXADD\r\n$%uz\r\n%V\r\n"
                                   "$6\r\nMAXLEN\r\n$1\r\n~\r\n"
                                   "$%uz\r\n%V\r\n$1\r\n*\r\n$1\r\ne\r\n",
                                   recent->key.len, &recent->key,
                                   recent->max_text.len, &recent->max_text)
                       - p;

    return NGX_OK;
}


ngx_int_t
ngx_http_clicktrack_queue_push(ngx_http_clicktrack_queue_t *q,
    ngx_str_t *list, ngx_http_clicktrack_recent_t *recent, u_char *json,
    size_t len)
{
    if (ngx_http_clicktrack_queue_put(q, list, recent, json, len, 0)
        == NGX_OK)
    {
        return NGX_OK;
    }

    /* the queue is full: the spool takes over, if there is one */

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, q->log, 0,
                   "clicktrack: queue full: %ui queued, %ui in flight, "
                   "%uz bytes", q->queued, q->flight, q->bytes);

    if (q->spool
        && ngx_http_clicktrack_spool_write(q->spool, list, recent, json, len)
           == NGX_OK)
    {
        return NGX_OK;
    }

    (void) ngx_atomic_fetch_add(&q->counters->dropped, 1);

    q->drops++;

    if (ngx_time() != q->drop_logged) {
        ngx_log_error(NGX_LOG_ERR, q->log, 0,
                      "clicktrack: queue full (%uz bytes), "
                      "%ui event(s) dropped",
                      q->mcf->queue_size, q->drops);
        q->drops = 0;
        q->drop_logged = ngx_time();
    }

    return NGX_DECLINED;
}


/*
 * The queue replays the spool: it takes the events read back while Redis
 * answers and it is less than half full, so that live events keep their
 * room; once a second (the tick), when Redis answers again, and when
 * Redis confirms events read back, which lets the spool read on.
 */

static void
ngx_http_clicktrack_queue_tick(ngx_event_t *ev)
{
    ngx_http_clicktrack_queue_t *q = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_add_timer(&q->replay_tick, NGX_HTTP_CLICKTRACK_SPOOL_TICK);

    ngx_http_clicktrack_queue_replay(q);
}


static void
ngx_http_clicktrack_queue_replay(ngx_http_clicktrack_queue_t *q)
{
    ngx_int_t                          rc;
    ngx_http_clicktrack_recent_t      *recent;
    ngx_http_clicktrack_spool_event_t  ev;

    if (ngx_exiting || !ngx_http_clicktrack_queue_open(q)
        || ngx_http_clicktrack_spool_claim(q->spool) != NGX_OK)
    {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, q->log, 0,
                   "clicktrack: queue takes from the spool, %ui queued, "
                   "%uz bytes", q->queued, q->bytes);

    while (ngx_http_clicktrack_queue_open(q)) {

        if (ngx_http_clicktrack_spool_read(q->spool, &ev) != NGX_OK) {
            return;
        }

        recent = ngx_http_clicktrack_queue_recent_of(q, &ev);

        rc = ngx_http_clicktrack_queue_put(q, &ev.list, recent, ev.json.data,
                                           ev.json.len, ev.from);

        ngx_http_clicktrack_spool_taken(q->spool, &ev, rc == NGX_OK);

        if (rc != NGX_OK) {
            return;
        }
    }
}


/* the recent stream a line read back names; NULL: off */

static ngx_http_clicktrack_recent_t *
ngx_http_clicktrack_queue_recent_of(ngx_http_clicktrack_queue_t *q,
    ngx_http_clicktrack_spool_event_t *ev)
{
    ngx_int_t                       max;
    ngx_uint_t                      i;
    ngx_http_clicktrack_recent_t   *r, **rp;

    if (ev->recent.len == 0) {
        return NULL;
    }

    rp = q->recents.elts;

    for (i = 0; i < q->recents.nelts; i++) {
        r = rp[i];

        if (r->key.len == ev->recent.len
            && r->max_text.len == ev->max.len
            && ngx_memcmp(r->key.data, ev->recent.data, r->key.len) == 0
            && ngx_memcmp(r->max_text.data, ev->max.data, r->max_text.len)
               == 0)
        {
            return r;
        }
    }

    max = ngx_atoi(ev->max.data, ev->max.len);

    r = ngx_palloc(q->recents.pool, sizeof(ngx_http_clicktrack_recent_t));
    rp = ngx_array_push(&q->recents);

    if (r == NULL || rp == NULL || max == NGX_ERROR) {
        return NULL;
    }

    r->key.len = ev->recent.len;
    r->key.data = ngx_pstrdup(q->recents.pool, &ev->recent);
    r->max_text.len = ev->max.len;
    r->max_text.data = ngx_pstrdup(q->recents.pool, &ev->max);
    r->max = (ngx_uint_t) max;

    if (r->key.data == NULL || r->max_text.data == NULL
        || ngx_http_clicktrack_queue_recent(q->recents.pool, r) != NGX_OK)
    {
        q->recents.nelts--;
        return NULL;
    }

    *rp = r;

    return r;
}


static ngx_uint_t
ngx_http_clicktrack_queue_open(ngx_http_clicktrack_queue_t *q)
{
    return q->redis.state == NGX_HTTP_CLICKTRACK_REDIS_READY
           && !q->exiting
           && q->bytes < q->mcf->queue_size / 2;
}


static ngx_int_t
ngx_http_clicktrack_queue_put(ngx_http_clicktrack_queue_t *q,
    ngx_str_t *list, ngx_http_clicktrack_recent_t *recent, u_char *json,
    size_t len, ngx_uint_t from)
{
    u_char                        *p;
    size_t                         size;
    ngx_http_clicktrack_record_t  *rec;

    size = ngx_align(sizeof(ngx_http_clicktrack_record_t) + list->len + len,
                     NGX_ALIGNMENT);

    if (q->queued + q->flight == 0) {
        q->head = q->start;
        q->send = q->start;
        q->tail = q->start;
    }

    p = NULL;

    if (q->tail >= q->head) {

        if ((size_t) (q->end - q->tail) >= size) {
            p = q->tail;

        } else if ((size_t) (q->head - q->start) > size) {

            if ((size_t) (q->end - q->tail)
                >= sizeof(ngx_http_clicktrack_record_t))
            {
                ((ngx_http_clicktrack_record_t *) q->tail)->size = 0;
            }

            p = q->start;
        }

    } else if ((size_t) (q->head - q->tail) > size) {
        p = q->tail;
    }

    if (p == NULL || q->start == NULL) {
        return NGX_DECLINED;
    }

    rec = (ngx_http_clicktrack_record_t *) p;
    rec->size = (uint32_t) size;
    rec->list_len = (uint32_t) list->len;
    rec->json_len = (uint32_t) len;
    rec->from = (uint32_t) from;
    rec->recent = recent;

    p = ngx_cpymem(p + sizeof(ngx_http_clicktrack_record_t), list->data,
                   list->len);
    ngx_memcpy(p, json, len);

    q->tail = (u_char *) rec + size;
    q->queued++;
    q->bytes += size;

    ngx_http_clicktrack_gauge(q->counters, queued, 1);
    ngx_http_clicktrack_gauge(q->counters, queued_bytes, size);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, q->log, 0,
                   "clicktrack: queued %uz bytes%s, %ui queued, %ui in flight",
                   size, from ? " from the spool" : "", q->queued, q->flight);

    ngx_http_clicktrack_queue_kick(q);

    return NGX_OK;
}


/*
 * Decides when the queued events go: at once when a batch is full or the
 * worker is shutting down, else when "flush" has passed.
 */

static void
ngx_http_clicktrack_queue_kick(ngx_http_clicktrack_queue_t *q)
{
    if (!q->watch_timer.timer_set && q->queued + q->flight > 0) {
        ngx_add_timer(&q->watch_timer, NGX_HTTP_CLICKTRACK_WATCH);
    }

    if (q->queued == 0) {
        return;
    }

    if (q->queued >= q->mcf->queue_batch || q->exiting) {
        if (!q->flush_event.posted) {
            ngx_post_event(&q->flush_event, &ngx_posted_events);
        }

        return;
    }

    if (!q->flush_timer.timer_set) {
        ngx_add_timer(&q->flush_timer, q->mcf->queue_flush);
    }
}


static void
ngx_http_clicktrack_queue_ready(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_queue_t  *q = rc->data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, q->log, 0,
                   "clicktrack: queue: redis ready, %ui event(s) queued",
                   q->queued);

    if (q->queued && !q->flush_event.posted) {
        ngx_post_event(&q->flush_event, &ngx_posted_events);
    }

    if (q->spool) {
        ngx_http_clicktrack_queue_replay(q);
    }
}


/* every batch in flight goes back to the queue, in order */

static void
ngx_http_clicktrack_queue_lost(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_queue_t  *q = rc->data;

    if (q->flight == 0) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, q->log, 0,
                   "clicktrack: %ui event(s) in flight go back to the queue",
                   q->flight);

    ngx_http_clicktrack_gauge(q->counters, in_flight,
                              -(ngx_atomic_int_t) q->flight);
    ngx_http_clicktrack_gauge(q->counters, queued, q->flight);

    q->send = q->head;
    q->queued += q->flight;
    q->flight = 0;
    q->nbatches = 0;
    q->first = 0;
    q->held = 0;
}


static void
ngx_http_clicktrack_queue_flush(ngx_event_t *ev)
{
    ngx_http_clicktrack_queue_t  *q = ev->data;

    ngx_http_clicktrack_queue_send(q);
}


static void
ngx_http_clicktrack_queue_send(ngx_http_clicktrack_queue_t *q)
{
    if (q->flush_timer.timer_set) {
        ngx_del_timer(&q->flush_timer);
    }

    while (q->queued
           && q->nbatches < NGX_HTTP_CLICKTRACK_MAX_FLIGHT
           && q->redis.state == NGX_HTTP_CLICKTRACK_REDIS_READY)
    {
        if (ngx_http_clicktrack_queue_send_batch(q) != NGX_OK) {
            ngx_http_clicktrack_redis_reset(&q->redis,
                                            "sending a batch failed");
            return;
        }
    }

    q->held = (q->queued && q->nbatches == NGX_HTTP_CLICKTRACK_MAX_FLIGHT);

    if (q->held) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, q->log, 0,
                       "clicktrack: %ui batch(es) in flight, %ui event(s) "
                       "wait for a reply", q->nbatches, q->queued);
    }
}


/*
 * One batch: up to "batch" records, an RPUSH per list key holding that
 * key's events in order, then an XADD per event for the recent stream.
 * hiredis copies the arguments into its output buffer, which is given
 * room for the whole batch first.
 */

static ngx_int_t
ngx_http_clicktrack_queue_send_batch(ngx_http_clicktrack_queue_t *q)
{
    u_char                        *p, *list;
    size_t                         wire;
    ngx_uint_t                     i, j, n, argc;
    ngx_http_clicktrack_batch_t   *b;
    ngx_http_clicktrack_record_t  *rec, *other;

    b = &q->batch[(q->first + q->nbatches) % NGX_HTTP_CLICKTRACK_MAX_FLIGHT];

    b->queue = q;
    b->events = 0;
    b->bytes = 0;
    b->pending = 0;
    b->replayed = 0;
    b->failed = 0;

    p = q->send;

    /*
     * wire: at most what the commands take in Redis' protocol; an RPUSH
     * per event at worst, the record's size covering its list and JSON
     */

    wire = 0;

    for (n = 0; n < q->queued && n < q->mcf->queue_batch; n++) {
        rec = ngx_http_clicktrack_queue_at(q, p);
        q->recs[n] = rec;
        q->grouped[n] = 0;
        b->bytes += rec->size;
        b->replayed += (rec->from != 0);
        p = (u_char *) rec + rec->size;

        wire += rec->size + 4 * NGX_SIZE_T_LEN + 32;

        if (rec->recent) {
            wire += rec->json_len + rec->recent->key.len
                    + rec->recent->max_text.len + 12 * NGX_SIZE_T_LEN + 48;
        }
    }

    b->end = p;
    b->events = n;

    q->nbatches++;
    q->send = p;
    q->queued -= n;
    q->flight += n;

    ngx_http_clicktrack_gauge(q->counters, queued, -(ngx_atomic_int_t) n);
    ngx_http_clicktrack_gauge(q->counters, in_flight, n);

    ngx_http_clicktrack_redis_reserve(&q->redis, wire);

    for (i = 0; i < n; i++) {

        if (q->grouped[i]) {
            continue;
        }

        rec = q->recs[i];
        list = (u_char *) rec + sizeof(ngx_http_clicktrack_record_t);

        q->argv[0] = "RPUSH";
        q->argvlen[0] = 5;
        q->argv[1] = (const char *) list;
        q->argvlen[1] = rec->list_len;
        argc = 2;

        for (j = i; j < n; j++) {
            other = q->recs[j];

            if (q->grouped[j]
                || other->list_len != rec->list_len
                || ngx_memcmp((u_char *) other
                              + sizeof(ngx_http_clicktrack_record_t),
                              list, rec->list_len)
                   != 0)
            {
                continue;
            }

            q->grouped[j] = 1;
            q->argv[argc] = (const char *) other
                            + sizeof(ngx_http_clicktrack_record_t)
                            + other->list_len;
            q->argvlen[argc] = other->json_len;
            argc++;
        }

        if (ngx_http_clicktrack_redis_command(&q->redis,
                ngx_http_clicktrack_queue_rpush_reply, b, (int) argc,
                q->argv, q->argvlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        b->pending++;
    }

    for (i = 0; i < n; i++) {
        rec = q->recs[i];

        if (rec->recent == NULL) {
            continue;
        }

        if (ngx_http_clicktrack_redis_command_head(&q->redis,
                ngx_http_clicktrack_queue_xadd_reply, b, &rec->recent->xadd,
                (u_char *) rec + sizeof(ngx_http_clicktrack_record_t)
                + rec->list_len,
                rec->json_len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        b->pending++;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, q->log, 0,
                   "clicktrack: batch of %ui event(s) in %ui command(s) "
                   "sent, %ui from the spool, %ui queued",
                   n, b->pending, b->replayed, q->queued);

    return NGX_OK;
}


/*
 * An RPUSH refused (a wrong type at the key, out of memory) is not
 * answered for: the connection is dropped and the batch goes again after
 * the backoff.  With NULL, the connection went away: "lost" requeues.
 */

static void
ngx_http_clicktrack_queue_rpush_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_batch_t *b = privdata;

    redisReply  *r = reply;

    if (r == NULL) {
        return;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        b->failed = 1;

        ngx_log_error(NGX_LOG_ERR, b->queue->log, 0,
                      "clicktrack: redis refused RPUSH: %*s",
                      (size_t) r->len, r->str);

        ngx_http_clicktrack_redis_reset(&b->queue->redis, "RPUSH refused");
        return;
    }

    ngx_http_clicktrack_queue_answered(b);
}


/*
 * The recent stream is the dashboards' view, the list is the record: an
 * XADD refused is counted and logged, and does not hold the batch back.
 */

static void
ngx_http_clicktrack_queue_xadd_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_batch_t *b = privdata;

    redisReply                   *r = reply;
    ngx_http_clicktrack_queue_t  *q;

    if (r == NULL) {
        return;
    }

    q = b->queue;

    if (r->type == REDIS_REPLY_ERROR) {
        (void) ngx_atomic_fetch_add(&q->counters->redis_errors, 1);

        if (ngx_time() != q->xadd_logged) {
            ngx_log_error(NGX_LOG_ERR, q->log, 0,
                          "clicktrack: redis refused XADD: %*s",
                          (size_t) r->len, r->str);
            q->xadd_logged = ngx_time();
        }
    }

    ngx_http_clicktrack_queue_answered(b);
}


/* batches are answered in order: release every leading one that is done */

static void
ngx_http_clicktrack_queue_answered(ngx_http_clicktrack_batch_t *b)
{
    ngx_uint_t                    replayed;
    ngx_http_clicktrack_queue_t  *q;

    q = b->queue;
    replayed = 0;

    if (--b->pending > 0) {
        return;
    }

    while (q->nbatches) {
        b = &q->batch[q->first];

        if (b->pending > 0 || b->failed) {
            break;
        }

        q->flight -= b->events;
        q->bytes -= b->bytes;
        replayed += b->replayed;

        ngx_http_clicktrack_gauge(q->counters, in_flight,
                                  -(ngx_atomic_int_t) b->events);
        (void) ngx_atomic_fetch_add(&q->counters->pushed, b->events);
        ngx_http_clicktrack_gauge(q->counters, queued_bytes,
                                  -(ngx_atomic_int_t) b->bytes);

        q->first = (q->first + 1) % NGX_HTTP_CLICKTRACK_MAX_FLIGHT;
        q->nbatches--;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, q->log, 0,
                       "clicktrack: batch of %ui event(s) confirmed, "
                       "%ui in flight, %ui queued",
                       b->events, q->flight, q->queued);

        ngx_http_clicktrack_redis_healthy(&q->redis);

        if (q->flight + q->queued) {
            q->head = (u_char *) ngx_http_clicktrack_queue_at(q, b->end);
        }
    }

    if (q->spool && replayed) {

        /* the spool may read more of the file into the queue */

        ngx_http_clicktrack_spool_confirmed(q->spool, replayed);
        ngx_http_clicktrack_queue_replay(q);
    }

    if (q->flight + q->queued == 0) {
        q->head = q->start;
        q->send = q->start;
        q->tail = q->start;

        if (q->exiting) {
            ngx_log_error(NGX_LOG_NOTICE, q->log, 0,
                          "clicktrack: queue delivered before exit");

            if (q->shutdown_timer.timer_set) {
                ngx_del_timer(&q->shutdown_timer);
            }
        }

        if (q->watch_timer.timer_set) {
            ngx_del_timer(&q->watch_timer);
        }

        return;
    }

    /*
     * Events that were due but waited for a free slot go now, not from
     * inside hiredis but from a posted event.  The others keep waiting
     * for a full batch or "flush": sending whatever came in during one
     * round trip would make batches of a few events under load, and
     * Redis pays a read, a write and a reply per batch.
     */

    if (q->held) {
        q->held = 0;

        if (!q->flush_event.posted) {
            ngx_post_event(&q->flush_event, &ngx_posted_events);
        }

        return;
    }

    ngx_http_clicktrack_queue_kick(q);
}


/* runs every 100 ms while events wait, to notice a graceful shutdown */

static void
ngx_http_clicktrack_queue_watch(ngx_event_t *ev)
{
    ngx_http_clicktrack_queue_t  *q = ev->data;

    if (q->queued + q->flight == 0) {
        return;
    }

    if (ngx_exiting && !q->exiting) {
        q->exiting = 1;

        ngx_log_error(NGX_LOG_NOTICE, q->log, 0,
                      "clicktrack: delivering %ui event(s) before exit, "
                      "for up to %M ms",
                      q->queued + q->flight, q->mcf->shutdown_timeout);

        ngx_add_timer(&q->shutdown_timer, q->mcf->shutdown_timeout);

        ngx_http_clicktrack_queue_send(q);
    }

    ngx_add_timer(&q->watch_timer, NGX_HTTP_CLICKTRACK_WATCH);
}


static void
ngx_http_clicktrack_queue_deadline(ngx_event_t *ev)
{
    ngx_http_clicktrack_queue_t  *q = ev->data;

    ngx_http_clicktrack_queue_discard(q, "after clicktrack_shutdown_timeout");

    /* nothing is owed any more: let the worker go */

    ngx_http_clicktrack_redis_close(&q->redis);
}


static void
ngx_http_clicktrack_queue_discard(ngx_http_clicktrack_queue_t *q,
    const char *when)
{
    u_char                        *p;
    ngx_str_t                      list;
    ngx_uint_t                     i, n, kept;
    ngx_http_clicktrack_record_t  *rec;

    n = q->queued + q->flight;
    kept = 0;

    if (n) {
        ngx_http_clicktrack_gauge(q->counters, queued,
                                  -(ngx_atomic_int_t) q->queued);
        ngx_http_clicktrack_gauge(q->counters, in_flight,
                                  -(ngx_atomic_int_t) q->flight);
        ngx_http_clicktrack_gauge(q->counters, queued_bytes,
                                  -(ngx_atomic_int_t) q->bytes);
    }

    /* the spool keeps what it can, in the queue's order */

    p = q->head;

    for (i = 0; q->spool && i < n; i++) {
        rec = ngx_http_clicktrack_queue_at(q, p);
        p = (u_char *) rec + rec->size;

        list.len = rec->list_len;
        list.data = (u_char *) rec + sizeof(ngx_http_clicktrack_record_t);

        if (ngx_http_clicktrack_spool_keep(q->spool, rec->from, &list,
                                           rec->recent,
                                           list.data + list.len,
                                           rec->json_len)
            == NGX_OK)
        {
            kept++;
        }
    }

    if (kept) {
        ngx_log_error(NGX_LOG_NOTICE, q->log, 0,
                      "clicktrack: %ui event(s) not delivered to redis %V "
                      "%s, spooled", kept, &q->mcf->redis->name, when);
    }

    if (n > kept) {
        ngx_log_error(NGX_LOG_ERR, q->log, 0,
                      "clicktrack: %ui event(s) not delivered to redis %V "
                      "%s, dropped", n - kept, &q->mcf->redis->name, when);

        (void) ngx_atomic_fetch_add(&q->counters->dropped, n - kept);
    }

    q->queued = 0;
    q->flight = 0;
    q->bytes = 0;
    q->nbatches = 0;
    q->first = 0;
    q->head = q->start;
    q->send = q->start;
    q->tail = q->start;

    if (q->flush_timer.timer_set) {
        ngx_del_timer(&q->flush_timer);
    }

    if (q->watch_timer.timer_set) {
        ngx_del_timer(&q->watch_timer);
    }

    if (q->shutdown_timer.timer_set) {
        ngx_del_timer(&q->shutdown_timer);
    }
}


/* the record at p, after a wrap if the ring ends there */

static ngx_http_clicktrack_record_t *
ngx_http_clicktrack_queue_at(ngx_http_clicktrack_queue_t *q, u_char *p)
{
    if ((size_t) (q->end - p) < sizeof(ngx_http_clicktrack_record_t)
        || ((ngx_http_clicktrack_record_t *) p)->size == 0)
    {
        p = q->start;
    }

    return (ngx_http_clicktrack_record_t *) p;
}


static void
ngx_http_clicktrack_queue_cleanup(void *data)
{
    ngx_http_clicktrack_main_conf_t  *mcf = data;

    if (mcf->queue != NULL) {
        ngx_http_clicktrack_queue_exit(mcf->queue);
        mcf->queue = NULL;
    }
}
