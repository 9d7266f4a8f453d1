
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_EVENT_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_EVENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The event layer: beacon keys in, one JSON line out.  It knows nothing of
 * nginx's request objects (only ngx_core), so that a fuzzer can drive it
 * directly.  Parsers return NGX_OK, NGX_DECLINED (bad input: *err names the
 * key or the fault, allocated from the pool) or NGX_ERROR (out of memory).
 */


#define NGX_HTTP_CLICKTRACK_MAX_TYPE       32
#define NGX_HTTP_CLICKTRACK_MAX_URL        2048
#define NGX_HTTP_CLICKTRACK_MAX_LABEL      1024
#define NGX_HTTP_CLICKTRACK_MAX_CATEGORY   64
#define NGX_HTTP_CLICKTRACK_MIN_ID         8
#define NGX_HTTP_CLICKTRACK_MAX_ID         64
#define NGX_HTTP_CLICKTRACK_MAX_PROPS      20
#define NGX_HTTP_CLICKTRACK_MAX_PROP_NAME  64
#define NGX_HTTP_CLICKTRACK_MAX_PROP_VALUE 512
#define NGX_HTTP_CLICKTRACK_MAX_DEPTH      32

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
 * application/x-www-form-urlencoded keys (a query string or a form body)
 * into one event; "+" is a space.
 */
ngx_int_t ngx_http_clicktrack_parse_form(ngx_pool_t *pool, u_char *p,
    size_t len, ngx_http_clicktrack_event_t *ev, ngx_str_t *err);

/*
 * One JSON object, or an array of 1..max_batch objects.  On NGX_OK,
 * *events points to *nevents parsed events.
 */
ngx_int_t ngx_http_clicktrack_parse_json(ngx_pool_t *pool, u_char *p,
    size_t len, ngx_uint_t max_batch, ngx_http_clicktrack_event_t **events,
    ngx_uint_t *nevents, ngx_str_t *err);

/* the "v" / "s" / cookie id rule: 8-64 of [A-Za-z0-9_-] */
ngx_int_t ngx_http_clicktrack_valid_id(u_char *p, size_t len);

/* the clicktrack_field / prop name rules */
ngx_int_t ngx_http_clicktrack_valid_field_name(u_char *p, size_t len);
ngx_int_t ngx_http_clicktrack_builtin_field(u_char *p, size_t len);

/* writes "2026-11-22T12:31:05.720Z" */
u_char *ngx_http_clicktrack_format_ts(u_char *p, time_t sec,
    ngx_msec_t msec);

/*
 * At most how long the event's JSON line is (no trailing newline), and the
 * writer, which returns the end of what it wrote.
 */
size_t ngx_http_clicktrack_event_json_max(ngx_http_clicktrack_event_t *ev,
    ngx_http_clicktrack_common_t *common);
u_char *ngx_http_clicktrack_event_json_write(u_char *p,
    ngx_http_clicktrack_event_t *ev, ngx_http_clicktrack_common_t *common);

/* a JSON string's body, escaped; dst has room for 6 * len bytes */
u_char *ngx_http_clicktrack_json_escape(u_char *dst, u_char *src,
    size_t len);


#endif /* _NGX_HTTP_CLICKTRACK_EVENT_H_INCLUDED_ */
