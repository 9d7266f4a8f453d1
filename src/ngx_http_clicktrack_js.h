
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_JS_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_JS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"


ngx_int_t ngx_http_clicktrack_js_handler(ngx_http_request_t *r);
ngx_http_clicktrack_page_t *ngx_http_clicktrack_js_make(ngx_conf_t *cf,
    ngx_str_t *beacon_uri, ngx_uint_t n);


#endif /* _NGX_HTTP_CLICKTRACK_JS_H_INCLUDED_ */
