
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_js.h"
#include "ngx_http_clicktrack_page.h"

/* src/js/tracker.js without comments and indentation, by util/embed.pl */
#include "js/tracker.js.h"


/*
 * clicktrack_js BEACON_URI: the tracker script, with BEACON_URI in place
 * of "@BEACON_URI@" in a JavaScript string.  The script prefixes it with
 * its own origin, so BEACON_URI is a path.
 */


static uintptr_t ngx_http_clicktrack_js_escape(u_char *dst, u_char *src,
    size_t size);


ngx_http_clicktrack_page_t *
ngx_http_clicktrack_js_make(ngx_conf_t *cf, ngx_str_t *uri, ngx_uint_t n)
{
    ngx_keyval_t  mark;

    if (ngx_http_clicktrack_uri_valid(uri) != NGX_OK
        || uri->data[0] != '/')
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid beacon URI \"%V\" in \"clicktrack_js\": "
                           "a path that starts with \"/\", with no spaces "
                           "or control characters", uri);
        return NULL;
    }

    ngx_str_set(&mark.key, "@BEACON_URI@");
    mark.value = *uri;

    return ngx_http_clicktrack_page_make(cf, ngx_http_clicktrack_tracker,
                                         NGX_HTTP_CLICKTRACK_TRACKER_LEN,
                                         &mark, 1,
                                         ngx_http_clicktrack_js_escape);
}


ngx_int_t
ngx_http_clicktrack_js_handler(ngx_http_request_t *r)
{
    ngx_http_clicktrack_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);

    return ngx_http_clicktrack_page_send(r, lcf->page,
                                         "application/javascript; "
                                         "charset=utf-8",
                                         "public, max-age=3600");
}


/*
 * Inside a quoted JavaScript string: quotes, the backslash and the angle
 * brackets become \xHH, so that no URI can end the string or the script.
 */

static uintptr_t
ngx_http_clicktrack_js_escape(u_char *dst, u_char *src, size_t size)
{
    u_char      c;
    ngx_uint_t  n;

    static const u_char  hex[] = "0123456789abcdef";

    if (dst == NULL) {
        n = 0;

        while (size--) {
            c = *src++;
            if (c == '\'' || c == '"' || c == '\\' || c == '<' || c == '>') {
                n++;
            }
        }

        return (uintptr_t) (n * 3);
    }

    while (size--) {
        c = *src++;

        if (c == '\'' || c == '"' || c == '\\' || c == '<' || c == '>') {
            *dst++ = '\\';
            *dst++ = 'x';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];
            continue;
        }

        *dst++ = c;
    }

    return (uintptr_t) dst;
}
