
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_PAGE_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_PAGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"


/*
 * An embedded file (the dashboard, the tracker) as one location serves
 * it: made once when the configuration is read, with the location's
 * argument in place of a mark, and an ETag from its bytes.
 */

struct ngx_http_clicktrack_page_s {
    ngx_str_t                          body;
    ngx_str_t                          etag;
};


/* the most marks a page has */

#define NGX_HTTP_CLICKTRACK_PAGE_MARKS  2


/* as ngx_escape_html(): the added length with dst NULL, else the end */

typedef uintptr_t (*ngx_http_clicktrack_escape_pt)(u_char *dst, u_char *src,
    size_t size);


ngx_http_clicktrack_page_t *ngx_http_clicktrack_page_make(ngx_conf_t *cf,
    u_char *file, size_t len, ngx_keyval_t *marks, ngx_uint_t n,
    ngx_http_clicktrack_escape_pt escape);
ngx_int_t ngx_http_clicktrack_page_send(ngx_http_request_t *r,
    ngx_http_clicktrack_page_t *page, char *type, char *cache_control);
ngx_int_t ngx_http_clicktrack_page_header(ngx_http_request_t *r, char *key,
    char *value);
ngx_int_t ngx_http_clicktrack_uri_valid(ngx_str_t *uri);


#endif /* _NGX_HTTP_CLICKTRACK_PAGE_H_INCLUDED_ */
