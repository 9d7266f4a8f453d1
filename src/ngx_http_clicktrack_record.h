
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_RECORD_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_RECORD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The event record (SPEC section 4): its keys and their order, the rules
 * its values follow, the writer that makes one JSON line of an event and
 * the reader that takes a stored line apart again; JSON escaping and
 * unescaping and UTF-8 handling with them.  Like the parsers, it knows
 * nothing of nginx's request objects (only ngx_core).
 */


#define NGX_HTTP_CLICKTRACK_MAX_TYPE       32
#define NGX_HTTP_CLICKTRACK_MAX_URL        2048
#define NGX_HTTP_CLICKTRACK_MAX_LABEL      1024
#define NGX_HTTP_CLICKTRACK_MAX_CATEGORY   64
#define NGX_HTTP_CLICKTRACK_MIN_ID         8
#define NGX_HTTP_CLICKTRACK_MAX_ID         64
#define NGX_HTTP_CLICKTRACK_MAX_USER       128
#define NGX_HTTP_CLICKTRACK_MAX_PROPS      20
#define NGX_HTTP_CLICKTRACK_MAX_PROP_NAME  64
#define NGX_HTTP_CLICKTRACK_MAX_PROP_VALUE 512

/* 2^53: client_ts must stay below it */
#define NGX_HTTP_CLICKTRACK_MAX_TS         9007199254740992LL

/* "2026-11-22T12:31:05.720Z" */
#define NGX_HTTP_CLICKTRACK_TS_LEN         24
#define NGX_HTTP_CLICKTRACK_UUID_LEN       36


typedef enum {
    NGX_HTTP_CLICKTRACK_PROP_STRING = 0,
    NGX_HTTP_CLICKTRACK_PROP_NUMBER,     /* value holds the JSON number text */
    NGX_HTTP_CLICKTRACK_PROP_TRUE,
    NGX_HTTP_CLICKTRACK_PROP_FALSE
} ngx_http_clicktrack_prop_type_e;


typedef struct {
    ngx_str_t                        name;
    ngx_str_t                        value;
    ngx_http_clicktrack_prop_type_e  type;
} ngx_http_clicktrack_prop_t;


typedef struct {
    ngx_str_t                        name;
    ngx_str_t                        value;
} ngx_http_clicktrack_kv_t;


/*
 * One event.  String values are decoded bytes (they may hold any byte,
 * including invalid UTF-8 and NUL: the JSON writer makes them valid).
 * A NULL data / zero len means absent.
 */

typedef struct {
    /* from the client */
    ngx_str_t                        type;      /* validated, lower case */
    ngx_str_t                        url;
    ngx_str_t                        referrer;
    ngx_str_t                        label;
    ngx_str_t                        category;
    ngx_str_t                        client_visitor;   /* "v", validated */
    ngx_str_t                        session;
    ngx_str_t                        user;             /* "i", validated */
    int64_t                          client_ts;        /* 0: absent */
    ngx_http_clicktrack_prop_t      *props;
    ngx_uint_t                       nprops;

    /* filled by the beacon handler before encoding */
    u_char                           id[NGX_HTTP_CLICKTRACK_UUID_LEN];
    ngx_str_t                        visitor;
} ngx_http_clicktrack_event_t;


/* what every event of one request shares */

typedef struct {
    u_char                           ts[NGX_HTTP_CLICKTRACK_TS_LEN];
    ngx_str_t                        host;
    ngx_str_t                        ip;
    ngx_str_t                        ua;
    ngx_http_clicktrack_kv_t        *fields;   /* clicktrack_field, evaluated */
    ngx_uint_t                       nfields;
} ngx_http_clicktrack_common_t;


/*
 * The record's keys in their order: the one list of them.  Each gives
 * NGX_HTTP_CLICKTRACK_F_NAME, the key's index in the order and in
 * ngx_http_clicktrack_record_names[].
 */

#define ngx_http_clicktrack_record_fields(field)                              \
    field(ID, "id")                                                           \
    field(TS, "ts")                                                           \
    field(TYPE, "type")                                                       \
    field(CATEGORY, "category")                                               \
    field(LABEL, "label")                                                     \
    field(URL, "url")                                                         \
    field(REFERRER, "referrer")                                               \
    field(VISITOR, "visitor")                                                 \
    field(SESSION, "session")                                                 \
    field(USER, "user")                                                       \
    field(CLIENT_TS, "client_ts")                                             \
    field(HOST, "host")                                                       \
    field(IP, "ip")                                                           \
    field(UA, "ua")                                                           \
    field(PROPS, "props")

#define ngx_http_clicktrack_record_index(name, text)                          \
    NGX_HTTP_CLICKTRACK_F_##name,

typedef enum {
    ngx_http_clicktrack_record_fields(ngx_http_clicktrack_record_index)
    NGX_HTTP_CLICKTRACK_NFIELDS
} ngx_http_clicktrack_field_e;


/* a hex digit's value, or -1 (percent-decoding) */

static ngx_inline ngx_int_t
ngx_http_clicktrack_hex_digit(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* the keys' names, by NGX_HTTP_CLICKTRACK_F_*, then a null string */
extern ngx_str_t  ngx_http_clicktrack_record_names[];


/*
 * A message naming what is wrong with a beacon's input, from the pool:
 * NGX_DECLINED with *err set, or NGX_ERROR when out of memory.
 */
ngx_int_t ngx_cdecl ngx_http_clicktrack_record_error(ngx_pool_t *pool,
    ngx_str_t *err, const char *fmt, ...);

/*
 * The type rule: 1-32 of [a-z0-9_.:-], upper case letters taken and
 * lowered (into the pool, only then).  NGX_DECLINED for a value that
 * breaks it, NGX_ERROR when out of memory.
 */
ngx_int_t ngx_http_clicktrack_record_type(ngx_pool_t *pool, ngx_str_t *value,
    ngx_str_t *type);

/* an event without a type is a pageview */
void ngx_http_clicktrack_record_default_type(ngx_http_clicktrack_event_t *ev);

/* the "v" / "s" / cookie id rule: 8-64 of [A-Za-z0-9_-] */
ngx_int_t ngx_http_clicktrack_record_valid_id(u_char *p, size_t len);

/* the "i" rule: 1-128 bytes, none of them a control character */
ngx_int_t ngx_http_clicktrack_record_valid_user(u_char *p, size_t len);

/* the clicktrack_field name rule, and whether a name is the record's */
ngx_int_t ngx_http_clicktrack_record_valid_field(u_char *p, size_t len);
ngx_int_t ngx_http_clicktrack_record_builtin(u_char *p, size_t len);

/* writes "2026-11-22T12:31:05.720Z" */
u_char *ngx_http_clicktrack_record_format_ts(u_char *p, time_t sec,
    ngx_msec_t msec);

/*
 * At most how long the event's JSON line is (no trailing newline), and the
 * writer, which returns the end of what it wrote.
 */
size_t ngx_http_clicktrack_record_max(ngx_http_clicktrack_event_t *ev,
    ngx_http_clicktrack_common_t *common);
u_char *ngx_http_clicktrack_record_write(u_char *p,
    ngx_http_clicktrack_event_t *ev, ngx_http_clicktrack_common_t *common);

/*
 * A stored line's top-level members, raw (a string's content still
 * escaped, without its quotes), by NGX_HTTP_CLICKTRACK_F_*: field has room
 * for NGX_HTTP_CLICKTRACK_NFIELDS; an absent member is an empty string,
 * and so is props (an object).  NGX_ERROR if the line is no JSON object.
 */
ngx_int_t ngx_http_clicktrack_record_scan(u_char *p, u_char *last,
    ngx_str_t *field);

/* a JSON string's body, escaped; dst has room for 6 * len bytes */
u_char *ngx_http_clicktrack_record_escape(u_char *dst, u_char *src,
    size_t len);

/*
 * A JSON string's body (as record_scan() gives it) to UTF-8; never longer
 * than its input.  A lone surrogate becomes U+FFFD.
 */
size_t ngx_http_clicktrack_record_unescape(u_char *dst, u_char *p,
    u_char *last);

/* a code point (at most U+10FFFF) as UTF-8, up to four bytes */
u_char *ngx_http_clicktrack_record_utf8_put(u_char *p, ngx_uint_t cp);


#endif /* _NGX_HTTP_CLICKTRACK_RECORD_H_INCLUDED_ */
