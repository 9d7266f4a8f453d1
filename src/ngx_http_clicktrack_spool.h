
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


/* a record of the queue as the spool sees it when a worker leaves */

#define NGX_HTTP_CLICKTRACK_FROM_SPOOL    1   /* read back from a file */
#define NGX_HTTP_CLICKTRACK_FROM_EARLIER  2   /* ... of an earlier run */


ngx_http_clicktrack_spool_t *ngx_http_clicktrack_spool_init(
    ngx_cycle_t *cycle, ngx_http_clicktrack_main_conf_t *mcf,
    ngx_http_clicktrack_queue_t *q);

/* NGX_OK: the event is in this worker's file; NGX_DECLINED: it is not */
ngx_int_t ngx_http_clicktrack_spool_write(ngx_http_clicktrack_spool_t *sp,
    ngx_str_t *list, ngx_http_clicktrack_recent_t *recent, u_char *json,
    size_t len);

/* the queue has room again or Redis answers: read on */
void ngx_http_clicktrack_spool_replay(ngx_http_clicktrack_spool_t *sp);

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
