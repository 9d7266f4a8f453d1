
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_page.h"
#include "ngx_http_clicktrack_beacon.h"


/*
 * MARKS (the mark in key, its value) come in the order they appear in
 * the file, each once; every value is escaped as ESCAPE does.
 */

ngx_http_clicktrack_page_t *
ngx_http_clicktrack_page_make(ngx_conf_t *cf, u_char *file, size_t len,
    ngx_keyval_t *marks, ngx_uint_t n, ngx_http_clicktrack_escape_pt escape)
{
    u_char                      *p, *from, *last;
    u_char                      *at[NGX_HTTP_CLICKTRACK_PAGE_MARKS];
    size_t                       size;
    uint32_t                     crc;
    ngx_uint_t                   i;
    ngx_str_t                   *v;
    ngx_http_clicktrack_page_t  *page;

    last = file + len;
    from = file;
    size = len;

    for (i = 0; i < n; i++) {
        at[i] = ngx_strlcasestrn(from, last, marks[i].key.data,
                                 marks[i].key.len - 1);
        if (at[i] == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "clicktrack: the embedded page has no "
                               "\"%V\"", &marks[i].key);
            return NULL;
        }

        v = &marks[i].value;
        size += v->len + escape(NULL, v->data, v->len) - marks[i].key.len;
        from = at[i] + marks[i].key.len;
    }

    page = ngx_palloc(cf->pool, sizeof(ngx_http_clicktrack_page_t));
    if (page == NULL) {
        return NULL;
    }

    page->body.data = ngx_pnalloc(cf->pool, size);
    if (page->body.data == NULL) {
        return NULL;
    }

    p = page->body.data;
    from = file;

    for (i = 0; i < n; i++) {
        v = &marks[i].value;
        p = ngx_cpymem(p, from, at[i] - from);
        p = (u_char *) escape(p, v->data, v->len);
        from = at[i] + marks[i].key.len;
    }

    p = ngx_cpymem(p, from, last - from);

    page->body.len = p - page->body.data;

    crc = ngx_crc32_long(page->body.data, page->body.len);

    page->etag.data = ngx_pnalloc(cf->pool, sizeof("\"ct-ffffffff-\"")
                                            + NGX_SIZE_T_LEN);
    if (page->etag.data == NULL) {
        return NULL;
    }

    page->etag.len = ngx_sprintf(page->etag.data, "\"ct-%08xD-%uz\"", crc,
                                 page->body.len)
                     - page->etag.data;

    return page;
}


/*
 * GET and HEAD, with the ETag; nginx's not_modified filter answers a
 * matching If-None-Match with 304, and gzip (gzip_types) applies.
 */

ngx_int_t
ngx_http_clicktrack_page_send(ngx_http_request_t *r,
    ngx_http_clicktrack_page_t *page, char *type, char *cache_control)
{
    ngx_list_part_t  *part;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_clicktrack_page_header(r, "Allow", "GET, HEAD")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    if (ngx_http_clicktrack_add_header(r, "ETag", &page->etag) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the header just added, for the not_modified filter to compare */

    part = r->headers_out.headers.last;
    r->headers_out.etag = (ngx_table_elt_t *) part->elts + part->nelts - 1;

    if (ngx_http_clicktrack_page_header(r, "Cache-Control", cache_control)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->allow_ranges = 1;

    return ngx_http_clicktrack_send(r, NGX_HTTP_OK, type, &page->body);
}


ngx_int_t
ngx_http_clicktrack_page_header(ngx_http_request_t *r, char *key,
    char *value)
{
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_http_clicktrack_add_header(r, key, &v);
}


/* a URI to put in a page: not empty, no spaces or control characters */

ngx_int_t
ngx_http_clicktrack_uri_valid(ngx_str_t *uri)
{
    ngx_uint_t  i;

    if (uri->len == 0) {
        return NGX_DECLINED;
    }

    for (i = 0; i < uri->len; i++) {
        if (uri->data[i] <= 0x20 || uri->data[i] == 0x7f) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}
