
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_stream.h"
#include "ngx_http_clicktrack_beacon.h"
#include "ngx_http_clicktrack_redis.h"
#include "ngx_http_clicktrack_record.h"


/*
 * clicktrack_stream: the recent stream as Server-Sent Events (a backlog,
 * then live events), or exported as JSON or CSV.
 *
 * Each worker has a hub with two Redis connections, open while the worker
 * has requests for them:
 *
 *   reader   XREAD BLOCK on every stream a clicktrack_stream location
 *            reads, from the last id seen; its replies are fanned out to
 *            every live client of the worker.  Open while the worker has
 *            SSE clients.
 *   query    XREVRANGE / XRANGE for backlogs, resumes and exports: one
 *            non-blocking command per request.
 *
 * A client first takes its backlog from the query connection.  Live events
 * that arrive meanwhile are held, and sent after the backlog when their id
 * is above the backlog's newest: no event is lost or sent twice.
 */


#define NGX_HTTP_CLICKTRACK_SSE             0
#define NGX_HTTP_CLICKTRACK_JSON            1
#define NGX_HTTP_CLICKTRACK_CSV             2

#define NGX_HTTP_CLICKTRACK_BACKLOG         100
#define NGX_HTTP_CLICKTRACK_BACKLOG_MAX     1000
#define NGX_HTTP_CLICKTRACK_RESUME_MAX      1000
#define NGX_HTTP_CLICKTRACK_LIMIT           100
#define NGX_HTTP_CLICKTRACK_LIMIT_MAX       10000
#define NGX_HTTP_CLICKTRACK_MAX_TYPES       16

/* a ": ping" comment after this long without output */
#define NGX_HTTP_CLICKTRACK_PING            15000

/* how long one XREAD blocks, and how many entries it takes per stream */
#define NGX_HTTP_CLICKTRACK_BLOCK           10000
#define NGX_HTTP_CLICKTRACK_BLOCK_TEXT      "10000"
#define NGX_HTTP_CLICKTRACK_READ_COUNT      "1000"

/* a client with more unsent output than this is disconnected */
#define NGX_HTTP_CLICKTRACK_MAX_UNSENT      (256 * 1024)

#define NGX_HTTP_CLICKTRACK_UINT64_MAX      ((uint64_t) 0xffffffffffffffffULL)

/* "18446744073709551615-18446744073709551615" */
#define NGX_HTTP_CLICKTRACK_ID_LEN          (2 * NGX_INT64_LEN + 1)

#define NGX_HTTP_CLICKTRACK_CSV_COLUMNS                                       \
    (sizeof(ngx_http_clicktrack_stream_csv) / sizeof(ngx_uint_t))


typedef struct {
    uint64_t                           ms;
    uint64_t                           seq;
} ngx_http_clicktrack_stream_id_t;


/* one stream entry, parsed */

typedef struct {
    ngx_http_clicktrack_stream_id_t    id;
    ngx_str_t                          id_text;
    ngx_str_t                          json;
    ngx_str_t                          field[NGX_HTTP_CLICKTRACK_NFIELDS];
                                          /* raw, by the record's order */
} ngx_http_clicktrack_stream_entry_t;


/* a live message that arrived while its client waited for its backlog */

typedef struct ngx_http_clicktrack_stream_held_s
    ngx_http_clicktrack_stream_held_t;

struct ngx_http_clicktrack_stream_held_s {
    ngx_http_clicktrack_stream_held_t *next;
    ngx_http_clicktrack_stream_id_t    id;
    size_t                             len;
    u_char                             data[1];
};


typedef struct ngx_http_clicktrack_stream_ctx_s
    ngx_http_clicktrack_stream_ctx_t;


/* a query in flight: its reply may come after its request is gone */

typedef struct {
    ngx_http_clicktrack_stream_ctx_t  *ctx;      /* NULL: request gone */
} ngx_http_clicktrack_stream_query_t;


struct ngx_http_clicktrack_stream_ctx_s {
    ngx_http_request_t                *request;
    ngx_http_clicktrack_stream_hub_t  *hub;
    ngx_uint_t                         key;       /* index in hub */
    ngx_queue_t                        queue;     /* waiting or clients */
    ngx_http_clicktrack_stream_query_t *query;

    /* what the request asked for */
    ngx_uint_t                         format;
    ngx_uint_t                         count;     /* backlog or limit */
    ngx_http_clicktrack_stream_id_t    resume;
    ngx_str_t                          types[NGX_HTTP_CLICKTRACK_MAX_TYPES];
    ngx_uint_t                         ntypes;
    ngx_str_t                          visitor;
    ngx_str_t                          host;

    /* the newest id this client has had */
    ngx_http_clicktrack_stream_id_t    last;

    ngx_http_clicktrack_stream_held_t *held;
    ngx_http_clicktrack_stream_held_t **held_last;
    size_t                             held_bytes;

    ngx_chain_t                       *free;
    ngx_chain_t                       *busy;
    ngx_event_t                        ping;
    ngx_event_t                        close;     /* posted */

    /* the 503's text when closed before the headers, if not Redis */
    char                              *why;

    unsigned                           resuming:1;
    unsigned                           sse:1;       /* in hub->nclients */
    unsigned                           waiting:1;   /* in hub->waiting */
    unsigned                           attached:1;  /* in hub->clients */
    unsigned                           loading:1;   /* backlog pending */
    unsigned                           counted:1;   /* stream_clients */
    unsigned                           done:1;      /* to be closed */
};


struct ngx_http_clicktrack_stream_hub_s {
    ngx_http_clicktrack_redis_t        reader;
    ngx_http_clicktrack_redis_t        query;
    ngx_http_clicktrack_main_conf_t   *mcf;

    ngx_str_t                         *keys;
    ngx_uint_t                         nkeys;
    ngx_http_clicktrack_stream_id_t   *pos;       /* the reader's, per key */
    u_char                            *pos_text;  /* for XREAD's arguments */
    const char                       **argv;
    size_t                            *argvlen;

    ngx_queue_t                        clients;   /* live SSE clients */
    ngx_queue_t                        waiting;   /* for the connections */
    ngx_uint_t                         users;     /* requests holding it */
    ngx_uint_t                         nclients;  /* SSE requests of them */
    ngx_uint_t                         seeds;     /* seed replies owed */

    ngx_event_t                        idle;      /* posted: close unused */

    unsigned                           reader_open:1;
    unsigned                           query_open:1;
    unsigned                           seeded:1;  /* pos[] known */
    unsigned                           reading:1; /* an XREAD in flight */
    unsigned                           exiting:1;
};


static ngx_int_t ngx_http_clicktrack_stream_args(ngx_http_request_t *r,
    ngx_http_clicktrack_stream_ctx_t *ctx, char **fault);
static ngx_int_t ngx_http_clicktrack_stream_arg(ngx_http_request_t *r,
    char *name, ngx_str_t *value);
static ngx_int_t ngx_http_clicktrack_stream_number(ngx_str_t *value,
    ngx_uint_t max, ngx_uint_t *n);
static ngx_int_t ngx_http_clicktrack_stream_types(ngx_str_t *value,
    ngx_http_clicktrack_stream_ctx_t *ctx);
static ngx_int_t ngx_http_clicktrack_stream_parse_id(u_char *p, size_t len,
    ngx_http_clicktrack_stream_id_t *id);
static ngx_int_t ngx_http_clicktrack_stream_cmp(
    ngx_http_clicktrack_stream_id_t *a, ngx_http_clicktrack_stream_id_t *b);
static ngx_table_elt_t *ngx_http_clicktrack_stream_header(
    ngx_http_request_t *r, char *name);

static ngx_http_clicktrack_stream_hub_t *ngx_http_clicktrack_stream_hub(
    ngx_http_clicktrack_main_conf_t *mcf);
static ngx_uint_t ngx_http_clicktrack_stream_can_start(
    ngx_http_clicktrack_stream_ctx_t *ctx);
static ngx_uint_t ngx_http_clicktrack_stream_failing(
    ngx_http_clicktrack_stream_ctx_t *ctx);
static void ngx_http_clicktrack_stream_start(
    ngx_http_clicktrack_stream_ctx_t *ctx);
static void ngx_http_clicktrack_stream_run_waiting(
    ngx_http_clicktrack_stream_hub_t *hub, ngx_uint_t fail_sse,
    ngx_uint_t fail_all);
static void ngx_http_clicktrack_stream_cleanup(void *data);
static void ngx_http_clicktrack_stream_idle(ngx_event_t *ev);

static void ngx_http_clicktrack_stream_query_ready(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_query_lost(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_query_failed(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_query_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_stream_reader_ready(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_reader_lost(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_reader_failed(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_stream_seed_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_stream_read(
    ngx_http_clicktrack_stream_hub_t *hub);
static void ngx_http_clicktrack_stream_read_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_stream_fan_out(
    ngx_http_clicktrack_stream_hub_t *hub, ngx_uint_t key,
    redisReply *entries);

static ngx_int_t ngx_http_clicktrack_stream_entries(ngx_http_request_t *r,
    redisReply *reply, ngx_http_clicktrack_stream_entry_t **out,
    ngx_uint_t *n);
static ngx_int_t ngx_http_clicktrack_stream_entry(redisReply *r,
    ngx_http_clicktrack_stream_entry_t *e);
static ngx_uint_t ngx_http_clicktrack_stream_match(
    ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e);

static void ngx_http_clicktrack_stream_answer(
    ngx_http_clicktrack_stream_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_http_clicktrack_stream_begin(
    ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e, ngx_uint_t n, ngx_uint_t newest);
static ngx_int_t ngx_http_clicktrack_stream_export(
    ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e, ngx_uint_t n);
static size_t ngx_http_clicktrack_stream_csv_field(u_char *dst, ngx_str_t *v,
    u_char *tmp);
static size_t ngx_http_clicktrack_stream_message_size(
    ngx_http_clicktrack_stream_entry_t *e);
static u_char *ngx_http_clicktrack_stream_message(u_char *p,
    ngx_http_clicktrack_stream_entry_t *e);
static void ngx_http_clicktrack_stream_hold(
    ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e);
static ngx_chain_t *ngx_http_clicktrack_stream_buf(
    ngx_http_clicktrack_stream_ctx_t *ctx, size_t size);
static void ngx_http_clicktrack_stream_send(
    ngx_http_clicktrack_stream_ctx_t *ctx, ngx_chain_t *out);
static void ngx_http_clicktrack_stream_close_later(
    ngx_http_clicktrack_stream_ctx_t *ctx);
static void ngx_http_clicktrack_stream_close(ngx_event_t *ev);
static void ngx_http_clicktrack_stream_writer(ngx_http_request_t *r);
static void ngx_http_clicktrack_stream_ping(ngx_event_t *ev);
static ngx_int_t ngx_http_clicktrack_stream_text(ngx_http_request_t *r,
    ngx_uint_t status, char *text, ngx_msec_t retry);
static ngx_int_t ngx_http_clicktrack_stream_output(ngx_http_request_t *r,
    ngx_uint_t status, ngx_buf_t *b);
static ngx_int_t ngx_http_clicktrack_stream_set(ngx_http_request_t *r,
    char *key, char *value);
static void ngx_http_clicktrack_stream_unavailable(
    ngx_http_clicktrack_stream_ctx_t *ctx);
static ngx_msec_t ngx_http_clicktrack_stream_retry(
    ngx_http_clicktrack_stream_hub_t *hub);


/* the CSV columns (SPEC section 6), in their order */

static ngx_uint_t  ngx_http_clicktrack_stream_csv[] = {
    NGX_HTTP_CLICKTRACK_F_ID,
    NGX_HTTP_CLICKTRACK_F_TS,
    NGX_HTTP_CLICKTRACK_F_TYPE,
    NGX_HTTP_CLICKTRACK_F_CATEGORY,
    NGX_HTTP_CLICKTRACK_F_LABEL,
    NGX_HTTP_CLICKTRACK_F_URL,
    NGX_HTTP_CLICKTRACK_F_REFERRER,
    NGX_HTTP_CLICKTRACK_F_VISITOR,
    NGX_HTTP_CLICKTRACK_F_SESSION,
    NGX_HTTP_CLICKTRACK_F_HOST,
    NGX_HTTP_CLICKTRACK_F_IP
};


ngx_int_t
ngx_http_clicktrack_stream_handler(ngx_http_request_t *r)
{
    char                              *fault;
    ngx_int_t                          rc;
    ngx_uint_t                         i;
    ngx_str_t                          allow, *key;
    ngx_pool_cleanup_t                *cln;
    ngx_http_clicktrack_stream_t      *st;
    ngx_http_clicktrack_stream_hub_t  *hub;
    ngx_http_clicktrack_stream_ctx_t  *ctx;
    ngx_http_clicktrack_loc_conf_t    *lcf;
    ngx_http_clicktrack_main_conf_t   *mcf;

    if (r->method != NGX_HTTP_GET) {
        ngx_str_set(&allow, "GET");

        if (ngx_http_clicktrack_add_header(r, "Allow", &allow)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_clicktrack_stream_text(r, NGX_HTTP_NOT_ALLOWED,
                                   "clicktrack: the stream answers GET only",
                                   0);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_clicktrack_stream_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;

    if (ngx_http_clicktrack_stream_args(r, ctx, &fault) != NGX_OK) {
        return ngx_http_clicktrack_stream_text(r, NGX_HTTP_BAD_REQUEST,
                                               fault, 0);
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_clicktrack_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);

    st = mcf->stream;
    key = st->keys.elts;

    for (i = 0; i < st->keys.nelts; i++) {
        if (key[i].len == lcf->recent->key.len
            && ngx_strncmp(key[i].data, lcf->recent->key.data, key[i].len)
               == 0)
        {
            break;
        }
    }

    if (i == st->keys.nelts) {
        /* every stream location's key was noted when merging */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->key = i;

    hub = ngx_http_clicktrack_stream_hub(mcf);
    if (hub == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_clicktrack_stream_cleanup;
    cln->data = ctx;

    ctx->hub = hub;
    hub->users++;

    ctx->ping.handler = ngx_http_clicktrack_stream_ping;
    ctx->ping.data = ctx;
    ctx->ping.log = r->connection->log;
    ctx->ping.cancelable = 1;

    ctx->close.handler = ngx_http_clicktrack_stream_close;
    ctx->close.data = ctx;
    ctx->close.log = r->connection->log;

    if (ctx->format == NGX_HTTP_CLICKTRACK_SSE) {
        ctx->sse = 1;
        hub->nclients++;
    }

    if (!hub->query_open) {
        hub->query_open = 1;
        ngx_http_clicktrack_redis_open(&hub->query);
    }

    if (ctx->sse && !hub->reader_open) {
        hub->reader_open = 1;
        ngx_http_clicktrack_redis_open(&hub->reader);
    }

    if (ngx_http_clicktrack_stream_failing(ctx)) {
        return ngx_http_clicktrack_stream_text(r,
                                    NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "clicktrack: redis is unreachable",
                                    ngx_http_clicktrack_stream_retry(hub));
    }

    r->main->count++;

    if (ngx_http_clicktrack_stream_can_start(ctx)) {
        ngx_http_clicktrack_stream_start(ctx);

    } else {
        ctx->waiting = 1;
        ngx_queue_insert_tail(&hub->waiting, &ctx->queue);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_clicktrack_stream_args(ngx_http_request_t *r,
    ngx_http_clicktrack_stream_ctx_t *ctx, char **fault)
{
    u_char            ch;
    ngx_str_t         value;
    ngx_uint_t        n;
    ngx_table_elt_t  *h;

    ctx->format = NGX_HTTP_CLICKTRACK_SSE;

    if (ngx_http_clicktrack_stream_arg(r, "format", &value) == NGX_OK) {

        if (value.len == 3 && ngx_strncmp(value.data, "sse", 3) == 0) {
            ctx->format = NGX_HTTP_CLICKTRACK_SSE;

        } else if (value.len == 4 && ngx_strncmp(value.data, "json", 4) == 0)
        {
            ctx->format = NGX_HTTP_CLICKTRACK_JSON;

        } else if (value.len == 3 && ngx_strncmp(value.data, "csv", 3) == 0) {
            ctx->format = NGX_HTTP_CLICKTRACK_CSV;

        } else {
            *fault = "format: sse, json or csv";
            return NGX_ERROR;
        }
    }

    /* both defaults are 100 today, but they are separate settings */

    ctx->count = (ctx->format == NGX_HTTP_CLICKTRACK_SSE)
                 /* NOLINTNEXTLINE(bugprone-branch-clone) */
                 ? NGX_HTTP_CLICKTRACK_BACKLOG : NGX_HTTP_CLICKTRACK_LIMIT;

    if (ngx_http_clicktrack_stream_arg(r, "backlog", &value) == NGX_OK) {
        if (ngx_http_clicktrack_stream_number(&value,
                                              NGX_HTTP_CLICKTRACK_BACKLOG_MAX,
                                              &n)
            != NGX_OK)
        {
            *fault = "backlog: a number from 0 to 1000";
            return NGX_ERROR;
        }

        if (ctx->format == NGX_HTTP_CLICKTRACK_SSE) {
            ctx->count = n;
        }
    }

    if (ngx_http_clicktrack_stream_arg(r, "limit", &value) == NGX_OK) {
        if (ngx_http_clicktrack_stream_number(&value,
                                              NGX_HTTP_CLICKTRACK_LIMIT_MAX,
                                              &n)
            != NGX_OK)
        {
            *fault = "limit: a number from 0 to 10000";
            return NGX_ERROR;
        }

        if (ctx->format != NGX_HTTP_CLICKTRACK_SSE) {
            ctx->count = n;
        }
    }

    /* the header (an EventSource reconnecting) is newer than the URL's */

    h = ngx_http_clicktrack_stream_header(r, "Last-Event-ID");

    if (h != NULL) {
        if (ngx_http_clicktrack_stream_parse_id(h->value.data, h->value.len,
                                                &ctx->resume)
            != NGX_OK)
        {
            *fault = "Last-Event-ID: a stream entry id such as 1700000000000-0";
            return NGX_ERROR;
        }

        ctx->resuming = 1;

    } else if (ngx_http_clicktrack_stream_arg(r, "last_event_id", &value)
               == NGX_OK)
    {
        if (ngx_http_clicktrack_stream_parse_id(value.data, value.len,
                                                &ctx->resume)
            != NGX_OK)
        {
            *fault = "last_event_id: a stream entry id such as "
                     "1700000000000-0";
            return NGX_ERROR;
        }

        ctx->resuming = 1;
    }

    if (ngx_http_clicktrack_stream_arg(r, "type", &value) == NGX_OK) {
        if (ngx_http_clicktrack_stream_types(&value, ctx) != NGX_OK) {
            *fault = "type: up to 16 comma-separated types, "
                     "each 1-32 of [a-z0-9_.:-]";
            return NGX_ERROR;
        }
    }

    if (ngx_http_clicktrack_stream_arg(r, "visitor", &ctx->visitor)
        == NGX_OK)
    {
        for (n = 0; n < ctx->visitor.len; n++) {
            ch = ctx->visitor.data[n];

            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                  || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            {
                break;
            }
        }

        if (ctx->visitor.len < 8 || ctx->visitor.len > 64
            || n != ctx->visitor.len)
        {
            *fault = "visitor: 8-64 of [A-Za-z0-9_-]";
            return NGX_ERROR;
        }
    }

    if (ngx_http_clicktrack_stream_arg(r, "host", &ctx->host) == NGX_OK) {
        for (n = 0; n < ctx->host.len; n++) {
            if (ctx->host.data[n] <= ' ' || ctx->host.data[n] >= 0x7f
                || ctx->host.data[n] == '"' || ctx->host.data[n] == '\\')
            {
                break;
            }
        }

        if (ctx->host.len == 0 || ctx->host.len > 255
            || n != ctx->host.len)
        {
            *fault = "host: 1-255 printable characters, no quote, "
                     "backslash or space";
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a query argument, percent-decoded: NGX_DECLINED when absent */

static ngx_int_t
ngx_http_clicktrack_stream_arg(ngx_http_request_t *r, char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    dst = ngx_pnalloc(r->pool, raw.len + 1);
    if (dst == NULL) {
        return NGX_DECLINED;
    }

    value->data = dst;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, 0);

    value->len = dst - value->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_stream_number(ngx_str_t *value, ngx_uint_t max,
    ngx_uint_t *n)
{
    ngx_int_t  v;

    if (value->len == 0 || value->len > 6) {
        return NGX_ERROR;
    }

    v = ngx_atoi(value->data, value->len);

    if (v == NGX_ERROR || (ngx_uint_t) v > max) {
        return NGX_ERROR;
    }

    *n = (ngx_uint_t) v;

    return NGX_OK;
}


/* "click,pageview": each a valid type, folded to lower case */

static ngx_int_t
ngx_http_clicktrack_stream_types(ngx_str_t *value,
    ngx_http_clicktrack_stream_ctx_t *ctx)
{
    u_char  *p, *last, *start, ch;

    p = value->data;
    last = p + value->len;
    start = p;

    for ( ;; ) {
        if (p == last || *p == ',') {

            if (p == start || p - start > 32
                || ctx->ntypes == NGX_HTTP_CLICKTRACK_MAX_TYPES)
            {
                return NGX_ERROR;
            }

            ctx->types[ctx->ntypes].data = start;
            ctx->types[ctx->ntypes].len = p - start;
            ctx->ntypes++;

            if (p == last) {
                return NGX_OK;
            }

            start = ++p;
            continue;
        }

        ch = ngx_tolower(*p);

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
              || ch == '_' || ch == '.' || ch == ':' || ch == '-'))
        {
            return NGX_ERROR;
        }

        *p++ = ch;
    }
}


/* "MS-SEQ", each a decimal uint64 */

static ngx_int_t
ngx_http_clicktrack_stream_parse_id(u_char *p, size_t len,
    ngx_http_clicktrack_stream_id_t *id)
{
    u_char      *last;
    uint64_t    *v, d;
    ngx_uint_t   part, digits;

    last = p + len;
    v = &id->ms;
    part = 0;
    digits = 0;

    id->ms = 0;
    id->seq = 0;

    for ( ; p < last; p++) {

        if (*p == '-' && part == 0 && digits > 0) {
            v = &id->seq;
            part = 1;
            digits = 0;
            continue;
        }

        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        d = *p - '0';

        if (*v > (NGX_HTTP_CLICKTRACK_UINT64_MAX - d) / 10) {
            return NGX_ERROR;
        }

        *v = *v * 10 + d;
        digits++;
    }

    return (part == 1 && digits > 0) ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_clicktrack_stream_cmp(ngx_http_clicktrack_stream_id_t *a,
    ngx_http_clicktrack_stream_id_t *b)
{
    if (a->ms != b->ms) {
        return (a->ms < b->ms) ? -1 : 1;
    }

    if (a->seq != b->seq) {
        return (a->seq < b->seq) ? -1 : 1;
    }

    return 0;
}


static ngx_table_elt_t *
ngx_http_clicktrack_stream_header(ngx_http_request_t *r, char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* this worker's hub, made on the first request */

static ngx_http_clicktrack_stream_hub_t *
ngx_http_clicktrack_stream_hub(ngx_http_clicktrack_main_conf_t *mcf)
{
    ngx_uint_t                         n;
    ngx_pool_t                        *pool;
    ngx_http_clicktrack_stream_hub_t  *hub;

    if (mcf->stream->hub != NULL) {
        return mcf->stream->hub;
    }

    pool = ngx_cycle->pool;
    n = mcf->stream->keys.nelts;

    hub = ngx_pcalloc(pool, sizeof(ngx_http_clicktrack_stream_hub_t));
    if (hub == NULL) {
        return NULL;
    }

    hub->mcf = mcf;
    hub->keys = mcf->stream->keys.elts;
    hub->nkeys = n;

    hub->pos = ngx_pcalloc(pool, n * sizeof(ngx_http_clicktrack_stream_id_t));
    hub->pos_text = ngx_pnalloc(pool, n * NGX_HTTP_CLICKTRACK_ID_LEN);

    /* XREAD COUNT c BLOCK ms STREAMS key... id... */
    hub->argv = ngx_palloc(pool, (6 + 2 * n) * sizeof(char *));
    hub->argvlen = ngx_palloc(pool, (6 + 2 * n) * sizeof(size_t));

    if (hub->pos == NULL || hub->pos_text == NULL || hub->argv == NULL
        || hub->argvlen == NULL)
    {
        return NULL;
    }

    ngx_queue_init(&hub->clients);
    ngx_queue_init(&hub->waiting);

    ngx_http_clicktrack_redis_setup(&hub->reader, mcf->redis, mcf->counters,
                                    ngx_cycle->log);
    hub->reader.ready = ngx_http_clicktrack_stream_reader_ready;
    hub->reader.lost = ngx_http_clicktrack_stream_reader_lost;
    hub->reader.failed = ngx_http_clicktrack_stream_reader_failed;
    hub->reader.data = hub;
    hub->reader.block = NGX_HTTP_CLICKTRACK_BLOCK;

    ngx_http_clicktrack_redis_setup(&hub->query, mcf->redis, mcf->counters,
                                    ngx_cycle->log);
    hub->query.ready = ngx_http_clicktrack_stream_query_ready;
    hub->query.lost = ngx_http_clicktrack_stream_query_lost;
    hub->query.failed = ngx_http_clicktrack_stream_query_failed;
    hub->query.data = hub;

    hub->idle.handler = ngx_http_clicktrack_stream_idle;
    hub->idle.data = hub;
    hub->idle.log = ngx_cycle->log;
    hub->idle.cancelable = 1;

    mcf->stream->hub = hub;

    return hub;
}


static ngx_uint_t
ngx_http_clicktrack_stream_can_start(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    ngx_http_clicktrack_stream_hub_t  *hub = ctx->hub;

    if (hub->query.state != NGX_HTTP_CLICKTRACK_REDIS_READY) {
        return 0;
    }

    return !ctx->sse || hub->seeded;
}


/* a connection this request needs is between attempts: Redis is down */

static ngx_uint_t
ngx_http_clicktrack_stream_failing(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    ngx_http_clicktrack_stream_hub_t  *hub = ctx->hub;

    if (hub->query.state == NGX_HTTP_CLICKTRACK_REDIS_IDLE) {
        return 1;
    }

    return ctx->sse && !hub->seeded
           && hub->reader.state == NGX_HTTP_CLICKTRACK_REDIS_IDLE;
}


/* the connections are ready: the backlog (or export) query, or live */

static void
ngx_http_clicktrack_stream_start(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    int                                 argc;
    u_char                              from[NGX_HTTP_CLICKTRACK_ID_LEN];
    u_char                              count[NGX_INT_T_LEN];
    size_t                              argvlen[6];
    ngx_int_t                           rc;
    const char                         *argv[6];
    ngx_http_clicktrack_stream_id_t     next;
    ngx_http_clicktrack_stream_hub_t   *hub;
    ngx_http_clicktrack_stream_query_t *q;

    hub = ctx->hub;

    if (ctx->sse) {
        ctx->attached = 1;
        ngx_queue_insert_tail(&hub->clients, &ctx->queue);

        if (!ctx->resuming && ctx->count == 0) {
            /* no backlog: live from here on */
            ctx->last = hub->pos[ctx->key];

            rc = ngx_http_clicktrack_stream_begin(ctx, NULL, 0, 0);

            if (rc != NGX_OK) {
                ngx_http_finalize_request(ctx->request, rc);
            }

            return;
        }

        ctx->loading = 1;
        ctx->held_last = &ctx->held;
    }

    argv[1] = (const char *) hub->keys[ctx->key].data;
    argvlen[1] = hub->keys[ctx->key].len;
    argv[4] = "COUNT";
    argvlen[4] = 5;

    if (ctx->resuming) {
        /* the entries after the id: from the next possible one */

        next = ctx->resume;

        if (next.seq == NGX_HTTP_CLICKTRACK_UINT64_MAX) {
            next.ms++;
            next.seq = 0;

        } else {
            next.seq++;
        }

        argv[0] = "XRANGE";
        argvlen[0] = 6;
        argv[2] = (const char *) from;
        argvlen[2] = ngx_sprintf(from, "%uL-%uL", next.ms, next.seq) - from;
        argv[3] = "+";
        argvlen[3] = 1;
        argv[5] = (const char *) count;
        argvlen[5] = ngx_sprintf(count, "%d",
                                 NGX_HTTP_CLICKTRACK_RESUME_MAX) - count;

    } else {
        argv[0] = "XREVRANGE";
        argvlen[0] = 9;
        argv[2] = "+";
        argvlen[2] = 1;
        argv[3] = "-";
        argvlen[3] = 1;
        argv[5] = (const char *) count;
        argvlen[5] = ngx_sprintf(count, "%ui", ctx->count) - count;
    }

    argc = 6;

    if (!ctx->resuming && ctx->count == 0) {
        /* an export of nothing: no need to ask */
        ngx_http_clicktrack_stream_answer(ctx, NULL);
        return;
    }

    q = ngx_alloc(sizeof(ngx_http_clicktrack_stream_query_t),
                  ctx->request->connection->log);
    if (q == NULL) {
        ngx_http_finalize_request(ctx->request,
                                  NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    q->ctx = ctx;

    if (ngx_http_clicktrack_redis_command(&hub->query,
                                        ngx_http_clicktrack_stream_query_reply,
                                        q, argc, argv, argvlen)
        != NGX_OK)
    {
        ngx_free(q);
        ngx_http_clicktrack_stream_unavailable(ctx);
        return;
    }

    ctx->query = q;
}


/*
 * Starts the waiting requests whose connections are ready; with fail_sse
 * (the reader could not connect) or fail_all (the query connection could
 * not), answers the others 503.
 */

static void
ngx_http_clicktrack_stream_run_waiting(ngx_http_clicktrack_stream_hub_t *hub,
    ngx_uint_t fail_sse, ngx_uint_t fail_all)
{
    ngx_queue_t                       *q, *next;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    for (q = ngx_queue_head(&hub->waiting);
         q != ngx_queue_sentinel(&hub->waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_clicktrack_stream_ctx_t, queue);

        if (ngx_http_clicktrack_stream_can_start(ctx)) {
            ngx_queue_remove(q);
            ctx->waiting = 0;
            ngx_http_clicktrack_stream_start(ctx);
            continue;
        }

        if (fail_all || (fail_sse && ctx->sse)) {
            ngx_queue_remove(q);
            ctx->waiting = 0;
            ngx_http_clicktrack_stream_unavailable(ctx);
        }
    }
}


/*
 * The request's pool is going: whatever it held in the hub is let go of
 * here, at once.
 */

static void
ngx_http_clicktrack_stream_cleanup(void *data)
{
    ngx_http_clicktrack_stream_ctx_t *ctx = data;

    ngx_chain_t                        *cl;
    ngx_http_clicktrack_stream_hub_t   *hub;
    ngx_http_clicktrack_stream_held_t  *h, *next;

    hub = ctx->hub;

    if (ctx->waiting || ctx->attached) {
        ngx_queue_remove(&ctx->queue);
        ctx->waiting = 0;
        ctx->attached = 0;
    }

    if (ctx->query != NULL) {
        /* its reply frees it */
        ctx->query->ctx = NULL;
        ctx->query = NULL;
    }

    if (ctx->ping.timer_set) {
        ngx_del_timer(&ctx->ping);
    }

    if (ctx->close.posted) {
        ngx_delete_posted_event(&ctx->close);
    }

    for (h = ctx->held; h != NULL; h = next) {
        next = h->next;
        ngx_free(h);
    }

    ctx->held = NULL;

    for (cl = ctx->free; cl != NULL; cl = cl->next) {
        ngx_free(cl->buf->start);
    }

    for (cl = ctx->busy; cl != NULL; cl = cl->next) {
        ngx_free(cl->buf->start);
    }

    ctx->free = NULL;
    ctx->busy = NULL;

    if (ctx->counted) {
        ctx->counted = 0;
        ngx_http_clicktrack_gauge(hub->mcf->counters, stream_clients, -1);
    }

    if (ctx->sse) {
        ctx->sse = 0;
        hub->nclients--;
    }

    hub->users--;

    if (!hub->exiting
        && (hub->users == 0 || (hub->nclients == 0 && hub->reader_open))
        && !hub->idle.posted)
    {
        /* not from here: this may run inside a hiredis callback */
        ngx_post_event(&hub->idle, &ngx_posted_events);
    }
}


/* closes the connections nobody needs any more */

static void
ngx_http_clicktrack_stream_idle(ngx_event_t *ev)
{
    ngx_http_clicktrack_stream_hub_t *hub = ev->data;

    if (hub->nclients == 0 && hub->reader_open) {
        hub->reader_open = 0;
        hub->seeded = 0;
        hub->reading = 0;
        ngx_http_clicktrack_redis_close(&hub->reader);
    }

    if (hub->users == 0 && hub->query_open) {
        hub->query_open = 0;
        ngx_http_clicktrack_redis_close(&hub->query);
    }
}


void
ngx_http_clicktrack_stream_exit(ngx_http_clicktrack_main_conf_t *mcf)
{
    ngx_http_clicktrack_stream_hub_t  *hub;

    if (mcf->stream == NULL || mcf->stream->hub == NULL) {
        return;
    }

    hub = mcf->stream->hub;
    hub->exiting = 1;

    if (hub->idle.posted) {
        ngx_delete_posted_event(&hub->idle);
    }

    if (hub->reader_open) {
        hub->reader_open = 0;
        ngx_http_clicktrack_redis_close(&hub->reader);
    }

    if (hub->query_open) {
        hub->query_open = 0;
        ngx_http_clicktrack_redis_close(&hub->query);
    }
}


static void
ngx_http_clicktrack_stream_query_ready(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_redis_healthy(rc);
    ngx_http_clicktrack_stream_run_waiting(rc->data, 0, 0);
}


static void
ngx_http_clicktrack_stream_query_lost(ngx_http_clicktrack_redis_t *rc)
{
    /* the queries in flight had their callbacks with no reply: 503 */
}


static void
ngx_http_clicktrack_stream_query_failed(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_stream_hub_t *hub = rc->data;

    if (!hub->exiting) {
        ngx_http_clicktrack_stream_run_waiting(hub, 1, 1);
    }
}


static void
ngx_http_clicktrack_stream_query_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_stream_query_t *q = privdata;

    redisReply                        *r = reply;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    ctx = q->ctx;
    ngx_free(q);

    if (ctx == NULL || ctx->hub->exiting) {
        return;
    }

    ctx->query = NULL;

    if (r == NULL) {
        ngx_http_clicktrack_stream_unavailable(ctx);
        return;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "clicktrack: redis refused to read \"%V\": %*s",
                      &ctx->hub->keys[ctx->key], (size_t) r->len, r->str);

        ngx_http_finalize_request(ctx->request,
                 ngx_http_clicktrack_stream_text(ctx->request,
                                      NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "clicktrack: redis refused the read",
                                      0));
        return;
    }

    ngx_http_clicktrack_redis_healthy(&ctx->hub->query);

    ngx_http_clicktrack_stream_answer(ctx, r);
}


/*
 * The reader: first the newest id of each stream ("seeds", so that no
 * event added after a client's backlog query escapes it), then XREAD from
 * those ids, again and again.  After a reconnection it goes on from where
 * it was.
 */

static void
ngx_http_clicktrack_stream_reader_ready(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_stream_hub_t *hub = rc->data;

    size_t       argvlen[6];
    ngx_uint_t   i;
    const char  *argv[6];

    if (hub->seeded) {
        ngx_http_clicktrack_stream_read(hub);
        return;
    }

    hub->seeds = 0;

    argv[0] = "XREVRANGE";
    argvlen[0] = 9;
    argv[2] = "+";
    argvlen[2] = 1;
    argv[3] = "-";
    argvlen[3] = 1;
    argv[4] = "COUNT";
    argvlen[4] = 5;
    argv[5] = "1";
    argvlen[5] = 1;

    for (i = 0; i < hub->nkeys; i++) {
        argv[1] = (const char *) hub->keys[i].data;
        argvlen[1] = hub->keys[i].len;

        if (ngx_http_clicktrack_redis_command(rc,
                                        ngx_http_clicktrack_stream_seed_reply,
                                        &hub->pos[i], 6, argv, argvlen)
            != NGX_OK)
        {
            ngx_http_clicktrack_redis_reset(rc, "XREVRANGE not sent");
            return;
        }

        hub->seeds++;
    }
}


static void
ngx_http_clicktrack_stream_reader_lost(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_stream_hub_t *hub = rc->data;

    hub->reading = 0;
}


static void
ngx_http_clicktrack_stream_reader_failed(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_stream_hub_t *hub = rc->data;

    if (!hub->exiting && !hub->seeded) {
        ngx_http_clicktrack_stream_run_waiting(hub, 1, 0);
    }
}


static void
ngx_http_clicktrack_stream_seed_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_stream_id_t *pos = privdata;

    redisReply                        *r = reply, *e;
    ngx_http_clicktrack_redis_t       *rc;
    ngx_http_clicktrack_stream_hub_t  *hub;

    if (r == NULL) {
        return;
    }

    rc = ac->data;
    hub = rc->data;

    if (r->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "clicktrack: redis refused to read the recent stream: "
                      "%*s", (size_t) r->len, r->str);

        /* the streams waiting for the reader would wait for ever */
        ngx_http_clicktrack_stream_run_waiting(hub, 1, 0);

        ngx_http_clicktrack_redis_reset(rc, "XREVRANGE refused");
        return;
    }

    pos->ms = 0;
    pos->seq = 0;

    if (r->elements > 0) {
        e = r->element[0];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1
            || e->element[0]->type != REDIS_REPLY_STRING
            || ngx_http_clicktrack_stream_parse_id((u_char *)
                                                   e->element[0]->str,
                                                   e->element[0]->len, pos)
               != NGX_OK)
        {
            ngx_http_clicktrack_redis_reset(rc, "XREVRANGE reply unexpected");
            return;
        }
    }

    if (--hub->seeds > 0) {
        return;
    }

    hub->seeded = 1;

    ngx_http_clicktrack_redis_healthy(rc);
    ngx_http_clicktrack_stream_read(hub);
    ngx_http_clicktrack_stream_run_waiting(hub, 0, 0);
}


static void
ngx_http_clicktrack_stream_read(ngx_http_clicktrack_stream_hub_t *hub)
{
    u_char      *p;
    ngx_uint_t   i, n;

    if (hub->reading || hub->exiting || !hub->seeded
        || hub->reader.state != NGX_HTTP_CLICKTRACK_REDIS_READY)
    {
        return;
    }

    n = hub->nkeys;

    hub->argv[0] = "XREAD";
    hub->argvlen[0] = 5;
    hub->argv[1] = "COUNT";
    hub->argvlen[1] = 5;
    hub->argv[2] = NGX_HTTP_CLICKTRACK_READ_COUNT;
    hub->argvlen[2] = sizeof(NGX_HTTP_CLICKTRACK_READ_COUNT) - 1;
    hub->argv[3] = "BLOCK";
    hub->argvlen[3] = 5;
    hub->argv[4] = NGX_HTTP_CLICKTRACK_BLOCK_TEXT;
    hub->argvlen[4] = sizeof(NGX_HTTP_CLICKTRACK_BLOCK_TEXT) - 1;
    hub->argv[5] = "STREAMS";
    hub->argvlen[5] = 7;

    for (i = 0; i < n; i++) {
        hub->argv[6 + i] = (const char *) hub->keys[i].data;
        hub->argvlen[6 + i] = hub->keys[i].len;

        p = hub->pos_text + i * NGX_HTTP_CLICKTRACK_ID_LEN;

        hub->argv[6 + n + i] = (const char *) p;
        hub->argvlen[6 + n + i] = ngx_sprintf(p, "%uL-%uL", hub->pos[i].ms,
                                              hub->pos[i].seq)
                                  - p;
    }

    if (ngx_http_clicktrack_redis_command(&hub->reader,
                                        ngx_http_clicktrack_stream_read_reply,
                                        hub, 6 + 2 * n, hub->argv,
                                        hub->argvlen)
        != NGX_OK)
    {
        ngx_http_clicktrack_redis_reset(&hub->reader, "XREAD not sent");
        return;
    }

    hub->reading = 1;
}


static void
ngx_http_clicktrack_stream_read_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_stream_hub_t *hub = privdata;

    redisReply  *r = reply, *s;
    ngx_uint_t   i, k;

    if (r == NULL || hub->exiting) {
        /* a lost connection: "ready" reads again */
        return;
    }

    hub->reading = 0;

    if (r->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, hub->reader.log, 0,
                      "clicktrack: redis refused XREAD: %*s",
                      (size_t) r->len, r->str);
        ngx_http_clicktrack_redis_reset(&hub->reader, "XREAD refused");
        return;
    }

    ngx_http_clicktrack_redis_healthy(&hub->reader);

    if (r->type == REDIS_REPLY_ARRAY) {

        /* [[key, [[id, [field, value, ...]], ...]], ...] */

        for (i = 0; i < r->elements; i++) {
            s = r->element[i];

            if (s->type != REDIS_REPLY_ARRAY || s->elements != 2
                || s->element[0]->type != REDIS_REPLY_STRING
                || s->element[1]->type != REDIS_REPLY_ARRAY)
            {
                continue;
            }

            for (k = 0; k < hub->nkeys; k++) {
                if (hub->keys[k].len == s->element[0]->len
                    && ngx_strncmp(hub->keys[k].data, s->element[0]->str,
                                   hub->keys[k].len)
                       == 0)
                {
                    ngx_http_clicktrack_stream_fan_out(hub, k,
                                                       s->element[1]);
                    break;
                }
            }
        }
    }

    /* a nil reply: BLOCK ran out with nothing new */

    ngx_http_clicktrack_stream_read(hub);
}


/* new entries of stream "key" to every client of this worker reading it */

static void
ngx_http_clicktrack_stream_fan_out(ngx_http_clicktrack_stream_hub_t *hub,
    ngx_uint_t key, redisReply *entries)
{
    u_char                              *p;
    size_t                               size;
    ngx_uint_t                           i, n;
    ngx_queue_t                         *q, *next;
    ngx_chain_t                         *cl;
    ngx_http_clicktrack_stream_ctx_t    *ctx;
    ngx_http_clicktrack_stream_entry_t  *e;

    if (entries->elements == 0) {
        return;
    }

    e = ngx_alloc(entries->elements
                  * sizeof(ngx_http_clicktrack_stream_entry_t),
                  hub->reader.log);
    if (e == NULL) {
        return;
    }

    n = 0;

    for (i = 0; i < entries->elements; i++) {
        if (ngx_http_clicktrack_stream_entry(entries->element[i], &e[n])
            == NGX_OK)
        {
            n++;
        }
    }

    if (n > 0) {
        /* entries come in id order; the reader goes on after the last */
        hub->pos[key] = e[n - 1].id;
    }

    for (q = ngx_queue_head(&hub->clients);
         q != ngx_queue_sentinel(&hub->clients);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_clicktrack_stream_ctx_t, queue);

        if (ctx->key != key || ctx->done) {
            continue;
        }

        if (ctx->loading) {
            for (i = 0; i < n; i++) {
                if (ngx_http_clicktrack_stream_match(ctx, &e[i])) {
                    ngx_http_clicktrack_stream_hold(ctx, &e[i]);
                }
            }

            continue;
        }

        size = 0;

        for (i = 0; i < n; i++) {
            if (ngx_http_clicktrack_stream_cmp(&e[i].id, &ctx->last) > 0
                && ngx_http_clicktrack_stream_match(ctx, &e[i]))
            {
                size += ngx_http_clicktrack_stream_message_size(&e[i]);
            }
        }

        if (size == 0) {
            continue;
        }

        cl = ngx_http_clicktrack_stream_buf(ctx, size);
        if (cl == NULL) {
            ngx_http_clicktrack_stream_close_later(ctx);
            continue;
        }

        p = cl->buf->last;

        for (i = 0; i < n; i++) {
            if (ngx_http_clicktrack_stream_cmp(&e[i].id, &ctx->last) > 0
                && ngx_http_clicktrack_stream_match(ctx, &e[i]))
            {
                p = ngx_http_clicktrack_stream_message(p, &e[i]);
                ctx->last = e[i].id;
            }
        }

        cl->buf->last = p;

        ngx_http_clicktrack_stream_send(ctx, cl);
    }

    ngx_free(e);
}


/* a reply of XRANGE / XREVRANGE, as entries (from the request's pool) */

static ngx_int_t
ngx_http_clicktrack_stream_entries(ngx_http_request_t *r, redisReply *reply,
    ngx_http_clicktrack_stream_entry_t **out, ngx_uint_t *n)
{
    ngx_uint_t                           i;
    ngx_http_clicktrack_stream_entry_t  *e;

    *out = NULL;
    *n = 0;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0)
    {
        return NGX_OK;
    }

    e = ngx_palloc(r->pool, reply->elements
                            * sizeof(ngx_http_clicktrack_stream_entry_t));
    if (e == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < reply->elements; i++) {
        if (ngx_http_clicktrack_stream_entry(reply->element[i], &e[*n])
            == NGX_OK)
        {
            (*n)++;
        }
    }

    *out = e;

    return NGX_OK;
}


/*
 * [id, [field, value, ...]] with an "e" field holding an event object.
 * Anything else in the stream (written by another program) is skipped.
 */

static ngx_int_t
ngx_http_clicktrack_stream_entry(redisReply *r,
    ngx_http_clicktrack_stream_entry_t *e)
{
    u_char      *p;
    ngx_uint_t   i;
    redisReply  *id, *fv;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        return NGX_DECLINED;
    }

    id = r->element[0];
    fv = r->element[1];

    if (id->type != REDIS_REPLY_STRING || fv->type != REDIS_REPLY_ARRAY
        || ngx_http_clicktrack_stream_parse_id((u_char *) id->str, id->len,
                                               &e->id)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    e->id_text.data = (u_char *) id->str;
    e->id_text.len = id->len;

    for (i = 0; i + 1 < fv->elements; i += 2) {

        if (fv->element[i]->type == REDIS_REPLY_STRING
            && fv->element[i]->len == 1 && fv->element[i]->str[0] == 'e'
            && fv->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            p = (u_char *) fv->element[i + 1]->str;

            e->json.data = p;
            e->json.len = fv->element[i + 1]->len;

            if (ngx_http_clicktrack_record_scan(p, p + e->json.len, e->field)
                != NGX_OK)
            {
                return NGX_DECLINED;
            }

            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_http_clicktrack_stream_match(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e)
{
    ngx_uint_t   i;
    ngx_str_t   *v;

    if (ctx->ntypes) {
        v = &e->field[NGX_HTTP_CLICKTRACK_F_TYPE];

        for (i = 0; i < ctx->ntypes; i++) {
            if (v->len == ctx->types[i].len
                && ngx_strncmp(v->data, ctx->types[i].data, v->len) == 0)
            {
                break;
            }
        }

        if (i == ctx->ntypes) {
            return 0;
        }
    }

    if (ctx->visitor.len) {
        v = &e->field[NGX_HTTP_CLICKTRACK_F_VISITOR];

        if (v->len != ctx->visitor.len
            || ngx_strncmp(v->data, ctx->visitor.data, v->len) != 0)
        {
            return 0;
        }
    }

    if (ctx->host.len) {
        v = &e->field[NGX_HTTP_CLICKTRACK_F_HOST];

        if (v->len != ctx->host.len
            || ngx_strncasecmp(v->data, ctx->host.data, v->len) != 0)
        {
            return 0;
        }
    }

    return 1;
}


/* the query's reply: the export, or the stream's start */

static void
ngx_http_clicktrack_stream_answer(ngx_http_clicktrack_stream_ctx_t *ctx,
    redisReply *reply)
{
    ngx_int_t                            rc;
    ngx_uint_t                           n;
    ngx_http_request_t                  *r;
    ngx_http_clicktrack_stream_entry_t  *e;

    r = ctx->request;

    if (ngx_http_clicktrack_stream_entries(r, reply, &e, &n) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->format != NGX_HTTP_CLICKTRACK_SSE) {
        ngx_http_finalize_request(r,
                                 ngx_http_clicktrack_stream_export(ctx, e, n));
        return;
    }

    /* XREVRANGE is newest first, XRANGE oldest first */

    rc = ngx_http_clicktrack_stream_begin(ctx, e, n, ctx->resuming ? 0 : 1);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * The stream's headers, the backlog oldest first, then what arrived live
 * meanwhile; from here on the reader feeds the client.
 */

static ngx_int_t
ngx_http_clicktrack_stream_begin(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e, ngx_uint_t n, ngx_uint_t newest)
{
    u_char                             *p;
    size_t                              size;
    ngx_int_t                           rc;
    ngx_uint_t                          i, k;
    ngx_chain_t                        *cl;
    ngx_http_request_t                 *r;
    ngx_http_clicktrack_stream_held_t  *h, *next;

    r = ctx->request;

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);

    if (ngx_http_clicktrack_stream_set(r, "Cache-Control", "no-cache")
        != NGX_OK
        || ngx_http_clicktrack_stream_set(r, "X-Accel-Buffering", "no")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    ctx->counted = 1;
    ngx_http_clicktrack_gauge(ctx->hub->mcf->counters, stream_clients, 1);

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_clicktrack_stream_writer;

    /* a graceful shutdown or reload closes the stream at once */
    r->connection->idle = 1;

    /* the newest id of the reply, filtered or not, bounds the held ones */

    if (ctx->resuming) {
        ctx->last = ctx->resume;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_clicktrack_stream_cmp(&e[i].id, &ctx->last) > 0) {
            ctx->last = e[i].id;
        }
    }

    size = sizeof(": clicktrack\n\n") - 1;

    for (i = 0; i < n; i++) {
        if (ngx_http_clicktrack_stream_match(ctx, &e[i])) {
            size += ngx_http_clicktrack_stream_message_size(&e[i]);
        }
    }

    for (h = ctx->held; h != NULL; h = h->next) {
        if (ngx_http_clicktrack_stream_cmp(&h->id, &ctx->last) > 0) {
            size += h->len;
        }
    }

    cl = ngx_http_clicktrack_stream_buf(ctx, size);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    /* the headers go out at once, even with no backlog */

    p = ngx_cpymem(cl->buf->last, ": clicktrack\n\n",
                   sizeof(": clicktrack\n\n") - 1);

    for (i = 0; i < n; i++) {
        k = newest ? n - 1 - i : i;

        if (ngx_http_clicktrack_stream_match(ctx, &e[k])) {
            p = ngx_http_clicktrack_stream_message(p, &e[k]);
        }
    }

    for (h = ctx->held; h != NULL; h = next) {
        next = h->next;

        if (ngx_http_clicktrack_stream_cmp(&h->id, &ctx->last) > 0) {
            p = ngx_cpymem(p, h->data, h->len);
            ctx->last = h->id;
        }

        ngx_free(h);
    }

    ctx->held = NULL;
    ctx->held_bytes = 0;
    ctx->loading = 0;

    cl->buf->last = p;

    ngx_http_clicktrack_stream_send(ctx, cl);

    return NGX_OK;
}


static ngx_int_t
ngx_http_clicktrack_stream_export(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e, ngx_uint_t n)
{
    u_char              *p, *tmp;
    size_t               size, longest;
    ngx_str_t           *v;
    ngx_uint_t           i, k, f, col, first, json;
    ngx_buf_t           *b;
    ngx_http_request_t  *r;

    r = ctx->request;

    /*
     * read once: the clang static analyzer cannot tell that
     * ngx_http_clicktrack_stream_match() leaves ctx->format alone, and
     * would follow a JSON export into the CSV writer with no tmp buffer
     */

    json = (ctx->format == NGX_HTTP_CLICKTRACK_JSON);
    longest = 0;

    if (json) {
        size = sizeof("[]\n");

        for (i = 0; i < n; i++) {
            size += e[i].json.len + 1;
        }

    } else {
        size = sizeof("\r\n") - 1;

        for (f = 0; f < NGX_HTTP_CLICKTRACK_CSV_COLUMNS; f++) {
            col = ngx_http_clicktrack_stream_csv[f];
            size += ngx_http_clicktrack_record_names[col].len + 1;
        }

        for (i = 0; i < n; i++) {

            /* at worst every byte a doubled quote, plus the two quotes */

            for (f = 0; f < NGX_HTTP_CLICKTRACK_CSV_COLUMNS; f++) {
                v = &e[i].field[ngx_http_clicktrack_stream_csv[f]];
                size += 2 * v->len + 3;

                if (v->len > longest) {
                    longest = v->len;
                }
            }

            size += 2;
        }
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tmp = NULL;

    if (longest) {
        tmp = ngx_pnalloc(r->pool, longest);
        if (tmp == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    p = b->last;
    first = 1;

    if (json) {
        *p++ = '[';

    } else {
        for (f = 0; f < NGX_HTTP_CLICKTRACK_CSV_COLUMNS; f++) {
            if (f) {
                *p++ = ',';
            }

            col = ngx_http_clicktrack_stream_csv[f];
            v = &ngx_http_clicktrack_record_names[col];
            p = ngx_cpymem(p, v->data, v->len);
        }

        *p++ = '\r';
        *p++ = '\n';
    }

    /* XREVRANGE: newest first; the export is oldest first */

    for (i = 0; i < n; i++) {
        k = n - 1 - i;

        if (!ngx_http_clicktrack_stream_match(ctx, &e[k])) {
            continue;
        }

        if (json) {
            if (!first) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, e[k].json.data, e[k].json.len);
            first = 0;
            continue;
        }

        for (f = 0; f < NGX_HTTP_CLICKTRACK_CSV_COLUMNS; f++) {
            if (f) {
                *p++ = ',';
            }

            v = &e[k].field[ngx_http_clicktrack_stream_csv[f]];
            p += ngx_http_clicktrack_stream_csv_field(p, v, tmp);
        }

        *p++ = '\r';
        *p++ = '\n';
    }

    if (json) {
        *p++ = ']';
        *p++ = '\n';
        ngx_str_set(&r->headers_out.content_type, "application/json");

    } else {
        ngx_str_set(&r->headers_out.content_type, "text/csv; charset=utf-8");

        if (ngx_http_clicktrack_stream_set(r, "Content-Disposition",
                "attachment; filename=\"clicktrack-events.csv\"")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    b->last = p;

    if (ngx_http_clicktrack_stream_set(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_clicktrack_stream_output(r, NGX_HTTP_OK, b);
}


/*
 * One CSV field (RFC 4180) from a raw JSON value: unescaped to UTF-8,
 * quoted when it holds a comma, a quote or a line break, quotes doubled.
 */

static size_t
ngx_http_clicktrack_stream_csv_field(u_char *dst, ngx_str_t *v, u_char *tmp)
{
    u_char      *p, *s;
    size_t       len;
    ngx_uint_t   i, quote;

    if (v->len == 0) {
        return 0;
    }

    len = ngx_http_clicktrack_record_unescape(tmp, v->data,
                                              v->data + v->len);
    quote = 0;

    for (i = 0; i < len; i++) {
        if (tmp[i] == ',' || tmp[i] == '"' || tmp[i] == '\r'
            || tmp[i] == '\n')
        {
            quote = 1;
            break;
        }
    }

    if (!quote) {
        ngx_memcpy(dst, tmp, len);
        return len;
    }

    p = dst;
    *p++ = '"';

    for (s = tmp; s < tmp + len; s++) {
        if (*s == '"') {
            *p++ = '"';
        }

        *p++ = *s;
    }

    *p++ = '"';

    return p - dst;
}


/* "id: ID\nevent: TYPE\ndata: JSON\n\n", a data line per line of JSON */

static size_t
ngx_http_clicktrack_stream_message_size(
    ngx_http_clicktrack_stream_entry_t *e)
{
    size_t   size;
    u_char  *p, *last;

    size = sizeof("id: \n") - 1 + e->id_text.len
           + sizeof("event: \n") - 1 + e->field[NGX_HTTP_CLICKTRACK_F_TYPE].len
           + sizeof("data: \n\n") - 1 + e->json.len;

    last = e->json.data + e->json.len;

    for (p = e->json.data; p < last; p++) {
        if (*p == '\n' || *p == '\r') {
            size += sizeof("data: ") - 1;
        }
    }

    return size;
}


static u_char *
ngx_http_clicktrack_stream_message(u_char *p,
    ngx_http_clicktrack_stream_entry_t *e)
{
    u_char      *s, *last;
    ngx_str_t   *type;
    ngx_uint_t   i;

    p = ngx_cpymem(p, "id: ", 4);
    p = ngx_cpymem(p, e->id_text.data, e->id_text.len);
    *p++ = '\n';

    /* an event name only from a valid type: it ends at a line break */

    type = &e->field[NGX_HTTP_CLICKTRACK_F_TYPE];

    for (i = 0; i < type->len; i++) {
        if (type->data[i] <= ' ' || type->data[i] == '\\') {
            break;
        }
    }

    if (type->len && i == type->len) {
        p = ngx_cpymem(p, "event: ", 7);
        p = ngx_cpymem(p, type->data, type->len);
        *p++ = '\n';
    }

    p = ngx_cpymem(p, "data: ", 6);

    last = e->json.data + e->json.len;

    for (s = e->json.data; s < last; s++) {
        if (*s == '\n' || *s == '\r') {
            p = ngx_cpymem(p, "\ndata: ", 7);
            continue;
        }

        *p++ = *s;
    }

    *p++ = '\n';
    *p++ = '\n';

    return p;
}


/* a live message for a client still waiting for its backlog */

static void
ngx_http_clicktrack_stream_hold(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e)
{
    size_t                              size;
    ngx_http_clicktrack_stream_held_t  *h;

    size = ngx_http_clicktrack_stream_message_size(e);

    if (ctx->held_bytes + size > NGX_HTTP_CLICKTRACK_MAX_UNSENT) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "clicktrack: stream client's backlog too slow, "
                      "closing it");
        ctx->why = "clicktrack: live events outran the backlog, "
                   "ask for a smaller one";
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    h = ngx_alloc(offsetof(ngx_http_clicktrack_stream_held_t, data) + size,
                  ctx->request->connection->log);
    if (h == NULL) {
        ctx->why = "clicktrack: out of memory";
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    h->next = NULL;
    h->id = e->id;
    h->len = ngx_http_clicktrack_stream_message(h->data, e) - h->data;

    *ctx->held_last = h;
    ctx->held_last = &h->next;
    ctx->held_bytes += size;
}


/*
 * An output buffer of at least "size" bytes, reused once sent: a stream
 * that lives for days must not grow its request's pool.
 */

static ngx_chain_t *
ngx_http_clicktrack_stream_buf(ngx_http_clicktrack_stream_ctx_t *ctx,
    size_t size)
{
    u_char              *start;
    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r;

    r = ctx->request;

    cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
    if (cl == NULL) {
        return NULL;
    }

    b = cl->buf;

    if (b->start == NULL || (size_t) (b->end - b->start) < size) {

        if (size < 4096) {
            size = 4096;
        }

        start = ngx_alloc(size, r->connection->log);
        if (start == NULL) {
            /* keep the buf for the cleanup to find */
            cl->next = ctx->free;
            ctx->free = cl;
            return NULL;
        }

        if (b->start != NULL) {
            ngx_free(b->start);
        }

        b->start = start;
        b->end = start + size;
    }

    b->pos = b->start;
    b->last = b->start;
    b->memory = 1;
    b->flush = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_clicktrack_stream_handler;

    return cl;
}


static void
ngx_http_clicktrack_stream_send(ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_chain_t *out)
{
    off_t                      unsent;
    ngx_int_t                  rc;
    ngx_chain_t               *cl;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = ctx->request;
    c = r->connection;

    rc = ngx_http_output_filter(r, out);

    ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &out,
                          (ngx_buf_tag_t) &ngx_http_clicktrack_stream_handler);

    if (rc == NGX_ERROR || c->error) {
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    unsent = 0;

    for (cl = ctx->busy; cl != NULL; cl = cl->next) {
        unsent += ngx_buf_size(cl->buf);
    }

    if (unsent > NGX_HTTP_CLICKTRACK_MAX_UNSENT) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "clicktrack: stream client not keeping up, %O bytes "
                      "unsent, closing it", unsent);
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (unsent > 0 || c->buffered) {
        if (!c->write->timer_set) {
            ngx_add_timer(c->write, clcf->send_timeout);
        }

        if (ngx_handle_write_event(c->write, clcf->send_lowat) != NGX_OK) {
            ngx_http_clicktrack_stream_close_later(ctx);
            return;
        }

    } else if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    ngx_add_timer(&ctx->ping, NGX_HTTP_CLICKTRACK_PING);
}


/* not from here (a hiredis callback, a loop over clients): posted */

static void
ngx_http_clicktrack_stream_close_later(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    if (ctx->done) {
        return;
    }

    ctx->done = 1;

    if (ctx->ping.timer_set) {
        ngx_del_timer(&ctx->ping);
    }

    ngx_post_event(&ctx->close, &ngx_posted_events);
}


static void
ngx_http_clicktrack_stream_close(ngx_event_t *ev)
{
    ngx_connection_t                  *c;
    ngx_http_request_t                *r;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    if (r->header_sent) {
        ngx_http_finalize_request(r, NGX_ERROR);

    } else {
        ngx_http_clicktrack_stream_unavailable(ctx);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_clicktrack_stream_writer(ngx_http_request_t *r)
{
    ngx_event_t                       *wev;
    ngx_pool_cleanup_t                *cln;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    wev = r->connection->write;

    /* the module's request context is the beacon's: ours is the cleanup's */

    ctx = NULL;

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_clicktrack_stream_cleanup) {
            ctx = cln->data;
            break;
        }
    }

    if (ctx == NULL || ctx->done) {
        return;
    }

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, NGX_ETIMEDOUT,
                      "clicktrack: stream client timed out");
        r->connection->timedout = 1;
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    ngx_http_clicktrack_stream_send(ctx, NULL);
}


static void
ngx_http_clicktrack_stream_ping(ngx_event_t *ev)
{
    ngx_chain_t                       *cl;
    ngx_http_clicktrack_stream_ctx_t  *ctx;

    ctx = ev->data;

    if (ctx->done || ctx->loading) {
        return;
    }

    cl = ngx_http_clicktrack_stream_buf(ctx, sizeof(": ping\n\n") - 1);
    if (cl == NULL) {
        ngx_http_clicktrack_stream_close_later(ctx);
        return;
    }

    cl->buf->last = ngx_cpymem(cl->buf->last, ": ping\n\n",
                               sizeof(": ping\n\n") - 1);

    ngx_http_clicktrack_stream_send(ctx, cl);

    ngx_http_run_posted_requests(ctx->request->connection);
}


/* a short text/plain answer; with "retry", a Retry-After in seconds */

static ngx_int_t
ngx_http_clicktrack_stream_text(ngx_http_request_t *r, ngx_uint_t status,
    char *text, ngx_msec_t retry)
{
    size_t       len;
    ngx_str_t    v;
    ngx_buf_t   *b;

    if (retry) {
        v.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (v.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        v.len = ngx_sprintf(v.data, "%M", (retry + 999) / 1000) - v.data;

        if (ngx_http_clicktrack_add_header(r, "Retry-After", &v)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_clicktrack_stream_set(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(text);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, text, len);
    *b->last++ = '\n';

    ngx_str_set(&r->headers_out.content_type, "text/plain");

    return ngx_http_clicktrack_stream_output(r, status, b);
}


/* a whole answer in one buffer, its content type set */

static ngx_int_t
ngx_http_clicktrack_stream_output(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_clicktrack_stream_set(ngx_http_request_t *r, char *key, char *value)
{
    ngx_str_t  v;

    v.data = (u_char *) value;
    v.len = ngx_strlen(value);

    return ngx_http_clicktrack_add_header(r, key, &v);
}


/* Redis went away before the request's answer started: 503 */

static void
ngx_http_clicktrack_stream_unavailable(ngx_http_clicktrack_stream_ctx_t *ctx)
{
    ngx_http_request_t  *r;

    r = ctx->request;

    if (r->header_sent) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    /*
     * ctx->queue links a request into hub->waiting or hub->clients, never
     * both, and ngx_http_clicktrack_stream_run_waiting() has taken it out
     * of hub->waiting before it comes here with attached 0; the clang
     * static analyzer does not know the two flags exclude each other.
     */

    if (ctx->attached) {
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
        ngx_queue_remove(&ctx->queue);
        ctx->attached = 0;
        ctx->loading = 0;
    }

    if (ctx->why == NULL) {
        ctx->why = "clicktrack: redis is unreachable";
    }

    ngx_http_finalize_request(r,
               ngx_http_clicktrack_stream_text(r,
                                   NGX_HTTP_SERVICE_UNAVAILABLE, ctx->why,
                                   ngx_http_clicktrack_stream_retry(ctx->hub)));
}


/* when to come back: the next reconnection attempt, at least 1 s */

static ngx_msec_t
ngx_http_clicktrack_stream_retry(ngx_http_clicktrack_stream_hub_t *hub)
{
    ngx_msec_t    retry, left;
    ngx_event_t  *ev[2];
    ngx_uint_t    i;

    retry = 1000;

    ev[0] = &hub->query.reconnect_timer;
    ev[1] = &hub->reader.reconnect_timer;

    for (i = 0; i < 2; i++) {
        if (ev[i]->timer_set) {
            left = (ngx_msec_t) (ev[i]->timer.key - ngx_current_msec);

            if (left > retry && left < 60000) {
                retry = left;
            }
        }
    }

    return retry;
}


char *
ngx_http_clicktrack_stream_merge(ngx_conf_t *cf,
    ngx_http_clicktrack_main_conf_t *mcf, ngx_http_clicktrack_loc_conf_t *lcf)
{
    ngx_str_t                 *key;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != ngx_http_clicktrack_stream_handler) {
        return NGX_CONF_OK;
    }

    if (lcf->recent == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"clicktrack_stream\" in location \"%V\" reads the "
                      "recent stream, but \"clicktrack_recent\" is off there",
                      &clcf->name);
        return NGX_CONF_ERROR;
    }

    if (mcf->stream == NULL) {
        mcf->stream = ngx_pcalloc(cf->pool,
                                  sizeof(ngx_http_clicktrack_stream_t));
        if (mcf->stream == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_array_init(&mcf->stream->keys, cf->pool, 2, sizeof(ngx_str_t))
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    key = mcf->stream->keys.elts;

    for (i = 0; i < mcf->stream->keys.nelts; i++) {
        if (key[i].len == lcf->recent->key.len
            && ngx_strncmp(key[i].data, lcf->recent->key.data, key[i].len)
               == 0)
        {
            return NGX_CONF_OK;
        }
    }

    key = ngx_array_push(&mcf->stream->keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    *key = lcf->recent->key;

    return NGX_CONF_OK;
}
