
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_MODULE_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_sha1.h>
#include <ngx_http.h>


#define NGX_HTTP_CLICKTRACK_IP_FULL       0
#define NGX_HTTP_CLICKTRACK_IP_ANONYMIZE  1
#define NGX_HTTP_CLICKTRACK_IP_OFF        2

#define NGX_HTTP_CLICKTRACK_ORIGIN_OFF    0
#define NGX_HTTP_CLICKTRACK_ORIGIN_ANY    1
#define NGX_HTTP_CLICKTRACK_ORIGIN_LIST   2


typedef struct ngx_http_clicktrack_queue_s  ngx_http_clicktrack_queue_t;
typedef struct ngx_http_clicktrack_stream_s  ngx_http_clicktrack_stream_t;
typedef struct ngx_http_clicktrack_page_s  ngx_http_clicktrack_page_t;
typedef struct ngx_http_clicktrack_rollup_s  ngx_http_clicktrack_rollup_t;
typedef struct ngx_http_clicktrack_stats_s  ngx_http_clicktrack_stats_t;


/* clicktrack_redis: where and how to connect, resolved at configuration */

typedef struct {
    ngx_str_t                        name;        /* as written */
    u_char                          *host;        /* numeric, NUL-terminated */
    int                              port;
    u_char                          *unix_path;   /* NUL-terminated */
    ngx_str_t                        password;
    ngx_int_t                        db;
    ngx_msec_t                       connect_timeout;
    ngx_msec_t                       command_timeout;
} ngx_http_clicktrack_redis_conf_t;


/* clicktrack_recent: the capped stream of recent events */

typedef struct {
    ngx_str_t                        key;
    ngx_uint_t                       max;
    ngx_str_t                        max_text;    /* "10000", for XADD */
    ngx_str_t                        xadd;        /* all but the event */
} ngx_http_clicktrack_recent_t;


/* clicktrack_cookie */

typedef struct {
    ngx_str_t                        name;
    ngx_str_t                        attrs;       /* "; Max-Age=...; Path=/" */
} ngx_http_clicktrack_cookie_t;


/* clicktrack_field */

typedef struct {
    ngx_str_t                        name;
    ngx_http_complex_value_t         value;
} ngx_http_clicktrack_field_t;


/*
 * A worker's part of the gauges below, in the zone by process slot: the
 * worker that takes the slot of one that died takes its part back out of
 * the totals (ngx_http_clicktrack_status_share()).  Only the owner writes.
 */

typedef struct {
    ngx_pid_t                        pid;         /* 0: free */
    ngx_atomic_t                     queued;
    ngx_atomic_t                     queued_bytes;
    ngx_atomic_t                     in_flight;
    ngx_atomic_t                     redis_up;
    ngx_atomic_t                     redis_down;
    ngx_atomic_t                     stream_clients;
    ngx_atomic_t                     rollup_pending;
    ngx_atomic_t                     rollup_held; /* entries not yet sent */
} ngx_http_clicktrack_share_t;


typedef struct {
    ngx_atomic_t                     accepted;
    ngx_atomic_t                     rejected;
    ngx_atomic_t                     filtered;
    ngx_atomic_t                     queued;
    ngx_atomic_t                     queued_bytes;
    ngx_atomic_t                     in_flight;
    ngx_atomic_t                     pushed;
    ngx_atomic_t                     spooled;
    ngx_atomic_t                     replayed;
    ngx_atomic_t                     dropped;
    ngx_atomic_t                     redis_up;      /* live connections */
    ngx_atomic_t                     redis_down;    /* workers waiting */
    ngx_atomic_t                     redis_errors;
    ngx_atomic_t                     reconnects;
    ngx_atomic_t                     stream_clients;
    ngx_atomic_t                     spool_bytes;   /* for max_size */
    ngx_atomic_t                     rollup_windows;
    ngx_atomic_t                     rollup_pending;
    ngx_atomic_t                     rollup_dropped;

    ngx_http_clicktrack_share_t      shares[NGX_MAX_PROCESSES];
} ngx_http_clicktrack_counters_t;


/* this worker's share, or one nobody reads before init_process */
extern ngx_http_clicktrack_share_t  *ngx_http_clicktrack_share;


static ngx_inline void
ngx_http_clicktrack_gauge_add(ngx_atomic_t *total, ngx_atomic_t *share,
    ngx_atomic_int_t n)
{
    (void) ngx_atomic_fetch_add(total, n);
    *share += n;
}


/* ngx_http_clicktrack_gauge(counters, queued, 1): the total and our part */

#define ngx_http_clicktrack_gauge(c, gauge, n)                                \
    ngx_http_clicktrack_gauge_add(&(c)->gauge,                                \
                                  &ngx_http_clicktrack_share->gauge, n)


/* clicktrack_rollup */

typedef struct {
    ngx_str_t                        prefix;
    ngx_msec_t                       window;
    time_t                           retention;   /* seconds */
    ngx_uint_t                       top;
    ngx_int_t                        tz;          /* seconds east of UTC */
    ngx_str_t                        tz_text;     /* "+00:00" */
} ngx_http_clicktrack_rollup_conf_t;


/* clicktrack_spool */

typedef struct {
    ngx_str_t                        path;        /* NUL-terminated */
    off_t                            max_size;
} ngx_http_clicktrack_spool_conf_t;


typedef struct {
    ngx_http_clicktrack_redis_conf_t  *redis;     /* NULL: not configured */

    size_t                           queue_size;
    ngx_uint_t                       queue_batch;
    ngx_msec_t                       queue_flush;
    ngx_msec_t                       shutdown_timeout;
    ngx_http_clicktrack_spool_conf_t  *spool;     /* NULL: off */

    ngx_shm_zone_t                  *shm_zone;
    ngx_http_clicktrack_counters_t  *counters;    /* in shm_zone */

    /* this worker's queue and connection, set up in init_process */
    ngx_http_clicktrack_queue_t     *queue;

    /* the streams clicktrack_stream reads (NULL: none), this worker's hub */
    ngx_http_clicktrack_stream_t    *stream;

    /* the shortest window of the rollups beacons feed (0: none) */
    ngx_msec_t                       rollup_window;

    /* this worker's rollup sums, set up in init_process */
    ngx_http_clicktrack_rollup_t    *rollup;

    /* a location has clicktrack_stats; this worker's connection for it */
    ngx_uint_t                       stats_used;
    ngx_http_clicktrack_stats_t     *stats;

    ngx_uint_t                       used;        /* a handler is set */

    /* where the first user of Redis was configured, for "nginx -t" */
    ngx_str_t                        user_name;
    u_char                          *user_file;
    ngx_uint_t                       user_line;
} ngx_http_clicktrack_main_conf_t;


typedef struct {
    ngx_http_complex_value_t        *list;
    ngx_http_clicktrack_recent_t    *recent;      /* NULL: off */
    ngx_http_clicktrack_cookie_t    *cookie;      /* NULL: off */
    ngx_str_t                        visitor_hash;  /* SECRET; "": off */
    ngx_sha1_t                      *visitor_key;   /* HMAC's two pads */
    ngx_array_t                     *fields;      /* NULL: none */
    ngx_uint_t                       ip;
    ngx_flag_t                       ignore_bots;
    ngx_flag_t                       dnt;
    ngx_uint_t                       origin;
    ngx_array_t                     *origins;     /* of ngx_str_t */
    size_t                           max_body;
    ngx_uint_t                       max_batch;
    ngx_http_clicktrack_page_t      *page;        /* dashboard, tracker */
    ngx_http_clicktrack_rollup_conf_t  *rollup;   /* NULL: off */
    ngx_str_t                        stats_prefix;  /* clicktrack_stats */
    u_char                          *stats_file;   /* where, for nginx -t */
    ngx_uint_t                       stats_line;
    ngx_uint_t                       stream_key;  /* in mcf->stream->keys */
} ngx_http_clicktrack_loc_conf_t;


extern ngx_module_t  ngx_http_clicktrack_module;


/*
 * A whole response (status, type, body), every handler's but the SSE
 * stream's; in ngx_http_clicktrack_beacon.c, by the headers' helper.
 */

ngx_int_t ngx_http_clicktrack_send(ngx_http_request_t *r, ngx_uint_t status,
    char *type, ngx_str_t *body);


#endif /* _NGX_HTTP_CLICKTRACK_MODULE_H_INCLUDED_ */
