
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_ROLLUP_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_ROLLUP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_record.h"


/*
 * The rollups (clicktrack_rollup): each worker sums its events in memory
 * for a window, then sends the sums to Redis in one pipelined round trip
 * on a connection of their own (docs/stats.md has the key layout).
 */


/*
 * The tables (sorted sets, PREFIX:{SITE}:DAY:NAME), in the stats API's
 * order (SPEC section 11): the one list of them, for the rollups that
 * write them and the stats that read them.
 */

#define ngx_http_clicktrack_rollup_tables(table)                              \
    table(PAGES, "pages")                                                     \
    table(REFERRERS, "referrers")                                             \
    table(UTM_SOURCE, "utm_source")                                           \
    table(UTM_MEDIUM, "utm_medium")                                           \
    table(UTM_CAMPAIGN, "utm_campaign")                                       \
    table(UTM_CONTENT, "utm_content")                                         \
    table(UTM_TERM, "utm_term")                                               \
    table(COUNTRIES, "countries")                                             \
    table(BROWSERS, "browsers")                                               \
    table(OS, "os")                                                           \
    table(DEVICES, "devices")                                                 \
    table(EVENTS, "events")                                                   \
    table(LABELS, "labels")                                                   \
    table(OUTBOUND, "outbound")                                               \
    table(DOWNLOADS, "downloads")

#define ngx_http_clicktrack_rollup_count(name, text)  + 1

#define NGX_HTTP_CLICKTRACK_ROLLUP_NTABLES                                    \
    (0 ngx_http_clicktrack_rollup_tables(ngx_http_clicktrack_rollup_count))

/* the tables' names, by their order above */
extern char  *ngx_http_clicktrack_rollup_table_names[];


/* at most this many distinct entries, and bytes of names, per window */
#define NGX_HTTP_CLICKTRACK_ROLLUP_ENTRIES  65536
#define NGX_HTTP_CLICKTRACK_ROLLUP_BYTES    (8 * 1024 * 1024)

/* the windows kept while Redis is away: at most this many, and bytes */
#define NGX_HTTP_CLICKTRACK_ROLLUP_PENDING        3600
#define NGX_HTTP_CLICKTRACK_ROLLUP_PENDING_BYTES  (64 * 1024 * 1024)

/* how long the per-minute unique counts live, at most (seconds) */
#define NGX_HTTP_CLICKTRACK_ROLLUP_MINUTES  3600


/* in init_process, when a beacon location has rollups */
ngx_int_t ngx_http_clicktrack_rollup_init(ngx_cycle_t *cycle,
    ngx_http_clicktrack_main_conf_t *mcf);
void ngx_http_clicktrack_rollup_exit(ngx_http_clicktrack_main_conf_t *mcf);

/* an event the beacon recorded, summed into this worker's window */
void ngx_http_clicktrack_rollup_add(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_conf_t *conf, ngx_http_clicktrack_event_t *ev,
    ngx_http_clicktrack_common_t *common);

/* "+05:30", "-08:00": seconds east of UTC, or NGX_ERROR */
ngx_int_t ngx_http_clicktrack_rollup_parse_tz(ngx_str_t *text);


#endif /* _NGX_HTTP_CLICKTRACK_ROLLUP_H_INCLUDED_ */
