
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_FILTER_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_FILTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"


/* builds the bot automaton, once per configuration */
ngx_int_t ngx_http_clicktrack_filter_init(ngx_conf_t *cf);

/*
 * NGX_OK if the request's origin may send beacons here, with *allow set to
 * what Access-Control-Allow-Origin echoes (empty: no CORS headers), or
 * NGX_DECLINED (403).
 */
ngx_int_t ngx_http_clicktrack_filter_origin(ngx_http_request_t *r,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_str_t *allow);

/* 1 if the User-Agent is a crawler's, a headless browser's or a preview's */
ngx_uint_t ngx_http_clicktrack_filter_bot(ngx_http_request_t *r);

/* 1 for "DNT: 1" or "Sec-GPC: 1" */
ngx_uint_t ngx_http_clicktrack_filter_no_track(ngx_http_request_t *r);


#endif /* _NGX_HTTP_CLICKTRACK_FILTER_H_INCLUDED_ */
