
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_dashboard.h"
#include "ngx_http_clicktrack_beacon.h"

/* src/dashboard/dashboard.html, by util/embed-html.pl */
#include "dashboard/dashboard.html.h"


/*
 * clicktrack_dashboard STREAM_URI: one self-contained page.  The page is
 * made when the configuration is read, with STREAM_URI in place of
 * "@STREAM_URI@" (HTML-escaped), and an ETag from its bytes; nginx's
 * not_modified filter answers If-None-Match with 304.
 */


#define NGX_HTTP_CLICKTRACK_DASHBOARD_MARK  "@STREAM_URI@"


static ngx_int_t ngx_http_clicktrack_dashboard_set(ngx_http_request_t *r,
    char *key, char *value);


ngx_http_clicktrack_dashboard_t *
ngx_http_clicktrack_dashboard_make(ngx_conf_t *cf, ngx_str_t *uri)
{
    u_char                           *p, *mark, *page, *last;
    size_t                            len, mlen;
    uint32_t                          crc;
    ngx_uint_t                        i;
    ngx_http_clicktrack_dashboard_t  *d;

    page = ngx_http_clicktrack_dashboard_page;
    last = page + NGX_HTTP_CLICKTRACK_DASHBOARD_PAGE_LEN;
    mlen = sizeof(NGX_HTTP_CLICKTRACK_DASHBOARD_MARK) - 1;

    mark = ngx_strlcasestrn(page, last,
                            (u_char *) NGX_HTTP_CLICKTRACK_DASHBOARD_MARK,
                            mlen - 1);
    if (mark == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "clicktrack: the dashboard page has no \"%s\"",
                           NGX_HTTP_CLICKTRACK_DASHBOARD_MARK);
        return NULL;
    }

    for (i = 0; i < uri->len; i++) {
        if (uri->data[i] <= 0x20 || uri->data[i] == 0x7f) {
            break;
        }
    }

    if (uri->len == 0 || i < uri->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid stream URI \"%V\" in "
                           "\"clicktrack_dashboard\": no spaces or control "
                           "characters", uri);
        return NULL;
    }

    d = ngx_palloc(cf->pool, sizeof(ngx_http_clicktrack_dashboard_t));
    if (d == NULL) {
        return NULL;
    }

    len = NGX_HTTP_CLICKTRACK_DASHBOARD_PAGE_LEN - mlen
          + ngx_escape_html(NULL, uri->data, uri->len) + uri->len;

    d->page.data = ngx_pnalloc(cf->pool, len);
    if (d->page.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(d->page.data, page, mark - page);
    p = (u_char *) ngx_escape_html(p, uri->data, uri->len);
    p = ngx_cpymem(p, mark + mlen, last - mark - mlen);

    d->page.len = p - d->page.data;

    crc = ngx_crc32_long(d->page.data, d->page.len);

    d->etag.data = ngx_pnalloc(cf->pool, sizeof("\"ct-ffffffff-\"")
                                         + NGX_SIZE_T_LEN);
    if (d->etag.data == NULL) {
        return NULL;
    }

    d->etag.len = ngx_sprintf(d->etag.data, "\"ct-%08xD-%uz\"", crc,
                              d->page.len)
                  - d->etag.data;

    return d;
}


ngx_int_t
ngx_http_clicktrack_dashboard_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_buf_t                        *b;
    ngx_chain_t                       out;
    ngx_table_elt_t                  *etag;
    ngx_http_clicktrack_loc_conf_t   *lcf;
    ngx_http_clicktrack_dashboard_t  *d;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_clicktrack_dashboard_set(r, "Allow", "GET, HEAD")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);
    d = lcf->dashboard;

    etag = ngx_list_push(&r->headers_out.headers);
    if (etag == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value = d->etag;
#if (nginx_version >= 1023000)
    etag->next = NULL;
#endif
    r->headers_out.etag = etag;

    /*
     * The page reveals nothing by itself, but it is the window onto
     * visitor data: always revalidated, never framed, never sniffed.
     */

    if (ngx_http_clicktrack_dashboard_set(r, "Cache-Control", "no-cache")
        != NGX_OK
        || ngx_http_clicktrack_dashboard_set(r, "X-Frame-Options", "DENY")
           != NGX_OK
        || ngx_http_clicktrack_dashboard_set(r, "X-Content-Type-Options",
                                             "nosniff")
           != NGX_OK
        || ngx_http_clicktrack_dashboard_set(r, "Referrer-Policy",
                                             "no-referrer")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = d->page.len;
    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/html") - 1;

    r->allow_ranges = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = d->page.data;
    b->last = d->page.data + d->page.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_clicktrack_dashboard_set(ngx_http_request_t *r, char *key,
    char *value)
{
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_http_clicktrack_add_header(r, key, &v);
}
