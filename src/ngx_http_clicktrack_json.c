
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_json.h"


/*
 * The JSON tokenizer the beacon's parser walks a document with (RFC 8259):
 * whitespace, strings (checked, and decoded when they hold escapes),
 * numbers, literals, members and the separators between them, and whole
 * values skipped.  Every fault is "malformed JSON at byte N" (N the 0-based
 * offset of the first byte that cannot be accepted) or "JSON nested too
 * deeply".
 */


static ngx_int_t ngx_http_clicktrack_json_scan_string(
    ngx_http_clicktrack_json_t *j, ngx_uint_t *escaped);
static ngx_uint_t ngx_http_clicktrack_json_hex4(u_char *p);
static ngx_int_t ngx_http_clicktrack_json_skip_scalar(
    ngx_http_clicktrack_json_t *j);


void
ngx_http_clicktrack_json_ws(ngx_http_clicktrack_json_t *j)
{
    while (j->pos < j->end) {
        switch (*j->pos) {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            j->pos++;
            continue;
        }

        break;
    }
}


/*
 * NGX_DECLINED with the reason, or NGX_ERROR.  Spelled out rather than
 * passed on from ngx_http_clicktrack_record_error(): the clang static
 * analyzer does not follow a variadic call, so it would take NGX_OK as a
 * possible answer and walk every malformed-JSON path on with the name or
 * value never set (make lint).
 */

ngx_int_t
ngx_http_clicktrack_json_malformed(ngx_http_clicktrack_json_t *j, u_char *p)
{
    if (ngx_http_clicktrack_record_error(j->pool, j->err,
                                         "malformed JSON at byte %uz",
                                         (size_t) (p - j->start))
        == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * Checks the string at j->pos (on its '"') and moves past it; *escaped
 * tells whether it holds any escape.
 */

static ngx_int_t
ngx_http_clicktrack_json_scan_string(ngx_http_clicktrack_json_t *j,
    ngx_uint_t *escaped)
{
    u_char      *p, *end;
    ngx_uint_t   i;

    *escaped = 0;

    end = j->end;
    p = j->pos + 1;

    for ( ;; ) {

        if (p == end) {
            return ngx_http_clicktrack_json_malformed(j, p);
        }

        if (*p == '"') {
            break;
        }

        if (*p < 0x20) {
            return ngx_http_clicktrack_json_malformed(j, p);
        }

        if (*p != '\\') {
            p++;
            continue;
        }

        *escaped = 1;

        if (++p == end) {
            return ngx_http_clicktrack_json_malformed(j, p);
        }

        switch (*p) {

        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            p++;
            continue;

        case 'u':
            for (i = 1; i <= 4; i++) {
                if (p + i == end) {
                    return ngx_http_clicktrack_json_malformed(j, p + i);
                }

                if (ngx_hextoi(p + i, 1) == NGX_ERROR) {
                    return ngx_http_clicktrack_json_malformed(j, p + i);
                }
            }

            p += 5;
            continue;

        default:
            return ngx_http_clicktrack_json_malformed(j, p);
        }
    }

    j->pos = p + 1;

    return NGX_OK;
}


/* the four hex digits at p, already checked */

static ngx_uint_t
ngx_http_clicktrack_json_hex4(u_char *p)
{
    return (ngx_uint_t) ngx_hextoi(p, 4);
}


/*
 * The string at j->pos, decoded: without escapes it points into the
 * input, else to a copy (never longer than the escaped text).
 */

ngx_int_t
ngx_http_clicktrack_json_string(ngx_http_clicktrack_json_t *j, ngx_str_t *s)
{
    u_char      c, *d, *p, *last;
    ngx_int_t   rc;
    ngx_uint_t  escaped, cp, lo;

    p = j->pos + 1;

    rc = ngx_http_clicktrack_json_scan_string(j, &escaped);
    if (rc != NGX_OK) {
        return rc;
    }

    last = j->pos - 1;

    if (!escaped) {
        s->data = p;
        s->len = last - p;
        return NGX_OK;
    }

    d = ngx_pnalloc(j->pool, last - p);
    if (d == NULL) {
        return NGX_ERROR;
    }

    s->data = d;

    while (p < last) {

        if (*p != '\\') {
            *d++ = *p++;
            continue;
        }

        p++;
        c = *p++;

        switch (c) {
        case 'b':
            *d++ = '\b';
            continue;
        case 'f':
            *d++ = '\f';
            continue;
        case 'n':
            *d++ = '\n';
            continue;
        case 'r':
            *d++ = '\r';
            continue;
        case 't':
            *d++ = '\t';
            continue;
        case 'u':
            break;
        default:            /* '"', '\\', '/' */
            *d++ = c;
            continue;
        }

        cp = ngx_http_clicktrack_json_hex4(p);
        p += 4;

        if (cp >= 0xd800 && cp <= 0xdbff) {

            /* a high surrogate: a low one must follow, else U+FFFD */

            if (last - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                lo = ngx_http_clicktrack_json_hex4(p + 2);

                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;

                } else {
                    cp = 0xfffd;
                }

            } else {
                cp = 0xfffd;
            }

        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            cp = 0xfffd;
        }

        d = ngx_http_clicktrack_record_utf8_put(d, cp);
    }

    s->len = d - s->data;

    return NGX_OK;
}


/* RFC 8259: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */

ngx_int_t
ngx_http_clicktrack_json_number(ngx_http_clicktrack_json_t *j, ngx_str_t *s)
{
    u_char  *p, *end;

    p = j->pos;
    end = j->end;

    if (p < end && *p == '-') {
        p++;
    }

    if (p == end) {
        return ngx_http_clicktrack_json_malformed(j, p);
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return ngx_http_clicktrack_json_malformed(j, p);
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return ngx_http_clicktrack_json_malformed(j, p);
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return ngx_http_clicktrack_json_malformed(j, p);
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    s->data = j->pos;
    s->len = p - j->pos;

    j->pos = p;

    return NGX_OK;
}


ngx_int_t
ngx_http_clicktrack_json_literal(ngx_http_clicktrack_json_t *j,
    const char *lit, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (j->pos + i == j->end || j->pos[i] != (u_char) lit[i]) {
            return ngx_http_clicktrack_json_malformed(j, j->pos + i);
        }
    }

    j->pos += n;

    return NGX_OK;
}


/* a string, number or literal at j->pos (not a container) */

static ngx_int_t
ngx_http_clicktrack_json_skip_scalar(ngx_http_clicktrack_json_t *j)
{
    ngx_str_t   s;
    ngx_uint_t  escaped;

    if (j->pos == j->end) {
        return ngx_http_clicktrack_json_malformed(j, j->pos);
    }

    switch (*j->pos) {

    case '"':
        return ngx_http_clicktrack_json_scan_string(j, &escaped);

    case 't':
        return ngx_http_clicktrack_json_literal(j, "true", 4);

    case 'f':
        return ngx_http_clicktrack_json_literal(j, "false", 5);

    case 'n':
        return ngx_http_clicktrack_json_literal(j, "null", 4);

    default:
        return ngx_http_clicktrack_json_number(j, &s);
    }
}


/*
 * Checks and moves past any value at j->pos, without recursion: a stack
 * of the open containers, depth of them already open around the value.
 */

ngx_int_t
ngx_http_clicktrack_json_skip(ngx_http_clicktrack_json_t *j,
    ngx_uint_t depth)
{
    u_char      c;
    ngx_int_t   rc;
    ngx_uint_t  n, escaped;
    u_char      stack[NGX_HTTP_CLICKTRACK_MAX_DEPTH];

    n = 0;

    for ( ;; ) {

        /* a value is expected at j->pos */

        ngx_http_clicktrack_json_ws(j);

        if (j->pos < j->end && (*j->pos == '{' || *j->pos == '[')) {

            if (depth + n + 1 > NGX_HTTP_CLICKTRACK_MAX_DEPTH) {
                return ngx_http_clicktrack_record_error(j->pool, j->err,
                    "JSON nested too deeply");
            }

            c = *j->pos++;
            stack[n++] = (c == '{') ? '}' : ']';

            ngx_http_clicktrack_json_ws(j);

            if (j->pos < j->end && *j->pos == stack[n - 1]) {
                /* empty */
                j->pos++;
                n--;
                goto next;
            }

            if (c == '[') {
                continue;
            }

            goto member;
        }

        rc = ngx_http_clicktrack_json_skip_scalar(j);
        if (rc != NGX_OK) {
            return rc;
        }

    next:

        /* after a value: the end, or a separator, or a close */

        if (n == 0) {
            return NGX_OK;
        }

        ngx_http_clicktrack_json_ws(j);

        if (j->pos == j->end) {
            return ngx_http_clicktrack_json_malformed(j, j->pos);
        }

        if (*j->pos == stack[n - 1]) {
            j->pos++;
            n--;
            goto next;
        }

        if (*j->pos != ',') {
            return ngx_http_clicktrack_json_malformed(j, j->pos);
        }

        j->pos++;

        if (stack[n - 1] == ']') {
            continue;
        }

    member:

        /* in an object: "name" : */

        ngx_http_clicktrack_json_ws(j);

        if (j->pos == j->end || *j->pos != '"') {
            return ngx_http_clicktrack_json_malformed(j, j->pos);
        }

        rc = ngx_http_clicktrack_json_scan_string(j, &escaped);
        if (rc != NGX_OK) {
            return rc;
        }

        ngx_http_clicktrack_json_ws(j);

        if (j->pos == j->end || *j->pos != ':') {
            return ngx_http_clicktrack_json_malformed(j, j->pos);
        }

        j->pos++;
    }
}


/* an object member's name and ':', leaving j->pos on the value */

ngx_int_t
ngx_http_clicktrack_json_member(ngx_http_clicktrack_json_t *j,
    ngx_str_t *name)
{
    ngx_int_t  rc;

    ngx_http_clicktrack_json_ws(j);

    if (j->pos == j->end || *j->pos != '"') {
        return ngx_http_clicktrack_json_malformed(j, j->pos);
    }

    rc = ngx_http_clicktrack_json_string(j, name);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_clicktrack_json_ws(j);

    if (j->pos == j->end || *j->pos != ':') {
        return ngx_http_clicktrack_json_malformed(j, j->pos);
    }

    j->pos++;

    ngx_http_clicktrack_json_ws(j);

    if (j->pos == j->end) {
        return ngx_http_clicktrack_json_malformed(j, j->pos);
    }

    return NGX_OK;
}


/* after a member: NGX_AGAIN on ',', NGX_OK on close */

ngx_int_t
ngx_http_clicktrack_json_next(ngx_http_clicktrack_json_t *j, u_char close)
{
    ngx_http_clicktrack_json_ws(j);

    if (j->pos < j->end) {

        if (*j->pos == ',') {
            j->pos++;
            return NGX_AGAIN;
        }

        if (*j->pos == close) {
            j->pos++;
            return NGX_OK;
        }
    }

    return ngx_http_clicktrack_json_malformed(j, j->pos);
}
