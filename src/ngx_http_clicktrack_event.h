
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_EVENT_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_EVENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_record.h"


/*
 * The event layer: beacon keys in, events out (the record unit writes
 * them).  It knows nothing of nginx's request objects (only ngx_core), so
 * that a fuzzer can drive it directly.  Parsers return NGX_OK,
 * NGX_DECLINED (bad input: *err names the key or the fault, allocated from
 * the pool) or NGX_ERROR (out of memory).
 */


/*
 * application/x-www-form-urlencoded keys (a query string or a form body)
 * into one event; "+" is a space.
 */
ngx_int_t ngx_http_clicktrack_parse_form(ngx_pool_t *pool, u_char *p,
    size_t len, ngx_http_clicktrack_event_t *ev, ngx_str_t *err);

/*
 * One JSON object, or an array of 1..max_batch objects.  On NGX_OK,
 * *events points to *nevents parsed events.
 */
ngx_int_t ngx_http_clicktrack_parse_json(ngx_pool_t *pool, u_char *p,
    size_t len, ngx_uint_t max_batch, ngx_http_clicktrack_event_t **events,
    ngx_uint_t *nevents, ngx_str_t *err);


#endif /* _NGX_HTTP_CLICKTRACK_EVENT_H_INCLUDED_ */
