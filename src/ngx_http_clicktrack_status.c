
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_status.h"
#include "ngx_http_clicktrack_beacon.h"


/*
 * The counters live in one shared zone and every worker adds to them
 * atomically, as stub_status does; they survive a reload, so an old worker
 * still delivering its queue keeps the totals true.  Each worker also
 * keeps its own part of the gauges in the zone, by process slot: the
 * master starts a worker that died in the slot it had, and the new one
 * takes the dead one's part out of the totals.
 */


#define NGX_HTTP_CLICKTRACK_ZONE_SIZE                                         \
    (ngx_align(sizeof(ngx_http_clicktrack_counters_t), ngx_pagesize)          \
     + 8 * ngx_pagesize)


typedef struct {
    ngx_str_t                        json;
    ngx_str_t                        prometheus;
    ngx_str_t                        help;
    ngx_str_t                        type;
    size_t                           offset;
} ngx_http_clicktrack_counter_t;


static ngx_int_t ngx_http_clicktrack_status_init_zone(
    ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_clicktrack_status_take_back(
    ngx_http_clicktrack_counters_t *c, ngx_http_clicktrack_share_t *sh);
static ngx_buf_t *ngx_http_clicktrack_status_json(ngx_http_request_t *r,
    ngx_http_clicktrack_counters_t *c);
static ngx_buf_t *ngx_http_clicktrack_status_prometheus(
    ngx_http_request_t *r, ngx_http_clicktrack_counters_t *c);


#define ngx_http_clicktrack_counter(json, prom, help, type)                    \
    { ngx_string(#json), ngx_string("clicktrack_" prom), ngx_string(help),    \
      ngx_string(type), offsetof(ngx_http_clicktrack_counters_t, json) }


/* in the order of the JSON report; "redis_connected" follows "dropped" */

static ngx_http_clicktrack_counter_t  ngx_http_clicktrack_counters[] = {

    ngx_http_clicktrack_counter(accepted, "events_accepted_total",
        "Events that passed validation.", "counter"),
    ngx_http_clicktrack_counter(rejected, "requests_rejected_total",
        "Beacon requests answered 400, 403, 405, 413 or 415.", "counter"),
    ngx_http_clicktrack_counter(filtered, "requests_filtered_total",
        "Beacon requests dropped as bots or for DNT/GPC.", "counter"),
    ngx_http_clicktrack_counter(queued, "events_queued",
        "Events waiting in the workers' queues.", "gauge"),
    ngx_http_clicktrack_counter(queued_bytes, "queued_bytes",
        "Queue bytes held by queued and in-flight events.", "gauge"),
    ngx_http_clicktrack_counter(in_flight, "events_in_flight",
        "Events sent to Redis and not yet answered.", "gauge"),
    ngx_http_clicktrack_counter(pushed, "events_pushed_total",
        "Events Redis has confirmed.", "counter"),
    ngx_http_clicktrack_counter(spooled, "events_spooled",
        "Events in spool files, waiting for replay.", "gauge"),
    ngx_http_clicktrack_counter(replayed, "events_replayed_total",
        "Events replayed from the spool.", "counter"),
    ngx_http_clicktrack_counter(dropped, "events_dropped_total",
        "Accepted events that were lost (queue full, shutdown).", "counter"),
    ngx_http_clicktrack_counter(redis_errors, "redis_errors_total",
        "Failed connects, lost connections, timeouts, error replies.",
        "counter"),
    ngx_http_clicktrack_counter(reconnects, "redis_reconnects_total",
        "Connection attempts after a failure or a loss.", "counter"),
    ngx_http_clicktrack_counter(stream_clients, "stream_clients",
        "Clients connected to clicktrack_stream.", "gauge"),
    ngx_http_clicktrack_counter(rollup_windows, "rollup_windows_total",
        "Rollup windows sent to Redis.", "counter"),
    ngx_http_clicktrack_counter(rollup_pending, "rollup_windows_pending",
        "Rollup windows kept while Redis is away.", "gauge"),
    ngx_http_clicktrack_counter(rollup_dropped, "rollup_dropped_total",
        "Rollup entries not kept: past a window's bounds, or Redis away.",
        "counter")
};


static ngx_http_clicktrack_share_t   ngx_http_clicktrack_no_share;

ngx_http_clicktrack_share_t  *ngx_http_clicktrack_share =
                                                &ngx_http_clicktrack_no_share;


#define NGX_HTTP_CLICKTRACK_NCOUNTERS                                         \
    (sizeof(ngx_http_clicktrack_counters)                                     \
     / sizeof(ngx_http_clicktrack_counter_t))

/* "redis_connected" goes after this many counters */
#define NGX_HTTP_CLICKTRACK_BEFORE_CONNECTED  10


ngx_int_t
ngx_http_clicktrack_status_zone(ngx_conf_t *cf,
    ngx_http_clicktrack_main_conf_t *mcf)
{
    ngx_str_t  name = ngx_string("clicktrack");

    mcf->shm_zone = ngx_shared_memory_add(cf, &name,
                                          NGX_HTTP_CLICKTRACK_ZONE_SIZE,
                                          &ngx_http_clicktrack_module);
    if (mcf->shm_zone == NULL) {
        return NGX_ERROR;
    }

    mcf->shm_zone->init = ngx_http_clicktrack_status_init_zone;
    mcf->shm_zone->data = mcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_status_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_clicktrack_main_conf_t  *omcf = data;

    ngx_slab_pool_t                  *shpool;
    ngx_http_clicktrack_main_conf_t  *mcf;

    mcf = shm_zone->data;

    if (omcf != NULL) {
        /* a reload: keep counting where the old cycle was */
        mcf->counters = omcf->counters;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        mcf->counters = shpool->data;
        return NGX_OK;
    }

    mcf->counters = ngx_slab_calloc(shpool,
                                    sizeof(ngx_http_clicktrack_counters_t));
    if (mcf->counters == NULL) {
        return NGX_ERROR;
    }

    shpool->data = mcf->counters;

    return NGX_OK;
}


/*
 * In init_process, before the worker changes a gauge: its slot's share,
 * after the part of a worker that died in this slot is taken back.  What
 * that worker held in its queue is lost; it counts as dropped (the events
 * in flight may have reached Redis: there is no knowing).  So are the
 * rollup entries of its window and of the windows it kept: counted in
 * rollup_dropped.
 */

void
ngx_http_clicktrack_status_share(ngx_cycle_t *cycle,
    ngx_http_clicktrack_counters_t *c)
{
    ngx_atomic_t                  queued, in_flight, held;
    ngx_http_clicktrack_share_t  *sh;

    sh = &c->shares[ngx_process_slot];

    if (sh->pid != 0) {
        queued = sh->queued;
        in_flight = sh->in_flight;

        if (queued + in_flight) {
            (void) ngx_atomic_fetch_add(&c->dropped, queued + in_flight);

            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "clicktrack: worker %P died holding %uA queued "
                          "and %uA in-flight event(s), counted as dropped",
                          sh->pid, queued, in_flight);
        }

        held = sh->rollup_held;

        if (held) {
            (void) ngx_atomic_fetch_add(&c->rollup_dropped, held);

            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "clicktrack: worker %P died holding %uA rollup "
                          "entr%s of %uA kept window(s) and its current one, "
                          "counted in rollup_dropped",
                          sh->pid, held, held == 1 ? "y" : "ies",
                          sh->rollup_pending);
        }

        ngx_http_clicktrack_status_take_back(c, sh);
    }

    sh->pid = ngx_pid;
    ngx_http_clicktrack_share = sh;
}


/*
 * In exit_process, after the queue and the streams are closed: whatever
 * part of the gauges the worker still has goes (a stream's request is not
 * finalized when a worker exits, so its client is uncounted here).
 */

void
ngx_http_clicktrack_status_unshare(ngx_http_clicktrack_counters_t *c)
{
    if (ngx_http_clicktrack_share == &ngx_http_clicktrack_no_share) {
        return;
    }

    ngx_http_clicktrack_status_take_back(c, ngx_http_clicktrack_share);
    ngx_http_clicktrack_share = &ngx_http_clicktrack_no_share;
}


static void
ngx_http_clicktrack_status_take_back(ngx_http_clicktrack_counters_t *c,
    ngx_http_clicktrack_share_t *sh)
{
    (void) ngx_atomic_fetch_add(&c->queued, -(ngx_atomic_int_t) sh->queued);
    (void) ngx_atomic_fetch_add(&c->queued_bytes,
                                -(ngx_atomic_int_t) sh->queued_bytes);
    (void) ngx_atomic_fetch_add(&c->in_flight,
                                -(ngx_atomic_int_t) sh->in_flight);
    (void) ngx_atomic_fetch_add(&c->redis_up,
                                -(ngx_atomic_int_t) sh->redis_up);
    (void) ngx_atomic_fetch_add(&c->redis_down,
                                -(ngx_atomic_int_t) sh->redis_down);
    (void) ngx_atomic_fetch_add(&c->stream_clients,
                                -(ngx_atomic_int_t) sh->stream_clients);
    (void) ngx_atomic_fetch_add(&c->rollup_pending,
                                -(ngx_atomic_int_t) sh->rollup_pending);

    ngx_memzero(sh, sizeof(ngx_http_clicktrack_share_t));
}


ngx_int_t
ngx_http_clicktrack_status_handler(ngx_http_request_t *r)
{
    char                             *type;
    ngx_str_t                         format, cc, body;
    ngx_buf_t                        *b;
    ngx_http_clicktrack_main_conf_t  *mcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_clicktrack_module);

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) != NGX_OK) {
        ngx_str_null(&format);
    }

    if (format.len == 10
        && ngx_strncmp(format.data, "prometheus", 10) == 0)
    {
        type = "text/plain; version=0.0.4; charset=utf-8";
        b = ngx_http_clicktrack_status_prometheus(r, mcf->counters);

    } else if (format.len == 0 || (format.len == 4
               && ngx_strncmp(format.data, "json", 4) == 0))
    {
        type = "application/json";
        b = ngx_http_clicktrack_status_json(r, mcf->counters);

    } else {
        return NGX_HTTP_BAD_REQUEST;
    }

    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&cc, "no-store");

    if (ngx_http_clicktrack_add_header(r, "Cache-Control", &cc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = b->pos;
    body.len = b->last - b->pos;

    return ngx_http_clicktrack_send(r, NGX_HTTP_OK, type, &body);
}


static ngx_buf_t *
ngx_http_clicktrack_status_json(ngx_http_request_t *r,
    ngx_http_clicktrack_counters_t *c)
{
    size_t       size;
    ngx_buf_t   *b;
    ngx_uint_t   i;
    ngx_str_t   *name;

    size = sizeof("{}\n") + sizeof(",\"redis_connected\":false");

    for (i = 0; i < NGX_HTTP_CLICKTRACK_NCOUNTERS; i++) {
        size += sizeof(",\"\":") + ngx_http_clicktrack_counters[i].json.len
                + NGX_ATOMIC_T_LEN;
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NULL;
    }

    *b->last++ = '{';

    for (i = 0; i < NGX_HTTP_CLICKTRACK_NCOUNTERS; i++) {

        if (i == NGX_HTTP_CLICKTRACK_BEFORE_CONNECTED) {
            b->last = ngx_sprintf(b->last, ",\"redis_connected\":%s",
                                  (c->redis_up && c->redis_down == 0)
                                  ? "true" : "false");
        }

        name = &ngx_http_clicktrack_counters[i].json;

        b->last = ngx_sprintf(b->last, "%s\"%V\":%uA", i ? "," : "", name,
                              *(ngx_atomic_t *) ((u_char *) c
                                  + ngx_http_clicktrack_counters[i].offset));
    }

    b->last = ngx_cpymem(b->last, "}\n", 2);

    return b;
}


static ngx_buf_t *
ngx_http_clicktrack_status_prometheus(ngx_http_request_t *r,
    ngx_http_clicktrack_counters_t *c)
{
    size_t                          size;
    ngx_buf_t                      *b;
    ngx_uint_t                      i;
    ngx_http_clicktrack_counter_t  *m;

    size = sizeof("# HELP clicktrack_redis_connected Whether every worker is "
                  "connected to Redis.\n"
                  "# TYPE clicktrack_redis_connected gauge\n"
                  "clicktrack_redis_connected 0\n");

    for (i = 0; i < NGX_HTTP_CLICKTRACK_NCOUNTERS; i++) {
        m = &ngx_http_clicktrack_counters[i];
        size += sizeof("# HELP  \n# TYPE  \n \n") + 3 * m->prometheus.len
                + m->help.len + m->type.len + NGX_ATOMIC_T_LEN;
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NULL;
    }

    for (i = 0; i < NGX_HTTP_CLICKTRACK_NCOUNTERS; i++) {
        m = &ngx_http_clicktrack_counters[i];

        b->last = ngx_sprintf(b->last, "# HELP %V %V\n# TYPE %V %V\n%V %uA\n",
                              &m->prometheus, &m->help,
                              &m->prometheus, &m->type, &m->prometheus,
                              *(ngx_atomic_t *) ((u_char *) c + m->offset));
    }

    b->last = ngx_sprintf(b->last,
                          "# HELP clicktrack_redis_connected Whether every "
                          "worker is connected to Redis.\n"
                          "# TYPE clicktrack_redis_connected gauge\n"
                          "clicktrack_redis_connected %d\n",
                          (c->redis_up && c->redis_down == 0) ? 1 : 0);

    return b;
}
