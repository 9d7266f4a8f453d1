
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
 * clicktrack_dashboard STREAM_URI [STATS_URI]: one self-contained page,
 * with the URIs (HTML-escaped) in place of "@STREAM_URI@" and
 * "@STATS_URI@".  With no STATS_URI the mark is left empty, and the page
 * shows the live view alone.
 */


ngx_http_clicktrack_page_t *
ngx_http_clicktrack_dashboard_make(ngx_conf_t *cf, ngx_str_t *uris,
    ngx_uint_t n)
{
    ngx_uint_t     i;
    ngx_keyval_t   marks[2];
    static char   *names[] = { "stream", "stats" };

    ngx_str_set(&marks[0].key, "@STREAM_URI@");
    ngx_str_set(&marks[1].key, "@STATS_URI@");
    ngx_str_null(&marks[1].value);

    for (i = 0; i < n; i++) {
        if (ngx_http_clicktrack_uri_valid(&uris[i]) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid %s URI \"%V\" in "
                               "\"clicktrack_dashboard\": no spaces or "
                               "control characters", names[i], &uris[i]);
            return NULL;
        }

        marks[i].value = uris[i];
    }

    return ngx_http_clicktrack_page_make(cf,
                                         ngx_http_clicktrack_dashboard_page,
                                         NGX_HTTP_CLICKTRACK_DASHBOARD_PAGE_LEN,
                                         marks, 2, ngx_escape_html);
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

