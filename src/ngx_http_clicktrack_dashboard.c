
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_dashboard.h"
#include "ngx_http_clicktrack_page.h"

/* src/dashboard/dashboard.html, by util/embed.pl */
#include "dashboard/dashboard.html.h"


/*
 * clicktrack_dashboard STREAM_URI: one self-contained page, with
 * STREAM_URI (HTML-escaped) in place of "@STREAM_URI@".
 */


ngx_http_clicktrack_page_t *
ngx_http_clicktrack_dashboard_make(ngx_conf_t *cf, ngx_str_t *uri)
{
    if (ngx_http_clicktrack_uri_valid(uri) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid stream URI \"%V\" in "
                           "\"clicktrack_dashboard\": no spaces or control "
                           "characters", uri);
        return NULL;
    }

    return ngx_http_clicktrack_page_make(cf,
                                         ngx_http_clicktrack_dashboard_page,
                                         NGX_HTTP_CLICKTRACK_DASHBOARD_PAGE_LEN,
                                         "@STREAM_URI@", uri,
                                         ngx_escape_html);
}


ngx_int_t
ngx_http_clicktrack_dashboard_handler(ngx_http_request_t *r)
{
    ngx_http_clicktrack_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);

    /*
     * The page reveals nothing by itself, but it is the window onto
     * visitor data: always revalidated, never framed, never sniffed.
     */

    if (ngx_http_clicktrack_page_header(r, "X-Frame-Options", "DENY")
        != NGX_OK
        || ngx_http_clicktrack_page_header(r, "X-Content-Type-Options",
                                           "nosniff")
           != NGX_OK
        || ngx_http_clicktrack_page_header(r, "Referrer-Policy",
                                           "no-referrer")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_clicktrack_page_send(r, lcf->page,
                                         "text/html; charset=utf-8",
                                         "no-cache");
}

