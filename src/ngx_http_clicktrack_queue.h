
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_QUEUE_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_QUEUE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_module.h"


ngx_int_t ngx_http_clicktrack_queue_init(ngx_cycle_t *cycle,
    ngx_http_clicktrack_main_conf_t *mcf);
void ngx_http_clicktrack_queue_exit(ngx_http_clicktrack_queue_t *q);

/*
 * Copies one event into the queue.  NGX_DECLINED: the queue is full and the
 * event was dropped (counted, logged).
 */
ngx_int_t ngx_http_clicktrack_queue_push(ngx_http_clicktrack_queue_t *q,
    ngx_str_t *list, ngx_http_clicktrack_recent_t *recent, u_char *json,
    size_t len);


/*
 * Writes recent->xadd, "XADD key MAXLEN ~ max * e" in Redis' protocol,
 * counting the event that follows it, from key and max_text.
 */
ngx_int_t ngx_http_clicktrack_queue_recent(ngx_pool_t *pool,
    ngx_http_clicktrack_recent_t *recent);


#endif /* _NGX_HTTP_CLICKTRACK_QUEUE_H_INCLUDED_ */
