
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_event.h"
#include "ngx_http_clicktrack_json.h"

#if (defined __SSE2__ && defined __GNUC__)
#include <emmintrin.h>
#define NGX_HTTP_CLICKTRACK_SSE2  1
#endif


/*
 * Beacon keys in (a form / query string, or JSON), one JSON line out.
 *
 * Choices made here beyond SPEC sections 3 and 4:
 *
 *  - A key with an empty value (form "u=", JSON "u":"" or "u":null) is
 *    absent in every respect: it is not validated, it does not count as
 *    given for the duplicate check, and the default applies ("t" is then
 *    "pageview").  The same holds for props: "p.x=", "x":"" and "x":null
 *    leave the prop out without checking its name or counting it.
 *  - A form key is always percent-decoded and checked, even an unknown
 *    one; the value of an unknown key (and of "_") is not looked at.
 *  - In JSON, "p.NAME" keys are unknown keys; props come only from "p".
 *  - "ts" may have leading zeros in a form ("007" is 7); in JSON the
 *    number grammar forbids them.
 *  - The first fault in input order is reported: a document that breaks a
 *    rule early and is malformed later gets the rule's message.
 *  - Nesting: the top value counts as depth 1 (a batch's objects are at
 *    depth 2, their "p" at 3); a container opened deeper than
 *    NGX_HTTP_CLICKTRACK_MAX_DEPTH is "JSON nested too deeply".
 *  - "malformed JSON at byte N": N is the 0-based offset of the first
 *    byte that cannot be accepted (the input's length at a premature end).
 *  - A top-level string, number or literal gets "JSON must be an object or
 *    an array of objects"; anything else that is not JSON is malformed.
 *  - In a batch, every fault found inside element N, malformed JSON
 *    included, is prefixed with "event N: ".
 *  - Duplicate props are "duplicate prop "NAME"" in both forms.
 *  - Names quoted in messages (prop names) are cut to 64 bytes plus
 *    "...", with bytes outside printable ASCII, '"' and '\' as \xHH.
 */


#define NGX_HTTP_CLICKTRACK_KEY_T        0
#define NGX_HTTP_CLICKTRACK_KEY_U        1
#define NGX_HTTP_CLICKTRACK_KEY_R        2
#define NGX_HTTP_CLICKTRACK_KEY_L        3
#define NGX_HTTP_CLICKTRACK_KEY_C        4
#define NGX_HTTP_CLICKTRACK_KEY_V        5
#define NGX_HTTP_CLICKTRACK_KEY_S        6
#define NGX_HTTP_CLICKTRACK_KEY_I        7
#define NGX_HTTP_CLICKTRACK_KEY_TS       8
#define NGX_HTTP_CLICKTRACK_KEY_P        9
#define NGX_HTTP_CLICKTRACK_KEY_PROP     10   /* form "p.NAME" */
#define NGX_HTTP_CLICKTRACK_KEY_IGNORE   11   /* "_" and unknown keys */

/* a name quoted in a message: at most this many input bytes */
#define NGX_HTTP_CLICKTRACK_ERR_NAME     64
#define NGX_HTTP_CLICKTRACK_ERR_NAME_LEN  (NGX_HTTP_CLICKTRACK_ERR_NAME * 4 + 3)


static u_char *ngx_http_clicktrack_printable(u_char *dst, u_char *src,
    size_t len);
static ngx_uint_t ngx_http_clicktrack_key(ngx_str_t *name,
    ngx_uint_t json);
static ngx_int_t ngx_http_clicktrack_set_key(ngx_pool_t *pool,
    ngx_http_clicktrack_event_t *ev, ngx_uint_t key, ngx_str_t *value,
    ngx_uint_t *seen, ngx_str_t *err);
static ngx_int_t ngx_http_clicktrack_parse_ts(u_char *p, size_t len,
    int64_t *ts);
static ngx_int_t ngx_http_clicktrack_valid_prop_name(u_char *p, size_t len);
static ngx_int_t ngx_http_clicktrack_prop_name(ngx_pool_t *pool,
    ngx_str_t *name, ngx_str_t *err);
static ngx_int_t ngx_http_clicktrack_add_prop(ngx_pool_t *pool,
    ngx_http_clicktrack_event_t *ev, ngx_str_t *name, ngx_str_t *value,
    ngx_http_clicktrack_prop_type_e type, ngx_str_t *err);

static ngx_int_t ngx_http_clicktrack_form_decode(ngx_pool_t *pool,
    u_char *p, size_t len, ngx_str_t *out);
static ngx_int_t ngx_http_clicktrack_form_pair(ngx_pool_t *pool,
    ngx_http_clicktrack_event_t *ev, u_char *p, u_char *eq, u_char *last,
    ngx_uint_t *seen, ngx_str_t *err);

static ngx_int_t ngx_http_clicktrack_json_event(
    ngx_http_clicktrack_json_t *j, ngx_http_clicktrack_event_t *ev,
    ngx_uint_t depth);
static ngx_int_t ngx_http_clicktrack_json_props(
    ngx_http_clicktrack_json_t *j, ngx_http_clicktrack_event_t *ev,
    ngx_uint_t depth);
static ngx_int_t ngx_http_clicktrack_json_wrong_type(
    ngx_http_clicktrack_json_t *j, ngx_uint_t depth, const char *fmt,
    ngx_str_t *name);


/* indexed by NGX_HTTP_CLICKTRACK_KEY_* */
static ngx_str_t  ngx_http_clicktrack_keys[] = {
    ngx_string("t"),
    ngx_string("u"),
    ngx_string("r"),
    ngx_string("l"),
    ngx_string("c"),
    ngx_string("v"),
    ngx_string("s"),
    ngx_string("i"),
    ngx_string("ts"),
    ngx_string("p")
};


static u_char  ngx_http_clicktrack_true[] = "true";
static u_char  ngx_http_clicktrack_false[] = "false";
static u_char  ngx_http_clicktrack_hex[] = "0123456789abcdef";


/*
 * A name the client sent, fit to be quoted in a message: at most
 * NGX_HTTP_CLICKTRACK_ERR_NAME bytes of it, printable ASCII kept, other
 * bytes (and '"', '\') as \xHH; dst must have room for
 * NGX_HTTP_CLICKTRACK_ERR_NAME_LEN bytes.
 */

static u_char *
ngx_http_clicktrack_printable(u_char *dst, u_char *src, size_t len)
{
    u_char  c;
    size_t  i;

    for (i = 0; i < len && i < NGX_HTTP_CLICKTRACK_ERR_NAME; i++) {
        c = src[i];

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            *dst++ = c;
            continue;
        }

        *dst++ = '\\';
        *dst++ = 'x';
        *dst++ = ngx_http_clicktrack_hex[c >> 4];
        *dst++ = ngx_http_clicktrack_hex[c & 0xf];
    }

    if (len > NGX_HTTP_CLICKTRACK_ERR_NAME) {
        dst = ngx_cpymem(dst, "...", 3);
    }

    return dst;
}


/* keys and rules, shared by both parsers */


static ngx_uint_t
ngx_http_clicktrack_key(ngx_str_t *name, ngx_uint_t json)
{
    ngx_uint_t  i;

    if (!json && name->len >= 2 && name->data[0] == 'p'
        && name->data[1] == '.')
    {
        return NGX_HTTP_CLICKTRACK_KEY_PROP;
    }

    for (i = 0; i <= NGX_HTTP_CLICKTRACK_KEY_P; i++) {

        if (i == NGX_HTTP_CLICKTRACK_KEY_P && !json) {
            break;
        }

        if (name->len == ngx_http_clicktrack_keys[i].len
            && ngx_memcmp(name->data, ngx_http_clicktrack_keys[i].data,
                          name->len)
               == 0)
        {
            return i;
        }
    }

    return NGX_HTTP_CLICKTRACK_KEY_IGNORE;
}


/*
 * Stores a non-empty decoded value of one of the keys t, u, r, l, c, v, s,
 * ts (for ts, the digits), once it passes its rule.
 */

static ngx_int_t
ngx_http_clicktrack_set_key(ngx_pool_t *pool, ngx_http_clicktrack_event_t *ev,
    ngx_uint_t key, ngx_str_t *value, ngx_uint_t *seen, ngx_str_t *err)
{
    size_t      max;
    ngx_int_t   rc;
    ngx_str_t  *name, *field;

    name = &ngx_http_clicktrack_keys[key];

    if (*seen & ((ngx_uint_t) 1 << key)) {
        return ngx_http_clicktrack_record_error(pool, err,
            "duplicate key \"%V\"",
            name);
    }

    *seen |= (ngx_uint_t) 1 << key;

    switch (key) {

    case NGX_HTTP_CLICKTRACK_KEY_T:

        rc = ngx_http_clicktrack_record_type(pool, value, &ev->type);

        if (rc == NGX_DECLINED) {
            return ngx_http_clicktrack_record_error(pool, err,
                "invalid \"t\": 1-%d of "
                "[a-z0-9_.:-]",
                NGX_HTTP_CLICKTRACK_MAX_TYPE);
        }

        return rc;

    case NGX_HTTP_CLICKTRACK_KEY_U:
        field = &ev->url;
        max = NGX_HTTP_CLICKTRACK_MAX_URL;
        break;

    case NGX_HTTP_CLICKTRACK_KEY_R:
        field = &ev->referrer;
        max = NGX_HTTP_CLICKTRACK_MAX_URL;
        break;

    case NGX_HTTP_CLICKTRACK_KEY_L:
        field = &ev->label;
        max = NGX_HTTP_CLICKTRACK_MAX_LABEL;
        break;

    case NGX_HTTP_CLICKTRACK_KEY_C:
        field = &ev->category;
        max = NGX_HTTP_CLICKTRACK_MAX_CATEGORY;
        break;

    case NGX_HTTP_CLICKTRACK_KEY_V:
    case NGX_HTTP_CLICKTRACK_KEY_S:

        if (ngx_http_clicktrack_record_valid_id(value->data, value->len)
            != NGX_OK)
        {
            return ngx_http_clicktrack_record_error(pool, err,
                                                    "invalid \"%V\": %d-%d of "
                                                    "[A-Za-z0-9_-]", name,
                                                    NGX_HTTP_CLICKTRACK_MIN_ID,
                                                    NGX_HTTP_CLICKTRACK_MAX_ID);
        }

        if (key == NGX_HTTP_CLICKTRACK_KEY_V) {
            ev->client_visitor = *value;

        } else {
            ev->session = *value;
        }

        return NGX_OK;

    case NGX_HTTP_CLICKTRACK_KEY_I:

        if (ngx_http_clicktrack_record_valid_user(value->data, value->len)
            != NGX_OK)
        {
            return ngx_http_clicktrack_record_error(pool, err,
                                                "invalid \"i\": 1-%d bytes, "
                                                "no control characters",
                                                NGX_HTTP_CLICKTRACK_MAX_USER);
        }

        ev->user = *value;

        return NGX_OK;

    default: /* NGX_HTTP_CLICKTRACK_KEY_TS */

        if (ngx_http_clicktrack_parse_ts(value->data, value->len,
                                         &ev->client_ts)
            != NGX_OK)
        {
            return ngx_http_clicktrack_record_error(pool, err,
                "invalid \"ts\": integer "
                "milliseconds, 1 <= ts < 2^53");
        }

        return NGX_OK;
    }

    if (value->len > max) {
        return ngx_http_clicktrack_record_error(pool, err,
            "\"%V\" over %uz bytes",
            name, max);
    }

    *field = *value;

    return NGX_OK;
}


/* decimal digits only, 1 <= ts < 2^53 */

static ngx_int_t
ngx_http_clicktrack_parse_ts(u_char *p, size_t len, int64_t *ts)
{
    size_t   i;
    int64_t  n;

    if (len == 0) {
        return NGX_DECLINED;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NGX_DECLINED;
        }

        /* n < 2^53 here, so this cannot overflow */
        n = n * 10 + (p[i] - '0');

        if (n >= NGX_HTTP_CLICKTRACK_MAX_TS) {
            return NGX_DECLINED;
        }
    }

    if (n < 1) {
        return NGX_DECLINED;
    }

    *ts = n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_valid_prop_name(u_char *p, size_t len)
{
    u_char  c;
    size_t  i;

    if (len == 0 || len > NGX_HTTP_CLICKTRACK_MAX_PROP_NAME) {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_prop_name(ngx_pool_t *pool, ngx_str_t *name,
    ngx_str_t *err)
{
    u_char  *last;
    u_char   buf[NGX_HTTP_CLICKTRACK_ERR_NAME_LEN];

    if (ngx_http_clicktrack_valid_prop_name(name->data, name->len)
        == NGX_OK)
    {
        return NGX_OK;
    }

    last = ngx_http_clicktrack_printable(buf, name->data, name->len);

    return ngx_http_clicktrack_record_error(pool, err,
        "invalid prop name \"%*s\"",
        (size_t) (last - buf), buf);
}


/* a prop that is present (not empty, not null) */

static ngx_int_t
ngx_http_clicktrack_add_prop(ngx_pool_t *pool, ngx_http_clicktrack_event_t *ev,
    ngx_str_t *name, ngx_str_t *value, ngx_http_clicktrack_prop_type_e type,
    ngx_str_t *err)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_http_clicktrack_prop_t  *prop;

    rc = ngx_http_clicktrack_prop_name(pool, name, err);
    if (rc != NGX_OK) {
        return rc;
    }

    for (i = 0; i < ev->nprops; i++) {
        if (ev->props[i].name.len == name->len
            && ngx_memcmp(ev->props[i].name.data, name->data, name->len) == 0)
        {
            return ngx_http_clicktrack_record_error(pool, err,
                "duplicate prop \"%V\"", name);
        }
    }

    if (value->len > NGX_HTTP_CLICKTRACK_MAX_PROP_VALUE) {
        return ngx_http_clicktrack_record_error(pool, err,
            "prop \"%V\" over %d bytes", name,
            NGX_HTTP_CLICKTRACK_MAX_PROP_VALUE);
    }

    if (ev->nprops == NGX_HTTP_CLICKTRACK_MAX_PROPS) {
        return ngx_http_clicktrack_record_error(pool, err,
                                                "too many props (max %d)",
                                                NGX_HTTP_CLICKTRACK_MAX_PROPS);
    }

    if (ev->props == NULL) {
        ev->props = ngx_palloc(pool, NGX_HTTP_CLICKTRACK_MAX_PROPS
                                     * sizeof(ngx_http_clicktrack_prop_t));
        if (ev->props == NULL) {
            return NGX_ERROR;
        }
    }

    prop = &ev->props[ev->nprops++];

    prop->name = *name;
    prop->value = *value;
    prop->type = type;

    return NGX_OK;
}


/* application/x-www-form-urlencoded */


ngx_int_t
ngx_http_clicktrack_parse_form(ngx_pool_t *pool, u_char *p, size_t len,
    ngx_http_clicktrack_event_t *ev, ngx_str_t *err)
{
    u_char      *last, *amp, *eq;
    ngx_int_t    rc;
    ngx_uint_t   seen;

    ngx_memzero(ev, sizeof(ngx_http_clicktrack_event_t));

    seen = 0;
    last = (len != 0) ? p + len : p;    /* p may be NULL for no arguments */

    while (p < last) {

        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        if (amp != p) {
            eq = ngx_strlchr(p, amp, '=');

            rc = ngx_http_clicktrack_form_pair(pool, ev, p, eq, amp, &seen,
                                               err);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        if (amp == last) {
            break;
        }

        p = amp + 1;
    }

    if (ev->type.len == 0) {
        ngx_http_clicktrack_record_default_type(ev);
    }

    return NGX_OK;
}


/* one "key=value" (eq is NULL without "="), between p and last */

static ngx_int_t
ngx_http_clicktrack_form_pair(ngx_pool_t *pool,
    ngx_http_clicktrack_event_t *ev, u_char *p, u_char *eq, u_char *last,
    ngx_uint_t *seen, ngx_str_t *err)
{
    u_char      *end;
    ngx_int_t    rc;
    ngx_str_t    key, name, value;
    ngx_uint_t   k;

    end = (eq != NULL) ? eq : last;

    rc = ngx_http_clicktrack_form_decode(pool, p, end - p, &key);

    if (rc == NGX_DECLINED) {
        return ngx_http_clicktrack_record_error(pool, err,
            "malformed percent-encoding in key");
    }

    if (rc != NGX_OK) {
        return rc;
    }

    k = ngx_http_clicktrack_key(&key, 0);

    if (k == NGX_HTTP_CLICKTRACK_KEY_IGNORE
        || eq == NULL || eq + 1 == last)
    {
        /* unknown, or an empty value: absent */
        return NGX_OK;
    }

    if (k == NGX_HTTP_CLICKTRACK_KEY_PROP) {

        /* the name is checked first: it is then fit to be quoted */

        name.data = key.data + 2;
        name.len = key.len - 2;

        rc = ngx_http_clicktrack_prop_name(pool, &name, err);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    rc = ngx_http_clicktrack_form_decode(pool, eq + 1, last - eq - 1, &value);

    if (rc == NGX_DECLINED) {
        return ngx_http_clicktrack_record_error(pool, err,
                                                "malformed percent-encoding in "
                                                "\"%V\"", &key);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (k == NGX_HTTP_CLICKTRACK_KEY_PROP) {
        return ngx_http_clicktrack_add_prop(pool, ev, &name, &value,
                                            NGX_HTTP_CLICKTRACK_PROP_STRING,
                                            err);
    }

    return ngx_http_clicktrack_set_key(pool, ev, k, &value, seen, err);
}


/*
 * "+" is a space, "%XX" a byte; NGX_DECLINED for a "%" not followed by two
 * hex digits.  Without "%" or "+", out points into the input.
 */

static ngx_int_t
ngx_http_clicktrack_form_decode(ngx_pool_t *pool, u_char *p, size_t len,
    ngx_str_t *out)
{
    u_char      c, *d, *last, *s;
    ngx_int_t   hi, lo;

    last = p + len;

    for (s = p; s < last; s++) {
        if (*s == '%' || *s == '+') {
            break;
        }
    }

    if (s == last) {
        out->data = p;
        out->len = len;
        return NGX_OK;
    }

    d = ngx_pnalloc(pool, len);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;

    d = ngx_cpymem(d, p, s - p);

    while (s < last) {
        c = *s++;

        if (c == '+') {
            *d++ = ' ';
            continue;
        }

        if (c != '%') {
            *d++ = c;
            continue;
        }

        if (last - s < 2) {
            return NGX_DECLINED;
        }

        hi = ngx_http_clicktrack_hex_digit(s[0]);
        lo = ngx_http_clicktrack_hex_digit(s[1]);

        if (hi < 0 || lo < 0) {
            return NGX_DECLINED;
        }

        *d++ = (u_char) (hi * 16 + lo);
        s += 2;
    }

    out->len = d - out->data;

    return NGX_OK;
}


/* JSON */


ngx_int_t
ngx_http_clicktrack_parse_json(ngx_pool_t *pool, u_char *p, size_t len,
    ngx_uint_t max_batch, ngx_http_clicktrack_event_t **events,
    ngx_uint_t *nevents, ngx_str_t *err)
{
    u_char                        c;
    ngx_int_t                     rc;
    ngx_str_t                     inner;
    ngx_array_t                   batch;
    ngx_http_clicktrack_json_t    j;
    ngx_http_clicktrack_event_t  *ev;

    j.start = p;
    j.pos = p;
    j.end = (len != 0) ? p + len : p;
    j.pool = pool;
    j.err = err;

    ngx_http_clicktrack_json_ws(&j);

    if (j.pos == j.end) {
        return ngx_http_clicktrack_json_malformed(&j, j.pos);
    }

    c = *j.pos;

    if (c == '{') {
        ev = ngx_pcalloc(pool, sizeof(ngx_http_clicktrack_event_t));
        if (ev == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_clicktrack_json_event(&j, ev, 1);
        if (rc != NGX_OK) {
            return rc;
        }

        *events = ev;
        *nevents = 1;

        goto done;
    }

    if (c != '[') {
        if (c == '"' || c == '-' || (c >= '0' && c <= '9')
            || c == 't' || c == 'f' || c == 'n')
        {
            return ngx_http_clicktrack_record_error(pool, err,
                "JSON must be an object or an "
                "array of objects");
        }

        return ngx_http_clicktrack_json_malformed(&j, j.pos);
    }

    j.pos++;
    ngx_http_clicktrack_json_ws(&j);

    if (j.pos < j.end && *j.pos == ']') {
        j.pos++;
        ngx_http_clicktrack_json_ws(&j);

        if (j.pos != j.end) {
            return ngx_http_clicktrack_json_malformed(&j, j.pos);
        }

        return ngx_http_clicktrack_record_error(pool, err, "empty batch");
    }

    if (ngx_array_init(&batch, pool, max_batch < 8 ? max_batch + 1 : 8,
                       sizeof(ngx_http_clicktrack_event_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for ( ;; ) {
        ngx_http_clicktrack_json_ws(&j);

        if (j.pos == j.end) {
            return ngx_http_clicktrack_json_malformed(&j, j.pos);
        }

        c = *j.pos;

        if (c != '{') {
            if (c == '"' || c == '[' || c == '-' || (c >= '0' && c <= '9')
                || c == 't' || c == 'f' || c == 'n')
            {
                return ngx_http_clicktrack_record_error(pool, err,
                    "event %ui is not an object",
                    batch.nelts + 1);
            }

            return ngx_http_clicktrack_json_malformed(&j, j.pos);
        }

        if (batch.nelts == max_batch) {
            return ngx_http_clicktrack_record_error(pool, err,
                                                    "batch over %ui events",
                                                    max_batch);
        }

        ev = ngx_array_push(&batch);
        if (ev == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(ev, sizeof(ngx_http_clicktrack_event_t));

        rc = ngx_http_clicktrack_json_event(&j, ev, 2);

        if (rc == NGX_DECLINED) {
            inner = *err;

            return ngx_http_clicktrack_record_error(pool, err, "event %ui: %V",
                                                    batch.nelts, &inner);
        }

        if (rc != NGX_OK) {
            return rc;
        }

        ngx_http_clicktrack_json_ws(&j);

        if (j.pos < j.end && *j.pos == ',') {
            j.pos++;
            continue;
        }

        if (j.pos < j.end && *j.pos == ']') {
            j.pos++;
            break;
        }

        return ngx_http_clicktrack_json_malformed(&j, j.pos);
    }

    *events = batch.elts;
    *nevents = batch.nelts;

done:

    ngx_http_clicktrack_json_ws(&j);

    if (j.pos != j.end) {
        return ngx_http_clicktrack_json_malformed(&j, j.pos);
    }

    return NGX_OK;
}


/* a value of the wrong type: still checked (and skipped), then rejected */

static ngx_int_t
ngx_http_clicktrack_json_wrong_type(ngx_http_clicktrack_json_t *j,
    ngx_uint_t depth, const char *fmt, ngx_str_t *name)
{
    ngx_int_t  rc;

    rc = ngx_http_clicktrack_json_skip(j, depth);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_clicktrack_record_error(j->pool, j->err, fmt, name);
}


/* the event object at j->pos, which is the depth-th container */

static ngx_int_t
ngx_http_clicktrack_json_event(ngx_http_clicktrack_json_t *j,
    ngx_http_clicktrack_event_t *ev, ngx_uint_t depth)
{
    u_char       c;
    ngx_int_t    rc;
    ngx_str_t    name, value;
    ngx_uint_t   k, seen;
    const char  *fmt;

    seen = 0;

    j->pos++;
    ngx_http_clicktrack_json_ws(j);

    if (j->pos < j->end && *j->pos == '}') {
        j->pos++;
        goto done;
    }

    do {
        rc = ngx_http_clicktrack_json_member(j, &name);
        if (rc != NGX_OK) {
            return rc;
        }

        k = ngx_http_clicktrack_key(&name, 1);
        c = *j->pos;

        switch (k) {

        case NGX_HTTP_CLICKTRACK_KEY_IGNORE:
            rc = ngx_http_clicktrack_json_skip(j, depth);
            break;

        case NGX_HTTP_CLICKTRACK_KEY_P:

            if (c == 'n') {
                rc = ngx_http_clicktrack_json_literal(j, "null", 4);
                break;
            }

            if (c != '{') {
                fmt = "\"%V\" must be an object";
                goto wrong_type;
            }

            if (seen & ((ngx_uint_t) 1 << k)) {
                return ngx_http_clicktrack_record_error(j->pool, j->err,
                                                        "duplicate key \"p\"");
            }

            seen |= (ngx_uint_t) 1 << k;

            if (depth + 1 > NGX_HTTP_CLICKTRACK_MAX_DEPTH) {
                return ngx_http_clicktrack_record_error(j->pool, j->err,
                    "JSON nested too deeply");
            }

            rc = ngx_http_clicktrack_json_props(j, ev, depth + 1);
            break;

        case NGX_HTTP_CLICKTRACK_KEY_TS:

            if (c == 'n') {
                rc = ngx_http_clicktrack_json_literal(j, "null", 4);
                break;
            }

            if (c != '-' && (c < '0' || c > '9')) {
                fmt = "\"%V\" must be a number";
                goto wrong_type;
            }

            rc = ngx_http_clicktrack_json_number(j, &value);
            if (rc != NGX_OK) {
                return rc;
            }

            rc = ngx_http_clicktrack_set_key(j->pool, ev, k, &value, &seen,
                                             j->err);
            break;

        default: /* t u r l c v s i */

            if (c == 'n') {
                rc = ngx_http_clicktrack_json_literal(j, "null", 4);
                break;
            }

            if (c != '"') {
                fmt = "\"%V\" must be a string";
                goto wrong_type;
            }

            rc = ngx_http_clicktrack_json_string(j, &value);
            if (rc != NGX_OK || value.len == 0) {
                break;
            }

            rc = ngx_http_clicktrack_set_key(j->pool, ev, k, &value, &seen,
                                             j->err);
            break;
        }

        if (rc != NGX_OK) {
            return rc;
        }

        rc = ngx_http_clicktrack_json_next(j, '}');

    } while (rc == NGX_AGAIN);

    if (rc != NGX_OK) {
        return rc;
    }

done:

    if (ev->type.len == 0) {
        ngx_http_clicktrack_record_default_type(ev);
    }

    return NGX_OK;

wrong_type:

    return ngx_http_clicktrack_json_wrong_type(j, depth, fmt,
                                               &ngx_http_clicktrack_keys[k]);
}


/* the "p" object at j->pos, which is the depth-th container */

static ngx_int_t
ngx_http_clicktrack_json_props(ngx_http_clicktrack_json_t *j,
    ngx_http_clicktrack_event_t *ev, ngx_uint_t depth)
{
    u_char                           *last;
    ngx_int_t                         rc;
    ngx_str_t                         name, value, quoted;
    ngx_http_clicktrack_prop_type_e   type;
    u_char                            buf[NGX_HTTP_CLICKTRACK_ERR_NAME_LEN];

    j->pos++;
    ngx_http_clicktrack_json_ws(j);

    if (j->pos < j->end && *j->pos == '}') {
        j->pos++;
        return NGX_OK;
    }

    do {
        rc = ngx_http_clicktrack_json_member(j, &name);
        if (rc != NGX_OK) {
            return rc;
        }

        switch (*j->pos) {

        case '"':
            rc = ngx_http_clicktrack_json_string(j, &value);
            if (rc != NGX_OK) {
                return rc;
            }

            if (value.len == 0) {
                goto next;
            }

            type = NGX_HTTP_CLICKTRACK_PROP_STRING;
            break;

        case 't':
            rc = ngx_http_clicktrack_json_literal(j, "true", 4);
            if (rc != NGX_OK) {
                return rc;
            }

            value.data = ngx_http_clicktrack_true;
            value.len = sizeof(ngx_http_clicktrack_true) - 1;
            type = NGX_HTTP_CLICKTRACK_PROP_TRUE;
            break;

        case 'f':
            rc = ngx_http_clicktrack_json_literal(j, "false", 5);
            if (rc != NGX_OK) {
                return rc;
            }

            value.data = ngx_http_clicktrack_false;
            value.len = sizeof(ngx_http_clicktrack_false) - 1;
            type = NGX_HTTP_CLICKTRACK_PROP_FALSE;
            break;

        case 'n':
            rc = ngx_http_clicktrack_json_literal(j, "null", 4);
            if (rc != NGX_OK) {
                return rc;
            }

            goto next;

        case '{':
        case '[':
            last = ngx_http_clicktrack_printable(buf, name.data, name.len);
            quoted.data = buf;
            quoted.len = last - buf;

            return ngx_http_clicktrack_json_wrong_type(j, depth,
                          "prop \"%V\" must be a string, number or boolean",
                          &quoted);

        default:
            rc = ngx_http_clicktrack_json_number(j, &value);
            if (rc != NGX_OK) {
                return rc;
            }

            type = NGX_HTTP_CLICKTRACK_PROP_NUMBER;
            break;
        }

        rc = ngx_http_clicktrack_add_prop(j->pool, ev, &name, &value, type,
                                          j->err);
        if (rc != NGX_OK) {
            return rc;
        }

    next:

        rc = ngx_http_clicktrack_json_next(j, '}');

    } while (rc == NGX_AGAIN);

    return rc;
}

