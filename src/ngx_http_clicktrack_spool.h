
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_SPOOL_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_SPOOL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_module.h"


/*
 * The spool: files of one event per line under clicktrack_spool PATH.  A
 * worker appends what its full queue cannot take to its own file, claims
 * files by rename to replay them through its queue once Redis answers, and
 * removes a file once Redis has confirmed every event read from it.
 */


typedef struct ngx_http_clicktrack_spool_s  ngx_http_clicktrack_spool_t;


/* how often the queue looks for files to replay, in milliseconds */
#define NGX_HTTP_CLICKTRACK_SPOOL_TICK    1000


/* a record of the queue as the spool sees it when a worker leaves */

#define NGX_HTTP_CLICKTRACK_FROM_SPOOL    1   /* read back from a file */
#define NGX_HTTP_CLICKTRACK_FROM_EARLIER  2   /* ... of an earlier run */


/* an event read back from a file, in the file's buffer */

typedef struct {
    u_char                          *start;     /* in the buffer, as read */
    ngx_str_t                        list;
    ngx_str_t                        recent;    /* empty: off */
    ngx_str_t                        max;
    ngx_str_t                        json;
    ngx_uint_t                       from;      /* NGX_HTTP_CLICKTRACK_FROM_* */
} ngx_http_clicktrack_spool_event_t;


ngx_http_clicktrack_spool_t *ngx_http_clicktrack_spool_init(
    ngx_cycle_t *cycle, ngx_http_clicktrack_main_conf_t *mcf);

/* NGX_OK: the event is in this worker's file; NGX_DECLINED: it is not */
ngx_int_t ngx_http_clicktrack_spool_write(ngx_http_clicktrack_spool_t *sp,
    ngx_str_t *list, ngx_http_clicktrack_recent_t *recent, u_char *json,
    size_t len);

/*
 * The replay, which the queue drives: spool_claim() has a file to read
 * (NGX_OK; it claims a leftover when none is open, and stops writing
 * this worker's own file); spool_read() gives its next event (NGX_OK),
 * or NGX_DONE (none now: the file is done, or replay holds as many events
 * unconfirmed as it may) or NGX_AGAIN (a read failed, logged); the queue
 * says with spool_taken() whether it took the event, else it is read
 * again next time.
 */
ngx_int_t ngx_http_clicktrack_spool_claim(ngx_http_clicktrack_spool_t *sp);
ngx_int_t ngx_http_clicktrack_spool_read(ngx_http_clicktrack_spool_t *sp,
    ngx_http_clicktrack_spool_event_t *ev);
void ngx_http_clicktrack_spool_taken(ngx_http_clicktrack_spool_t *sp,
    ngx_http_clicktrack_spool_event_t *ev, ngx_uint_t taken);

/* Redis has confirmed the next n events read back, in order */
void ngx_http_clicktrack_spool_confirmed(ngx_http_clicktrack_spool_t *sp,
    ngx_uint_t n);

/*
 * The worker leaves: a record still in its queue.  Live events are
 * appended to the file; events read back stay in the file they came from.
 * NGX_DECLINED: the event could not be kept.
 */
ngx_int_t ngx_http_clicktrack_spool_keep(ngx_http_clicktrack_spool_t *sp,
    ngx_uint_t from, ngx_str_t *list, ngx_http_clicktrack_recent_t *recent,
    u_char *json, size_t len);

/* after spool_keep for every record: close the files */
void ngx_http_clicktrack_spool_exit(ngx_http_clicktrack_spool_t *sp);


#endif /* _NGX_HTTP_CLICKTRACK_SPOOL_H_INCLUDED_ */
