
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_record.h"

#if (defined __SSE2__ && defined __GNUC__)
#include <emmintrin.h>
#define NGX_HTTP_CLICKTRACK_SSE2  1
#endif


/* room for a fault's message: the longest holds a quoted 64-byte name */
#define NGX_HTTP_CLICKTRACK_ERR_LEN      512


/*
 * The writer leaves "id" / "ts" out when their first byte is NUL (not
 * filled in), and any string of zero length.  Invalid UTF-8 is replaced
 * with one U+FFFD per maximal subpart of an ill-formed sequence (the
 * Unicode Standard 3.9, "U+FFFD Substitution of Maximal Subparts", as the
 * WHATWG decoder does): "\xE2\x82" is one U+FFFD, "\xC0\xAF" two,
 * "\xED\xA0\x80" (a surrogate) three.  U+2028 and U+2029 are escaped, so
 * that a line is also a JavaScript string literal's safe content.
 */


static void ngx_http_clicktrack_record_values(ngx_http_clicktrack_event_t *ev,
    ngx_http_clicktrack_common_t *common, ngx_str_t *values);
static u_char *ngx_http_clicktrack_record_member(u_char *p, ngx_uint_t *first,
    ngx_str_t *key);
static u_char *ngx_http_clicktrack_record_props(u_char *p,
    ngx_http_clicktrack_event_t *ev);
static u_char *ngx_http_clicktrack_record_string(u_char *dst, u_char *src,
    size_t len);
static u_char *ngx_http_clicktrack_record_skip_string(u_char *p,
    u_char *last);
static size_t ngx_http_clicktrack_record_utf8_next(u_char *p, u_char *last,
    ngx_uint_t *valid);


#define ngx_http_clicktrack_record_name(name, text)  ngx_string(text),

ngx_str_t  ngx_http_clicktrack_record_names[] = {
    ngx_http_clicktrack_record_fields(ngx_http_clicktrack_record_name)
    ngx_null_string
};


static u_char  ngx_http_clicktrack_record_pageview[] = "pageview";
static u_char  ngx_http_clicktrack_record_hex[] = "0123456789abcdef";

/*
 * 1: a byte that a JSON string holds as it is (printable ASCII but the
 * quote and the backslash); the escaping copies runs of these at once.
 */

static u_char  ngx_http_clicktrack_record_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,   /* 50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,   /* 70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* 90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* a0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* b0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* c0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* d0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* e0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* f0 */
};


/* the rules, and the messages that name a fault */


ngx_int_t ngx_cdecl
ngx_http_clicktrack_record_error(ngx_pool_t *pool, ngx_str_t *err,
    const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;

    p = ngx_pnalloc(pool, NGX_HTTP_CLICKTRACK_ERR_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    last = ngx_vslprintf(p, p + NGX_HTTP_CLICKTRACK_ERR_LEN, fmt, args);
    va_end(args);

    err->data = p;
    err->len = last - p;

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_clicktrack_record_type(ngx_pool_t *pool, ngx_str_t *value,
    ngx_str_t *type)
{
    u_char      c, *p;
    size_t      i;
    ngx_uint_t  upper;

    if (value->len == 0 || value->len > NGX_HTTP_CLICKTRACK_MAX_TYPE) {
        return NGX_DECLINED;
    }

    upper = 0;

    for (i = 0; i < value->len; i++) {
        c = value->data[i];

        if (c >= 'A' && c <= 'Z') {
            upper = 1;
            continue;
        }

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '_' || c == '.' || c == ':' || c == '-')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    if (!upper) {
        *type = *value;
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, value->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(p, value->data, value->len);

    type->data = p;
    type->len = value->len;

    return NGX_OK;
}


void
ngx_http_clicktrack_record_default_type(ngx_http_clicktrack_event_t *ev)
{
    ev->type.data = ngx_http_clicktrack_record_pageview;
    ev->type.len = sizeof(ngx_http_clicktrack_record_pageview) - 1;
}


ngx_int_t
ngx_http_clicktrack_record_valid_id(u_char *p, size_t len)
{
    u_char  c;
    size_t  i;

    if (p == NULL
        || len < NGX_HTTP_CLICKTRACK_MIN_ID
        || len > NGX_HTTP_CLICKTRACK_MAX_ID)
    {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_clicktrack_record_valid_user(u_char *p, size_t len)
{
    size_t  i;

    if (p == NULL || len == 0 || len > NGX_HTTP_CLICKTRACK_MAX_USER) {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_clicktrack_record_valid_field(u_char *p, size_t len)
{
    u_char  c;
    size_t  i;

    if (p == NULL || len == 0 || len > 64) {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '_')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* 1 if NAME is one of the record's own keys, else 0 */

ngx_int_t
ngx_http_clicktrack_record_builtin(u_char *p, size_t len)
{
    ngx_str_t  *name;

    for (name = ngx_http_clicktrack_record_names; name->len; name++) {
        if (name->len == len && ngx_memcmp(name->data, p, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the writer */


/*
 * "YYYY-MM-DDTHH:MM:SS.mmmZ".  The part up to the second is kept from the
 * last call: events come many to the second.
 */

u_char *
ngx_http_clicktrack_record_format_ts(u_char *p, time_t sec, ngx_msec_t msec)
{
    ngx_tm_t  tm;

    static time_t  last_sec = -1;
    static u_char  prefix[sizeof("YYYY-MM-DDTHH:MM:SS.") - 1];

    if (sec != last_sec) {
        ngx_gmtime(sec, &tm);

        (void) ngx_slprintf(prefix, prefix + sizeof(prefix),
                            "%04d-%02d-%02dT%02d:%02d:%02d.",
                            tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                            tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
        last_sec = sec;
    }

    msec %= 1000;

    p = ngx_cpymem(p, prefix, sizeof(prefix));
    *p++ = (u_char) ('0' + msec / 100);
    *p++ = (u_char) ('0' + msec / 10 % 10);
    *p++ = (u_char) ('0' + msec % 10);
    *p++ = 'Z';

    return p;
}


/*
 * A bound on the length of the event's JSON, found without reading the
 * strings: a byte of a string becomes at most six ("\u001f"); each member
 * is counted with its comma and quotes.  The writer returns where it
 * stopped, which is the exact length.
 */

size_t
ngx_http_clicktrack_record_max(ngx_http_clicktrack_event_t *ev,
    ngx_http_clicktrack_common_t *common)
{
    size_t                       len;
    ngx_uint_t                   i;
    ngx_str_t                    values[NGX_HTTP_CLICKTRACK_F_PROPS];
    ngx_http_clicktrack_prop_t  *prop;

    ngx_http_clicktrack_record_values(ev, common, values);

    /* {} and client_ts, a number */
    len = sizeof("{}") - 1 + sizeof(",\"client_ts\":") - 1 + NGX_INT64_LEN;

    for (i = 0; i < NGX_HTTP_CLICKTRACK_F_PROPS; i++) {
        len += sizeof(",\"\":\"\"") - 1
               + ngx_http_clicktrack_record_names[i].len + 6 * values[i].len;
    }

    if (ev->nprops) {
        len += sizeof(",\"props\":{}") - 1;

        for (i = 0; i < ev->nprops; i++) {
            prop = &ev->props[i];

            /* ,"name":"value" or ,"name":false */
            len += sizeof(",\"\":\"\"false") - 1
                   + 6 * (prop->name.len + prop->value.len);
        }
    }

    for (i = 0; i < common->nfields; i++) {
        len += sizeof(",\"\":\"\"") - 1
               + 6 * (common->fields[i].name.len
                      + common->fields[i].value.len);
    }

    return len;
}


u_char *
ngx_http_clicktrack_record_write(u_char *p,
    ngx_http_clicktrack_event_t *ev, ngx_http_clicktrack_common_t *common)
{
    ngx_str_t   *v, *names;
    ngx_uint_t   i, first;
    ngx_str_t    values[NGX_HTTP_CLICKTRACK_F_PROPS];

    ngx_http_clicktrack_record_values(ev, common, values);

    names = ngx_http_clicktrack_record_names;

    *p++ = '{';
    first = 1;

    for (i = 0; i < NGX_HTTP_CLICKTRACK_F_PROPS; i++) {
        v = &values[i];

        if (i == NGX_HTTP_CLICKTRACK_F_CLIENT_TS) {
            if (ev->client_ts > 0) {
                p = ngx_http_clicktrack_record_member(p, &first, &names[i]);
                p = ngx_sprintf(p, "%L", ev->client_ts);
            }

            continue;
        }

        if (v->len == 0 || v->data == NULL) {
            continue;
        }

        p = ngx_http_clicktrack_record_member(p, &first, &names[i]);

        if (i == NGX_HTTP_CLICKTRACK_F_ID || i == NGX_HTTP_CLICKTRACK_F_TS) {
            /* made by the module of digits, letters and punctuation */
            *p++ = '"';
            p = ngx_cpymem(p, v->data, v->len);
            *p++ = '"';
            continue;
        }

        p = ngx_http_clicktrack_record_string(p, v->data, v->len);
    }

    if (ev->nprops) {
        v = &names[NGX_HTTP_CLICKTRACK_F_PROPS];

        p = ngx_http_clicktrack_record_member(p, &first, v);
        p = ngx_http_clicktrack_record_props(p, ev);
    }

    for (i = 0; i < common->nfields; i++) {
        v = &common->fields[i].value;

        if (v->len == 0 || v->data == NULL) {
            continue;
        }

        if (!first) {
            *p++ = ',';
        }

        first = 0;

        p = ngx_http_clicktrack_record_string(p, common->fields[i].name.data,
                                              common->fields[i].name.len);
        *p++ = ':';
        p = ngx_http_clicktrack_record_string(p, v->data, v->len);
    }

    *p++ = '}';

    return p;
}


/*
 * The record's string values, by NGX_HTTP_CLICKTRACK_F_*, up to (not
 * including) props; client_ts, a number, is left empty.  A value of zero
 * length is absent; so are "id" and "ts" before they are filled in.
 */

static void
ngx_http_clicktrack_record_values(ngx_http_clicktrack_event_t *ev,
    ngx_http_clicktrack_common_t *common, ngx_str_t *values)
{
    values[NGX_HTTP_CLICKTRACK_F_ID].data = ev->id;
    values[NGX_HTTP_CLICKTRACK_F_ID].len =
                          ev->id[0] ? NGX_HTTP_CLICKTRACK_UUID_LEN : 0;
    values[NGX_HTTP_CLICKTRACK_F_TS].data = common->ts;
    values[NGX_HTTP_CLICKTRACK_F_TS].len =
                          common->ts[0] ? NGX_HTTP_CLICKTRACK_TS_LEN : 0;
    values[NGX_HTTP_CLICKTRACK_F_TYPE] = ev->type;
    values[NGX_HTTP_CLICKTRACK_F_CATEGORY] = ev->category;
    values[NGX_HTTP_CLICKTRACK_F_LABEL] = ev->label;
    values[NGX_HTTP_CLICKTRACK_F_URL] = ev->url;
    values[NGX_HTTP_CLICKTRACK_F_REFERRER] = ev->referrer;
    values[NGX_HTTP_CLICKTRACK_F_VISITOR] = ev->visitor;
    values[NGX_HTTP_CLICKTRACK_F_SESSION] = ev->session;
    values[NGX_HTTP_CLICKTRACK_F_USER] = ev->user;
    ngx_str_null(&values[NGX_HTTP_CLICKTRACK_F_CLIENT_TS]);
    values[NGX_HTTP_CLICKTRACK_F_HOST] = common->host;
    values[NGX_HTTP_CLICKTRACK_F_IP] = common->ip;
    values[NGX_HTTP_CLICKTRACK_F_UA] = common->ua;
}


/* writes [,]"key": */

static u_char *
ngx_http_clicktrack_record_member(u_char *p, ngx_uint_t *first, ngx_str_t *key)
{
    if (!*first) {
        *p++ = ',';
    }

    *first = 0;

    *p++ = '"';
    p = ngx_cpymem(p, key->data, key->len);
    *p++ = '"';
    *p++ = ':';

    return p;
}


static u_char *
ngx_http_clicktrack_record_props(u_char *p, ngx_http_clicktrack_event_t *ev)
{
    ngx_uint_t                   i;
    ngx_http_clicktrack_prop_t  *prop;

    *p++ = '{';

    for (i = 0; i < ev->nprops; i++) {
        prop = &ev->props[i];

        if (i) {
            *p++ = ',';
        }

        p = ngx_http_clicktrack_record_string(p, prop->name.data,
                                              prop->name.len);
        *p++ = ':';

        switch (prop->type) {

        case NGX_HTTP_CLICKTRACK_PROP_NUMBER:
            p = ngx_cpymem(p, prop->value.data, prop->value.len);
            break;

        case NGX_HTTP_CLICKTRACK_PROP_TRUE:
            p = ngx_cpymem(p, "true", sizeof("true") - 1);
            break;

        case NGX_HTTP_CLICKTRACK_PROP_FALSE:
            p = ngx_cpymem(p, "false", sizeof("false") - 1);
            break;

        default:
            p = ngx_http_clicktrack_record_string(p, prop->value.data,
                                                  prop->value.len);
        }
    }

    *p++ = '}';

    return p;
}


/* a quoted JSON string */

static u_char *
ngx_http_clicktrack_record_string(u_char *dst, u_char *src, size_t len)
{
    *dst++ = '"';
    dst = ngx_http_clicktrack_record_escape(dst, src, len);
    *dst++ = '"';

    return dst;
}


/* the reader */


/*
 * Nested values are skipped whole, so that a label can never pass for a
 * member; of a key given twice, the last counts.
 */

ngx_int_t
ngx_http_clicktrack_record_scan(u_char *p, u_char *last, ngx_str_t *field)
{
    u_char      *name, *start, *end;
    size_t       len;
    ngx_uint_t   i, depth;

    for (i = 0; i < NGX_HTTP_CLICKTRACK_NFIELDS; i++) {
        field[i].len = 0;
        field[i].data = NULL;
    }

    while (p < last && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    if (p == last || *p++ != '{') {
        return NGX_ERROR;
    }

    for ( ;; ) {
        while (p < last && (*p == ' ' || *p == ',' || *p == '\t'
                            || *p == '\r' || *p == '\n'))
        {
            p++;
        }

        if (p == last) {
            return NGX_ERROR;
        }

        if (*p == '}') {
            return NGX_OK;
        }

        if (*p != '"') {
            return NGX_ERROR;
        }

        name = p + 1;
        p = ngx_http_clicktrack_record_skip_string(p, last);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = p - 1 - name;

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last || *p++ != ':') {
            return NGX_ERROR;
        }

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last) {
            return NGX_ERROR;
        }

        if (*p == '{' || *p == '[') {
            depth = 0;

            while (p < last) {
                if (*p == '"') {
                    p = ngx_http_clicktrack_record_skip_string(p, last);
                    if (p == NULL) {
                        return NGX_ERROR;
                    }

                    continue;
                }

                if (*p == '{' || *p == '[') {
                    depth++;

                } else if (*p == '}' || *p == ']') {
                    if (--depth == 0) {
                        p++;
                        break;
                    }
                }

                p++;
            }

            if (depth != 0) {
                return NGX_ERROR;
            }

            continue;
        }

        if (*p == '"') {
            start = p + 1;

            p = ngx_http_clicktrack_record_skip_string(p, last);
            if (p == NULL) {
                return NGX_ERROR;
            }

            end = p - 1;

        } else {
            /* a number, true, false, null */

            start = p;

            while (p < last && *p != ',' && *p != '}' && *p != ' ') {
                p++;
            }

            end = p;
        }

        for (i = 0; i < NGX_HTTP_CLICKTRACK_NFIELDS; i++) {
            if (ngx_http_clicktrack_record_names[i].len == len
                && ngx_strncmp(ngx_http_clicktrack_record_names[i].data,
                               name, len)
                   == 0)
            {
                field[i].data = start;
                field[i].len = end - start;
                break;
            }
        }
    }
}


/* p at an opening quote: the byte after the closing one, or NULL */

static u_char *
ngx_http_clicktrack_record_skip_string(u_char *p, u_char *last)
{
    for (p++; p < last; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }

        if (*p == '"') {
            return p + 1;
        }
    }

    return NULL;
}


/* escaping, unescaping, UTF-8 */


/*
 * The length of the UTF-8 sequence at p (1 for ASCII): *valid is 0 for the
 * maximal subpart of an ill-formed sequence, which is then the length
 * (Unicode table 3-7 of well-formed byte sequences).
 */

static size_t
ngx_http_clicktrack_record_utf8_next(u_char *p, u_char *last,
    ngx_uint_t *valid)
{
    u_char  c, lo, hi;
    size_t  i, need;

    c = p[0];

    *valid = 1;

    if (c < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;

    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;

        if (c == 0xe0) {
            lo = 0xa0;               /* no overlongs */

        } else if (c == 0xed) {
            hi = 0x9f;               /* no surrogates */
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;

        if (c == 0xf0) {
            lo = 0x90;               /* no overlongs */

        } else if (c == 0xf4) {
            hi = 0x8f;               /* up to U+10FFFF */
        }

    } else {
        /* 80-C1 (continuations, overlong leads), F5-FF */
        *valid = 0;
        return 1;
    }

    for (i = 1; i <= need; i++) {

        if (p + i == last || p[i] < lo || p[i] > hi) {
            *valid = 0;
            return i;
        }

        lo = 0x80;
        hi = 0xbf;
    }

    return need + 1;
}


/*
 * Whether the eight bytes at p are all plain (the table above), tested at
 * once: each term leaves a byte's high bit set where that byte is below
 * 0x20, is '"', '\\' or DEL, or has the high bit itself.  A borrow can
 * mark a byte above one that is marked already, never a word that has
 * none, so the answer for the word is exact.
 */

static ngx_inline ngx_uint_t
ngx_http_clicktrack_record_plain8(u_char *p)
{
    uint64_t  w, q, b, d;

    ngx_memcpy(&w, p, 8);

    q = w ^ 0x2222222222222222;
    b = w ^ 0x5c5c5c5c5c5c5c5c;
    d = w ^ 0x7f7f7f7f7f7f7f7f;

    return ((((w - 0x2020202020202020) & ~w)
             | ((q - 0x0101010101010101) & ~q)
             | ((b - 0x0101010101010101) & ~b)
             | ((d - 0x0101010101010101) & ~d)
             | w)
            & 0x8080808080808080)
           == 0;
}


/*
 * Where the run of plain bytes at p ends: sixteen bytes at a step with
 * SSE2 (a signed "less than 0x20" also catches the bytes with the high
 * bit), eight at a step otherwise, the table for the rest.
 */

static ngx_inline u_char *
ngx_http_clicktrack_record_plain_run(u_char *p, u_char *last)
{
#if (NGX_HTTP_CLICKTRACK_SSE2)
    int      mask;
    __m128i  v;

    while (last - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);

        mask = _mm_movemask_epi8(
                   _mm_or_si128(
                       _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))),
                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)))));

        if (mask) {
            return p + __builtin_ctz(mask);
        }

        p += 16;
    }
#endif

    while (last - p >= 8 && ngx_http_clicktrack_record_plain8(p)) {
        p += 8;
    }

    while (p < last && ngx_http_clicktrack_record_plain[*p]) {
        p++;
    }

    return p;
}


/* escaping */


u_char *
ngx_http_clicktrack_record_escape(u_char *dst, u_char *src, size_t len)
{
    u_char      c, *p, *last;
    size_t      n;
    ngx_uint_t  valid;

    if (len == 0) {
        return dst;
    }

    last = src + len;

    while (src < last) {

        p = ngx_http_clicktrack_record_plain_run(src, last);

        if (p != src) {
            dst = ngx_cpymem(dst, src, p - src);
            src = p;
            continue;
        }

        c = *src;

        if (c >= 0x80) {
            n = ngx_http_clicktrack_record_utf8_next(src, last, &valid);

            if (!valid) {
                *dst++ = 0xef;
                *dst++ = 0xbf;
                *dst++ = 0xbd;

            } else if (n == 3 && c == 0xe2 && src[1] == 0x80
                       && (src[2] == 0xa8 || src[2] == 0xa9))
            {
                dst = ngx_cpymem(dst, (src[2] == 0xa8) ? "\\u2028" : "\\u2029",
                                 sizeof("\\u2028") - 1);

            } else {
                dst = ngx_cpymem(dst, src, n);
            }

            src += n;
            continue;
        }

        src++;

        switch (c) {
        case '"':
        case '\\':
            *dst++ = '\\';
            *dst++ = c;
            continue;
        case '\b':
            *dst++ = '\\';
            *dst++ = 'b';
            continue;
        case '\f':
            *dst++ = '\\';
            *dst++ = 'f';
            continue;
        case '\n':
            *dst++ = '\\';
            *dst++ = 'n';
            continue;
        case '\r':
            *dst++ = '\\';
            *dst++ = 'r';
            continue;
        case '\t':
            *dst++ = '\\';
            *dst++ = 't';
            continue;
        }

        if (c < 0x20 || c == 0x7f) {
            *dst++ = '\\';
            *dst++ = 'u';
            *dst++ = '0';
            *dst++ = '0';
            *dst++ = ngx_http_clicktrack_record_hex[c >> 4];
            *dst++ = ngx_http_clicktrack_record_hex[c & 0xf];
            continue;
        }

        *dst++ = c;
    }

    return dst;
}


size_t
ngx_http_clicktrack_record_unescape(u_char *dst, u_char *p, u_char *last)
{
    u_char      *d;
    uint32_t     c, lo;
    ngx_int_t    n;

    d = dst;

    while (p < last) {

        if (*p != '\\' || p + 1 == last) {
            *d++ = *p++;
            continue;
        }

        p++;

        switch (*p++) {
        case 'b': *d++ = '\b'; continue;
        case 'f': *d++ = '\f'; continue;
        case 'n': *d++ = '\n'; continue;
        case 'r': *d++ = '\r'; continue;
        case 't': *d++ = '\t'; continue;
        case 'u': break;
        default: *d++ = p[-1]; continue;
        }

        if (last - p < 4 || (n = ngx_hextoi(p, 4)) == NGX_ERROR) {
            *d++ = '?';
            continue;
        }

        c = (uint32_t) n;
        p += 4;

        if (c >= 0xd800 && c <= 0xdbff) {
            lo = 0;

            if (last - p >= 6 && p[0] == '\\' && p[1] == 'u'
                && (n = ngx_hextoi(p + 2, 4)) != NGX_ERROR
                && n >= 0xdc00 && n <= 0xdfff)
            {
                lo = (uint32_t) n;
                p += 6;
            }

            c = lo ? 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00)
                   : 0xfffd;

        } else if (c >= 0xdc00 && c <= 0xdfff) {
            c = 0xfffd;
        }

        d = ngx_http_clicktrack_record_utf8_put(d, c);
    }

    return d - dst;
}


u_char *
ngx_http_clicktrack_record_utf8_put(u_char *p, ngx_uint_t cp)
{
    if (cp < 0x80) {
        *p++ = (u_char) cp;

    } else if (cp < 0x800) {
        *p++ = (u_char) (0xc0 | (cp >> 6));
        *p++ = (u_char) (0x80 | (cp & 0x3f));

    } else if (cp < 0x10000) {
        *p++ = (u_char) (0xe0 | (cp >> 12));
        *p++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        *p++ = (u_char) (0x80 | (cp & 0x3f));

    } else {
        *p++ = (u_char) (0xf0 | (cp >> 18));
        *p++ = (u_char) (0x80 | ((cp >> 12) & 0x3f));
        *p++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        *p++ = (u_char) (0x80 | (cp & 0x3f));
    }

    return p;
}
