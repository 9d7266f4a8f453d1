
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_STATS_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_STATS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_redis.h"
#include "ngx_http_clicktrack_rollup.h"


/*
 * clicktrack_stats: the rollups read back over a range of days, as JSON
 * or CSV (SPEC section 11, docs/stats.md).  Each worker reads on a Redis
 * connection of the stats' own, one pipeline per answer (two when the
 * site is to be found first).
 */


ngx_int_t ngx_http_clicktrack_stats_handler(ngx_http_request_t *r);

/* in init_process, when a location has clicktrack_stats */
ngx_int_t ngx_http_clicktrack_stats_init(ngx_cycle_t *cycle,
    ngx_http_clicktrack_main_conf_t *mcf);
void ngx_http_clicktrack_stats_exit(ngx_http_clicktrack_main_conf_t *mcf);


/* what the two units of clicktrack_stats share */


#define NGX_HTTP_CLICKTRACK_STATS_MAX_DAYS   366
#define NGX_HTTP_CLICKTRACK_STATS_LIMIT      10
#define NGX_HTTP_CLICKTRACK_STATS_SERIES     (-2)

#define NGX_HTTP_CLICKTRACK_STATS_DOWN       "clicktrack: redis is unreachable"

/* a table's union lives this long at most (seconds), should DEL not come */
#define NGX_HTTP_CLICKTRACK_STATS_TMP_TTL    "30"


typedef enum {
    NGX_HTTP_CLICKTRACK_R_SITES = 0,     /* a day's sites */
    NGX_HTTP_CLICKTRACK_R_COUNTS,        /* a day's counts hash */
    NGX_HTTP_CLICKTRACK_R_POINT,         /* a point's visitors */
    NGX_HTTP_CLICKTRACK_R_VISITORS,      /* the range's visitors */
    NGX_HTTP_CLICKTRACK_R_VISITS,        /* the range's visits */
    NGX_HTTP_CLICKTRACK_R_NOW,           /* the last five minutes' */
    NGX_HTTP_CLICKTRACK_R_TABLE,         /* a table's entries */
    NGX_HTTP_CLICKTRACK_R_IGNORE         /* ZUNIONSTORE, EXPIRE, DEL */
} ngx_http_clicktrack_stats_reply_e;


typedef struct {
    ngx_str_t                          name;
    ngx_uint_t                         count;
} ngx_http_clicktrack_stats_row_t;


/* one range's figures: the asked one, or the one compared with */

typedef struct {
    ngx_int_t                          from;      /* days since 1970 */
    ngx_int_t                          to;
    ngx_uint_t                         npoints;   /* days, or 24 hours */
    ngx_uint_t                        *visitors;  /* per point */
    ngx_uint_t                        *pageviews;
    ngx_uint_t                         events;
    ngx_uint_t                         total_pageviews;
    ngx_uint_t                         total_visitors;
    ngx_uint_t                         total_visits;
    ngx_uint_t                         engaged;   /* ms */
    ngx_uint_t                         viewed;    /* visits with a view */
    ngx_uint_t                         multi;     /* ... with two or more */
} ngx_http_clicktrack_stats_range_t;


typedef struct ngx_http_clicktrack_stats_ctx_s
    ngx_http_clicktrack_stats_ctx_t;


/* the commands in flight for a request: ngx_alloc()ed, they outlive it */

typedef struct {
    ngx_http_clicktrack_stats_ctx_t   *ctx;       /* NULL: request gone */
    ngx_uint_t                         pending;
} ngx_http_clicktrack_stats_query_t;


typedef struct {
    ngx_http_clicktrack_stats_query_t *query;
    uint16_t                           kind;
    uint16_t                           range;
    uint32_t                           index;
} ngx_http_clicktrack_stats_slot_t;


struct ngx_http_clicktrack_stats_ctx_s {
    ngx_http_request_t                *request;
    ngx_http_clicktrack_stats_t       *stats;
    ngx_http_clicktrack_stats_query_t *query;
    ngx_queue_t                        queue;     /* waiting to connect */

    /* the question */
    ngx_str_t                          prefix;
    ngx_int_t                          tz;
    ngx_str_t                          tz_text;
    ngx_uint_t                         top;
    ngx_str_t                          site;      /* empty: the busiest */
    ngx_uint_t                         limit;
    ngx_int_t                          table;     /* for CSV */
    ngx_uint_t                         ranges;    /* 1, or 2 to compare */

    ngx_http_clicktrack_stats_range_t  range[2];

    /* the answer */
    ngx_array_t                        sites;     /* of stats_row_t */
    ngx_array_t                  tables[NGX_HTTP_CLICKTRACK_ROLLUP_NTABLES];
    ngx_uint_t                         now;

    unsigned                           waiting:1;
    unsigned                           list_sites:1;
    unsigned                           csv:1;
    unsigned                           hourly:1;
    unsigned                           compare_year:1;
    unsigned                           failed:1;
    unsigned                           found:1;   /* the sites phase done */
};


struct ngx_http_clicktrack_stats_s {
    ngx_http_clicktrack_redis_t        redis;
    ngx_queue_t                        waiting;
    ngx_uint_t                         seq;       /* for the union keys */
};


/* the request side (ngx_http_clicktrack_stats.c) */
u_char *ngx_http_clicktrack_stats_day_text(u_char *p, ngx_int_t day);
ngx_int_t ngx_http_clicktrack_stats_send(ngx_http_request_t *r,
    ngx_uint_t status, char *type, ngx_str_t *body);
void ngx_http_clicktrack_stats_unavailable(
    ngx_http_clicktrack_stats_ctx_t *ctx);

/* the reads and the answers (ngx_http_clicktrack_stats_read.c) */
ngx_int_t ngx_http_clicktrack_stats_start(
    ngx_http_clicktrack_stats_ctx_t *ctx);


#endif /* _NGX_HTTP_CLICKTRACK_STATS_H_INCLUDED_ */
