
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_BEACON_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_BEACON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_clicktrack_beacon_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_clicktrack_visitor_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* clicktrack_visitor_hash: the HMAC's pads absorbed once, at merge time */
ngx_int_t ngx_http_clicktrack_visitor_key(ngx_pool_t *pool,
    ngx_str_t *secret, ngx_sha1_t **key);
/* a response header; every handler's answers use it */
ngx_int_t ngx_http_clicktrack_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value);


#endif /* _NGX_HTTP_CLICKTRACK_BEACON_H_INCLUDED_ */
