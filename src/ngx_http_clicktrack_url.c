
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_url.h"
#include "ngx_http_clicktrack_record.h"

#if (defined __SSE2__ && defined __GNUC__)
#include <emmintrin.h>
#define NGX_HTTP_CLICKTRACK_URL_SSE2  1
#endif


static u_char *ngx_http_clicktrack_url_authority(ngx_str_t *url,
    u_char **end);
static ngx_inline u_char *ngx_http_clicktrack_url_find(u_char *p,
    u_char *last, u_char a, u_char b, u_char c);


/*
 * The first of the bytes a, b and c in [p, last), or last: with SSE2 16
 * bytes a step while 16 are left, then a byte at a time.
 */

static ngx_inline u_char *
ngx_http_clicktrack_url_find(u_char *p, u_char *last, u_char a, u_char b,
    u_char c)
{
#if (NGX_HTTP_CLICKTRACK_URL_SSE2)
    int      mask;
    __m128i  v;

    while (last - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);

        mask = _mm_movemask_epi8(
                   _mm_or_si128(
                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(a)),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b))),
                       _mm_cmpeq_epi8(v, _mm_set1_epi8(c))));

        if (mask) {
            return p + __builtin_ctz(mask);
        }

        p += 16;
    }
#endif

    for ( /* void */ ; p < last; p++) {
        if (*p == a || *p == b || *p == c) {
            break;
        }
    }

    return p;
}


/*
 * Where the authority starts (NULL: none), and in *end where it stops:
 * "scheme://" (RFC 3986: a letter, then letters, digits, "+", "-", ".")
 * or "//" opens one; it runs to the first "/", "?" or "#".
 */

static u_char *
ngx_http_clicktrack_url_authority(ngx_str_t *url, u_char **end)
{
    u_char  *p, *last, *start;

    if (url->len == 0) {
        return NULL;
    }

    p = url->data;
    last = p + url->len;

    if (last - p >= 2 && p[0] == '/' && p[1] == '/') {
        start = p + 2;
        goto found;
    }

    if (p == last || !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')) {
        return NULL;
    }

    for (p++; p < last; p++) {
        if (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
            || (*p >= '0' && *p <= '9') || *p == '+' || *p == '-'
            || *p == '.')
        {
            continue;
        }

        break;
    }

    if (last - p < 3 || p[0] != ':' || p[1] != '/' || p[2] != '/') {
        return NULL;
    }

    start = p + 3;

found:

    *end = ngx_http_clicktrack_url_find(start, last, '/', '?', '#');

    return start;
}


void
ngx_http_clicktrack_url_path(ngx_str_t *url, ngx_str_t *path)
{
    ngx_str_t  query;

    ngx_http_clicktrack_url_parts(url, path, &query);
}


/*
 * The path and the query in one pass.  Neither "scheme://" nor the
 * authority holds a '?' or a '#', so the first of them in the URL is the
 * first after the authority: the path ends there, and the query is
 * after it when it is a '?'.
 */

void
ngx_http_clicktrack_url_parts(ngx_str_t *url, ngx_str_t *path,
    ngx_str_t *query)
{
    u_char  *p, *q, *start, *last;

    if (url->len == 0) {
        ngx_str_set(path, "/");
        ngx_str_null(query);
        return;
    }

    last = url->data + url->len;

    if (ngx_http_clicktrack_url_authority(url, &start) == NULL) {
        start = url->data;
    }

    p = ngx_http_clicktrack_url_find(start, last, '?', '#', '#');

    if (p == start) {
        ngx_str_set(path, "/");

    } else {
        path->data = start;
        path->len = p - start;
    }

    if (p == last || *p == '#') {
        ngx_str_null(query);
        return;
    }

    p++;

    q = ngx_strlchr(p, last, '#');

    query->data = p;
    query->len = (q ? q : last) - p;
}


void
ngx_http_clicktrack_url_host(ngx_str_t *url, ngx_str_t *host)
{
    u_char  *p, *start, *end;

    start = ngx_http_clicktrack_url_authority(url, &end);

    if (start == NULL) {
        ngx_str_null(host);
        return;
    }

    /* userinfo: up to the last "@"; most have none */

    if (memchr(start, '@', end - start) != NULL) {
        for (p = end; p > start; p--) {
            if (p[-1] == '@') {
                start = p;
                break;
            }
        }
    }

    /* a port: after the last ":" that is not inside an IPv6 literal */

    if (memchr(start, ':', end - start) == NULL) {
        host->data = start;
        host->len = end - start;
        return;
    }

    for (p = end; p > start; p--) {
        if (p[-1] == ']') {
            break;
        }

        if (p[-1] == ':') {
            end = p - 1;
            break;
        }
    }

    host->data = start;
    host->len = end - start;
}


void
ngx_http_clicktrack_url_query(ngx_str_t *url, ngx_str_t *query)
{
    u_char  *p, *q, *last;

    if (url->len == 0) {
        ngx_str_null(query);
        return;
    }

    last = url->data + url->len;

    p = ngx_strlchr(url->data, last, '?');

    if (p == NULL) {
        ngx_str_null(query);
        return;
    }

    /* a "?" inside the fragment is not a query */

    q = ngx_strlchr(url->data, p, '#');

    if (q != NULL) {
        ngx_str_null(query);
        return;
    }

    p++;

    q = ngx_strlchr(p, last, '#');

    query->data = p;
    query->len = (q ? q : last) - p;
}


ngx_int_t
ngx_http_clicktrack_url_arg(ngx_str_t *query, u_char *name, size_t len,
    u_char *buf, ngx_str_t *value)
{
    u_char     *p, *last, *end, *d;
    ngx_int_t   hi, lo;

    if (query->len == 0) {
        return NGX_DECLINED;
    }

    p = query->data;
    last = p + query->len;

    while (p < last) {

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) > len && p[len] == '='
            && ngx_strncmp(p, name, len) == 0)
        {
            d = buf;

            for (p += len + 1; p < end; p++) {

                if (*p == '+') {
                    *d++ = ' ';
                    continue;
                }

                if (*p != '%') {
                    *d++ = *p;
                    continue;
                }

                if (end - p < 3) {
                    return NGX_DECLINED;
                }

                hi = ngx_http_clicktrack_hex_digit(p[1]);
                lo = ngx_http_clicktrack_hex_digit(p[2]);

                if (hi < 0 || lo < 0) {
                    return NGX_DECLINED;
                }

                *d++ = (u_char) (hi << 4 | lo);
                p += 2;
            }

            if (d == buf) {
                return NGX_DECLINED;
            }

            value->data = buf;
            value->len = d - buf;

            return NGX_OK;
        }

        p = end + 1;
    }

    return NGX_DECLINED;
}
