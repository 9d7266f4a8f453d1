
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <uuid/uuid.h>
#include <sys/random.h>
#include <ngx_sha1.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_event.h"
#include "ngx_http_clicktrack_beacon.h"
#include "ngx_http_clicktrack_filter.h"
#include "ngx_http_clicktrack_queue.h"
#include "ngx_http_clicktrack_rollup.h"


/*
 * The beacon: check the method, the origin and the filters, parse the
 * events, choose the visitor, encode each event and hand it to this
 * worker's queue, then answer.  Redis is never waited for: the queue sends
 * after the answer, from a posted event or its flush timer.
 */


#define NGX_HTTP_CLICKTRACK_FORM   1
#define NGX_HTTP_CLICKTRACK_JSON   2


typedef struct {
    ngx_str_t                        visitor;
    ngx_str_t                        origin;      /* to echo; "*" for any */
    char                            *dropped;     /* "bot", "dnt" */
    unsigned                         set_cookie:1;
    unsigned                         body:2;      /* FORM, JSON */
} ngx_http_clicktrack_ctx_t;


static void ngx_http_clicktrack_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_clicktrack_collect_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_clicktrack_record(ngx_http_request_t *r,
    ngx_http_clicktrack_event_t *events, ngx_uint_t n);
static ngx_int_t ngx_http_clicktrack_hash_visitor(ngx_http_request_t *r,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_http_clicktrack_common_t *common,
    ngx_str_t *visitor);
static void ngx_http_clicktrack_choose_visitor(ngx_http_request_t *r,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_http_clicktrack_ctx_t *ctx,
    ngx_http_clicktrack_common_t *common, ngx_http_clicktrack_event_t *events,
    ngx_uint_t n);
static ngx_int_t ngx_http_clicktrack_new_id(u_char *id);
static ngx_int_t ngx_http_clicktrack_common(ngx_http_request_t *r,
    ngx_http_clicktrack_loc_conf_t *lcf,
    ngx_http_clicktrack_common_t *common);
static ngx_int_t ngx_http_clicktrack_ip(ngx_http_request_t *r,
    ngx_uint_t mode, ngx_str_t *ip);
static ngx_int_t ngx_http_clicktrack_content_type(ngx_http_request_t *r);
static ngx_int_t ngx_http_clicktrack_answer(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *text);
static ngx_int_t ngx_http_clicktrack_error(ngx_http_request_t *r,
    ngx_uint_t status, char *text);


/* a transparent 1x1 GIF89a */

static u_char  ngx_http_clicktrack_gif[] = {
    'G', 'I', 'F', '8', '9', 'a',       /* signature */
    0x01, 0x00, 0x01, 0x00,             /* 1 x 1 */
    0x80, 0x00, 0x00,                   /* a 2-colour table, no aspect */
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff, /* black, white */
    0x21, 0xf9, 0x04,                   /* graphic control extension */
    0x01, 0x00, 0x00, 0x00, 0x00,       /* colour 0 is transparent */
    0x2c,                               /* image descriptor */
    0x00, 0x00, 0x00, 0x00,             /* at 0, 0 */
    0x01, 0x00, 0x01, 0x00, 0x00,       /* 1 x 1, no local table */
    0x02, 0x02, 0x44, 0x01, 0x00,       /* LZW: clear, 0, end */
    0x3b                                /* trailer */
};


/* "00" to "ff": a byte's two lower-case hex digits at [byte * 2] */

static u_char  ngx_http_clicktrack_hex_pairs[] =
    "000102030405060708090a0b0c0d0e0f"
    "101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f"
    "303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f"
    "505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f"
    "707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f"
    "909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
    "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
    "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";


ngx_int_t
ngx_http_clicktrack_beacon_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_str_t                        err;
    ngx_uint_t                       n;
    ngx_http_clicktrack_ctx_t       *ctx;
    ngx_http_clicktrack_event_t     *events;
    ngx_http_clicktrack_loc_conf_t  *lcf;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_clicktrack_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_clicktrack_module);

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST
                       |NGX_HTTP_OPTIONS)))
    {
        return ngx_http_clicktrack_error(r, NGX_HTTP_NOT_ALLOWED,
                                         "method not allowed");
    }

    if (ngx_http_clicktrack_filter_origin(r, lcf, &ctx->origin) != NGX_OK) {
        return ngx_http_clicktrack_error(r, NGX_HTTP_FORBIDDEN,
                                         "origin not allowed");
    }

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_http_clicktrack_answer(r, NGX_HTTP_NO_CONTENT, NULL);
    }

    if (lcf->ignore_bots && ngx_http_clicktrack_filter_bot(r)) {
        ctx->dropped = "bot";

    } else if (lcf->dnt && ngx_http_clicktrack_filter_no_track(r)) {
        ctx->dropped = "dnt";
    }

    if (r->method == NGX_HTTP_POST) {

        if (ctx->dropped == NULL) {
            rc = ngx_http_clicktrack_content_type(r);

            if (rc == NGX_DECLINED) {
                return ngx_http_clicktrack_error(r,
                           NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                           "Content-Type must be "
                           "application/x-www-form-urlencoded, text/plain "
                           "or application/json");
            }

            ctx->body = rc;

            if (r->headers_in.content_length_n > (off_t) lcf->max_body) {
                return ngx_http_clicktrack_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "body over clicktrack_max_body");
            }

            r->request_body_in_single_buf = 1;

            rc = ngx_http_read_client_request_body(r,
                                            ngx_http_clicktrack_body_handler);

            if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
                /* over client_max_body_size: our answer, not the error page */
                r->keepalive = 0;
                r->lingering_close = 1;

                ngx_str_set(&err, "body over client_max_body_size");

                return ngx_http_clicktrack_answer(r, rc, &err);
            }

            if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
                return rc;
            }

            return NGX_DONE;
        }

        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_clicktrack_answer(r, NGX_HTTP_NO_CONTENT, NULL);
    }

    /* GET, HEAD: the event is in the query string */

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->dropped) {
        return ngx_http_clicktrack_answer(r, NGX_HTTP_OK, NULL);
    }

    if (r->args.len == 0) {
        return ngx_http_clicktrack_error(r, NGX_HTTP_BAD_REQUEST,
                                         "no event in the query string");
    }

    events = ngx_pcalloc(r->pool, sizeof(ngx_http_clicktrack_event_t));
    if (events == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 1;

    rc = ngx_http_clicktrack_parse_form(r->pool, r->args.data, r->args.len,
                                        events, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_clicktrack_answer(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    if (ngx_http_clicktrack_record(r, events, n) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_clicktrack_answer(r, NGX_HTTP_OK, NULL);
}


static void
ngx_http_clicktrack_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_str_t                        body, err;
    ngx_uint_t                       n;
    ngx_http_clicktrack_ctx_t       *ctx;
    ngx_http_clicktrack_event_t     *events;
    ngx_http_clicktrack_loc_conf_t  *lcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_clicktrack_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);

    rc = ngx_http_clicktrack_collect_body(r, &body);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (body.len > lcf->max_body) {
        ngx_http_finalize_request(r,
            ngx_http_clicktrack_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                      "body over clicktrack_max_body"));
        return;
    }

    if (body.len == 0) {
        ngx_http_finalize_request(r,
            ngx_http_clicktrack_error(r, NGX_HTTP_BAD_REQUEST, "empty body"));
        return;
    }

    if (ctx->body == NGX_HTTP_CLICKTRACK_FORM) {
        events = ngx_pcalloc(r->pool, sizeof(ngx_http_clicktrack_event_t));
        if (events == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        n = 1;

        rc = ngx_http_clicktrack_parse_form(r->pool, body.data, body.len,
                                            events, &err);

    } else {
        rc = ngx_http_clicktrack_parse_json(r->pool, body.data, body.len,
                                            lcf->max_batch, &events, &n,
                                            &err);
    }

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_http_clicktrack_answer(r, NGX_HTTP_BAD_REQUEST, &err));
        return;
    }

    if (ngx_http_clicktrack_record(r, events, n) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r,
                  ngx_http_clicktrack_answer(r, NGX_HTTP_NO_CONTENT, NULL));
}


/* the body as one piece of memory, read back from its file if need be */

static ngx_int_t
ngx_http_clicktrack_collect_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    size_t        len;
    ssize_t       size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = NULL;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;
    b = cl->buf;

    if (cl->next == NULL && !b->in_file) {
        body->data = b->pos;
        body->len = b->last - b->pos;
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }

    body->data = ngx_pnalloc(r->pool, len);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            size = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                                 b->file_pos);
            if (size == NGX_ERROR) {
                return NGX_ERROR;
            }

            p += size;
            continue;
        }

        /* the last buffer of a chunked body may be empty, pos NULL */

        if (b->last == b->pos) {
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    body->len = p - body->data;

    return NGX_OK;
}


/* encodes every event of the request and queues it */

static ngx_int_t
ngx_http_clicktrack_record(ngx_http_request_t *r,
    ngx_http_clicktrack_event_t *events, ngx_uint_t n)
{
    u_char                           *p, *json, *last;
    size_t                            len, size;
    ngx_str_t                         list, referer;
    ngx_uint_t                        i;
    ngx_http_clicktrack_ctx_t        *ctx;
    ngx_http_clicktrack_common_t      common;
    ngx_http_clicktrack_loc_conf_t   *lcf;
    ngx_http_clicktrack_main_conf_t  *mcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_clicktrack_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_clicktrack_module);

    if (ngx_http_clicktrack_common(r, lcf, &common) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_clicktrack_choose_visitor(r, lcf, ctx, &common, events, n);

    if (ngx_http_complex_value(r, lcf->list, &list) != NGX_OK) {
        return NGX_ERROR;
    }

    if (list.len == 0) {
        ngx_str_set(&list, "clicktrack:events");
    }

    /* an event without "u" is about the page that sent it */

    if (r->headers_in.referer) {
        referer = r->headers_in.referer->value;

        if (referer.len > NGX_HTTP_CLICKTRACK_MAX_URL) {
            referer.len = NGX_HTTP_CLICKTRACK_MAX_URL;

            /*
             * not inside a UTF-8 sequence: when the first byte left out
             * continues one, the cut goes back to where it starts
             */

            p = referer.data + referer.len;

            while (p > referer.data + referer.len - 3 && (*p & 0xc0) == 0x80) {
                p--;
            }

            if (*p >= 0xc0
                && p + (*p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2)
                   > referer.data + referer.len)
            {
                referer.len = p - referer.data;
            }
        }

    } else {
        ngx_str_null(&referer);
    }

    (void) ngx_atomic_fetch_add(&mcf->counters->accepted, n);

    json = NULL;
    size = 0;

    for (i = 0; i < n; i++) {

        if (events[i].url.len == 0) {
            events[i].url = referer;
        }

        if (ngx_http_clicktrack_new_id(events[i].id) != NGX_OK) {
            return NGX_ERROR;
        }

        /*
         * Written in one pass into room for the longest it can be, kept
         * for the request's next event; the queue copies what it takes.
         */

        len = ngx_http_clicktrack_record_max(&events[i], &common);

        if (len > size) {
            json = ngx_pnalloc(r->pool, len);
            if (json == NULL) {
                return NGX_ERROR;
            }

            size = len;
        }

        last = ngx_http_clicktrack_record_write(json, &events[i], &common);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "clicktrack event: %*s", (size_t) (last - json), json);

        if (mcf->queue == NULL) {
            /* only when the queue could not be set up: logged then */
            (void) ngx_atomic_fetch_add(&mcf->counters->dropped, 1);
            continue;
        }

        (void) ngx_http_clicktrack_queue_push(mcf->queue, &list, lcf->recent,
                                              json, last - json);

        if (lcf->rollup && mcf->rollup) {
            ngx_http_clicktrack_rollup_add(mcf->rollup, lcf->rollup,
                                           &events[i], &common);
        }
    }

    return NGX_OK;
}


/*
 * A valid cookie wins; else the first valid "v"; else, with
 * clicktrack_visitor_hash, the day's hash (no cookie is set for it); else
 * a new id.  Each event keeps its own "v" when there is no cookie; with
 * cookies off and no hash, an event without "v" has no visitor.
 */

static void
ngx_http_clicktrack_choose_visitor(ngx_http_request_t *r,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_http_clicktrack_ctx_t *ctx,
    ngx_http_clicktrack_common_t *common, ngx_http_clicktrack_event_t *events,
    ngx_uint_t n)
{
    u_char           *id;
    ngx_str_t         cookie;
    ngx_uint_t        i, hashed;
#if (nginx_version >= 1023000)
    ngx_table_elt_t  *h;
#endif

    ngx_str_null(&ctx->visitor);

    if (lcf->cookie != NULL) {

#if (nginx_version >= 1023000)
        h = ngx_http_parse_cookie_lines(r, r->headers_in.cookie,
                                        &lcf->cookie->name, &cookie);
        if (h != NULL
#else
        if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                              &lcf->cookie->name, &cookie)
            != NGX_DECLINED
#endif
            && ngx_http_clicktrack_record_valid_id(cookie.data, cookie.len)
               == NGX_OK)
        {
            ctx->visitor = cookie;

            for (i = 0; i < n; i++) {
                events[i].visitor = cookie;
            }

            return;
        }

        ctx->set_cookie = 1;
    }

    for (i = 0; i < n; i++) {
        if (events[i].client_visitor.len) {
            ctx->visitor = events[i].client_visitor;
            break;
        }
    }

    hashed = 0;

    if (ctx->visitor.len == 0 && lcf->visitor_hash.len
        && ngx_http_clicktrack_hash_visitor(r, lcf, common, &ctx->visitor)
           == NGX_OK)
    {
        hashed = 1;
        ctx->set_cookie = 0;
    }

    if (ctx->visitor.len == 0 && lcf->cookie != NULL) {
        id = ngx_pnalloc(r->pool, NGX_HTTP_CLICKTRACK_UUID_LEN);

        if (id != NULL && ngx_http_clicktrack_new_id(id) == NGX_OK) {
            ctx->visitor.data = id;
            ctx->visitor.len = NGX_HTTP_CLICKTRACK_UUID_LEN;

        } else {
            ctx->set_cookie = 0;
        }
    }

    for (i = 0; i < n; i++) {

        if (events[i].client_visitor.len) {
            events[i].visitor = events[i].client_visitor;

        } else if (lcf->cookie != NULL || hashed) {
            events[i].visitor = ctx->visitor;
        }
    }
}


/*
 * clicktrack_visitor_hash: HMAC-SHA1 keyed with the secret over
 * "DAY\nHOST\nADDRESS\nUSER-AGENT", DAY being YYYY-MM-DD in the rollups'
 * tz and ADDRESS the client's as nginx sees it (after realip), in full;
 * the first 16 bytes in hex.  The same for a day on every worker and
 * every nginx with the secret; nothing of it is stored.
 */

static ngx_int_t
ngx_http_clicktrack_hash_visitor(ngx_http_request_t *r,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_http_clicktrack_common_t *common,
    ngx_str_t *visitor)
{
    u_char      day[10], inner[20], digest[20];
    size_t      len;
    ngx_tm_t    tm;
    ngx_sha1_t  sha1;

    ngx_gmtime(ngx_time() + (lcf->rollup ? lcf->rollup->tz : 0), &tm);

    (void) ngx_sprintf(day, "%04d-%02d-%02d",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday);

    sha1 = lcf->visitor_key[0];
    ngx_sha1_update(&sha1, day, sizeof(day));
    ngx_sha1_update(&sha1, "\n", 1);

    /*
     * No Host or no User-Agent adds nothing; it is not hashed at all, as
     * its start may be NULL, which memcpy() may not be given even for
     * no bytes.
     */

    if (common->host.len) {
        ngx_sha1_update(&sha1, common->host.data, common->host.len);
    }

    ngx_sha1_update(&sha1, "\n", 1);
    ngx_sha1_update(&sha1, r->connection->addr_text.data,
                    r->connection->addr_text.len);
    ngx_sha1_update(&sha1, "\n", 1);

    if (common->ua.len) {
        ngx_sha1_update(&sha1, common->ua.data, common->ua.len);
    }

    ngx_sha1_final(inner, &sha1);

    sha1 = lcf->visitor_key[1];
    ngx_sha1_update(&sha1, inner, sizeof(inner));
    ngx_sha1_final(digest, &sha1);

    len = 16;

    visitor->data = ngx_pnalloc(r->pool, 2 * len);
    if (visitor->data == NULL) {
        return NGX_ERROR;
    }

    visitor->len = ngx_hex_dump(visitor->data, digest, len) - visitor->data;

    return NGX_OK;
}


/*
 * The two SHA1 states after the secret's inner and outer pads (a secret
 * over 64 bytes is hashed first, as HMAC wants): each request starts from
 * copies of them
 */

ngx_int_t
ngx_http_clicktrack_visitor_key(ngx_pool_t *pool, ngx_str_t *secret,
    ngx_sha1_t **key)
{
    u_char       k[64], pad[64];
    ngx_uint_t   i, n;
    ngx_sha1_t  *st;

    st = ngx_palloc(pool, 2 * sizeof(ngx_sha1_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(k, sizeof(k));

    if (secret->len > sizeof(k)) {
        ngx_sha1_init(&st[0]);
        ngx_sha1_update(&st[0], secret->data, secret->len);
        ngx_sha1_final(k, &st[0]);

    } else {
        ngx_memcpy(k, secret->data, secret->len);
    }

    for (n = 0; n < 2; n++) {
        for (i = 0; i < sizeof(k); i++) {
            pad[i] = k[i] ^ (n ? 0x5c : 0x36);
        }

        ngx_sha1_init(&st[n]);
        ngx_sha1_update(&st[n], pad, sizeof(pad));
    }

    *key = st;

    return NGX_OK;
}


/*
 * A version 4 UUID.  libuuid's uuid_generate_random() makes four system
 * calls per id (getpid, getppid, getuid, getrandom); the random bytes come
 * instead from a per-process pool filled by getrandom(2) 256 ids at a
 * time.  The pool remembers the process that filled it, so a forked
 * worker never reuses its parent's bytes.
 */

static ngx_int_t
ngx_http_clicktrack_new_id(u_char *id)
{
    size_t   i;
    uuid_t   uu;
    ssize_t  n;

    static u_char     pool[256 * sizeof(uuid_t)];
    static size_t     left;
    static ngx_pid_t  filled_by;

    if (left < sizeof(uuid_t) || filled_by != ngx_pid) {
        n = getrandom(pool, sizeof(pool), 0);

        if (n != (ssize_t) sizeof(pool)) {
            /* too early in boot, or no getrandom(2): libuuid's way */
            uuid_generate_random(uu);
            goto unparse;
        }

        left = sizeof(pool);
        filled_by = ngx_pid;
    }

    left -= sizeof(uuid_t);
    ngx_memcpy(uu, pool + left, sizeof(uuid_t));
    ngx_memzero(pool + left, sizeof(uuid_t));

    uu[6] = (uu[6] & 0x0f) | 0x40;      /* version 4 */
    uu[8] = (uu[8] & 0x3f) | 0x80;      /* the RFC 4122 variant */

unparse:

    /* 8-4-4-4-12 lower-case hex digits, two at a time */

    for (i = 0; i < sizeof(uuid_t); i++) {

        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *id++ = '-';
        }

        ngx_memcpy(id, &ngx_http_clicktrack_hex_pairs[uu[i] * 2], 2);
        id += 2;
    }

    return NGX_OK;
}


/* what all events of this request share: time, host, address, fields */

static ngx_int_t
ngx_http_clicktrack_common(ngx_http_request_t *r,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_http_clicktrack_common_t *common)
{
    ngx_uint_t                   i, n;
    ngx_time_t                  *tp;
    ngx_http_clicktrack_kv_t    *kv;
    ngx_http_clicktrack_field_t *field;
    ngx_http_core_srv_conf_t    *cscf;

    ngx_memzero(common, sizeof(ngx_http_clicktrack_common_t));

    tp = ngx_timeofday();
    (void) ngx_http_clicktrack_record_format_ts(common->ts, tp->sec,
                                                tp->msec);

    if (r->headers_in.server.len) {
        common->host = r->headers_in.server;

    } else {
        cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
        common->host = cscf->server_name;
    }

    if (ngx_http_clicktrack_ip(r, lcf->ip, &common->ip) != NGX_OK) {
        return NGX_ERROR;
    }

    if (r->headers_in.user_agent) {
        common->ua = r->headers_in.user_agent->value;
    }

    if (lcf->fields == NULL) {
        return NGX_OK;
    }

    n = lcf->fields->nelts;
    field = lcf->fields->elts;

    kv = ngx_palloc(r->pool, n * sizeof(ngx_http_clicktrack_kv_t));
    if (kv == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        kv[i].name = field[i].name;

        if (ngx_http_complex_value(r, &field[i].value, &kv[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    common->fields = kv;
    common->nfields = n;

    return NGX_OK;
}


/*
 * The client address as nginx sees it (after realip).  anonymize: IPv4
 * keeps its first 24 bits, IPv6 its first 48 (an IPv4-mapped address is
 * treated as IPv4).  A UNIX-domain client has no address.
 */

static ngx_int_t
ngx_http_clicktrack_ip(ngx_http_request_t *r, ngx_uint_t mode, ngx_str_t *ip)
{
    u_char                *p;
    ngx_sockaddr_t         sa;
    ngx_connection_t      *c;
    struct sockaddr_in    *sin;
#if (NGX_HAVE_INET6)
    ngx_uint_t             i;
    struct sockaddr_in6   *sin6;
#endif

    ngx_str_null(ip);

    if (mode == NGX_HTTP_CLICKTRACK_IP_OFF) {
        return NGX_OK;
    }

    c = r->connection;

    /*
     * For IPv4, nginx wrote the address's text when it accepted the
     * connection (realip rewrites it with the address): the full address
     * is that, one made anonymous is that up to its last dot, then "0".
     */

    if (c->sockaddr->sa_family == AF_INET && c->addr_text.len != 0) {

        if (mode == NGX_HTTP_CLICKTRACK_IP_FULL) {
            *ip = c->addr_text;
            return NGX_OK;
        }

        for (p = c->addr_text.data + c->addr_text.len - 1;
             p > c->addr_text.data && *p != '.';
             p--)
        {
            /* void */
        }

        if (*p == '.') {
            ip->len = p - c->addr_text.data + 2;

            ip->data = ngx_pnalloc(r->pool, ip->len);
            if (ip->data == NULL) {
                return NGX_ERROR;
            }

            p = ngx_cpymem(ip->data, c->addr_text.data, ip->len - 1);
            *p = '0';

            return NGX_OK;
        }
    }

    switch (c->sockaddr->sa_family) {

    case AF_INET:
        ngx_memcpy(&sa, c->sockaddr, sizeof(struct sockaddr_in));

        if (mode == NGX_HTTP_CLICKTRACK_IP_ANONYMIZE) {
            sin = &sa.sockaddr_in;
            p = (u_char *) &sin->sin_addr.s_addr;
            p[3] = 0;
        }

        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        ngx_memcpy(&sa, c->sockaddr, sizeof(struct sockaddr_in6));

        if (mode == NGX_HTTP_CLICKTRACK_IP_ANONYMIZE) {
            sin6 = &sa.sockaddr_in6;
            p = sin6->sin6_addr.s6_addr;

            if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
                p[15] = 0;

            } else {
                for (i = 6; i < 16; i++) {
                    p[i] = 0;
                }
            }
        }

        break;
#endif

    default:
        return NGX_OK;
    }

    ip->data = ngx_pnalloc(r->pool, NGX_SOCKADDR_STRLEN);
    if (ip->data == NULL) {
        return NGX_ERROR;
    }

    ip->len = ngx_sock_ntop(&sa.sockaddr, c->socklen, ip->data,
                            NGX_SOCKADDR_STRLEN, 0);

    return NGX_OK;
}


/* FORM, JSON, or NGX_DECLINED: the media type, parameters aside */

static ngx_int_t
ngx_http_clicktrack_content_type(ngx_http_request_t *r)
{
    u_char  *p, *last;
    size_t   len;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    p = r->headers_in.content_type->value.data;
    last = p + r->headers_in.content_type->value.len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    for (len = 0; p + len < last; len++) {
        if (p[len] == ';' || p[len] == ' ' || p[len] == '\t') {
            break;
        }
    }

    if (len == sizeof("application/x-www-form-urlencoded") - 1
        && ngx_strncasecmp(p, (u_char *) "application/x-www-form-urlencoded",
                           len) == 0)
    {
        return NGX_HTTP_CLICKTRACK_FORM;
    }

    if ((len == sizeof("text/plain") - 1
         && ngx_strncasecmp(p, (u_char *) "text/plain", len) == 0)
        || (len == sizeof("application/json") - 1
            && ngx_strncasecmp(p, (u_char *) "application/json", len) == 0))
    {
        return NGX_HTTP_CLICKTRACK_JSON;
    }

    return NGX_DECLINED;
}


/*
 * Every answer: Cache-Control: no-store, the CORS headers for an allowed
 * origin, no Last-Modified.  Success is 200 with the GIF or 204; the
 * others carry a text/plain reason.  A body not read is drained, as nginx
 * does for its own 413 (ngx_http_clicktrack_send()).
 */

static ngx_int_t
ngx_http_clicktrack_answer(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *text)
{
    u_char                          *p;
    ngx_str_t                        value;
    ngx_http_clicktrack_ctx_t       *ctx;
    ngx_http_clicktrack_loc_conf_t  *lcf;
    ngx_http_clicktrack_main_conf_t *mcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_clicktrack_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_clicktrack_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_clicktrack_module);

    ngx_str_set(&value, "no-store");

    if (ngx_http_clicktrack_add_header(r, "Cache-Control", &value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->origin.len && status != NGX_HTTP_FORBIDDEN) {
        if (ngx_http_clicktrack_add_header(r, "Access-Control-Allow-Origin",
                                           &ctx->origin)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (lcf->origin == NGX_HTTP_CLICKTRACK_ORIGIN_LIST) {
            ngx_str_set(&value, "Origin");

            if (ngx_http_clicktrack_add_header(r, "Vary", &value) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_str_set(&value, "true");

            if (ngx_http_clicktrack_add_header(r,
                                    "Access-Control-Allow-Credentials",
                                    &value)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        if (r->method == NGX_HTTP_OPTIONS) {
            ngx_str_set(&value, "GET, POST");

            if (ngx_http_clicktrack_add_header(r,
                                    "Access-Control-Allow-Methods", &value)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_str_set(&value, "Content-Type");

            if (ngx_http_clicktrack_add_header(r,
                                    "Access-Control-Allow-Headers", &value)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_str_set(&value, "86400");

            if (ngx_http_clicktrack_add_header(r, "Access-Control-Max-Age",
                                               &value)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    if (status == NGX_HTTP_NOT_ALLOWED) {
        ngx_str_set(&value, "GET, HEAD, POST, OPTIONS");

        if (ngx_http_clicktrack_add_header(r, "Allow", &value) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (status >= NGX_HTTP_BAD_REQUEST) {
        if (mcf->counters) {
            (void) ngx_atomic_fetch_add(&mcf->counters->rejected, 1);
        }

    } else if (ctx->dropped) {
        value.data = (u_char *) ctx->dropped;
        value.len = ngx_strlen(ctx->dropped);

        if (ngx_http_clicktrack_add_header(r, "X-Clicktrack-Dropped", &value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (mcf->counters) {
            (void) ngx_atomic_fetch_add(&mcf->counters->filtered, 1);
        }

    } else if (ctx->set_cookie && ctx->visitor.len) {
        value.len = lcf->cookie->name.len + 1 + ctx->visitor.len
                    + lcf->cookie->attrs.len;

        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(value.data, lcf->cookie->name.data,
                       lcf->cookie->name.len);
        *p++ = '=';
        p = ngx_cpymem(p, ctx->visitor.data, ctx->visitor.len);
        ngx_memcpy(p, lcf->cookie->attrs.data, lcf->cookie->attrs.len);

        if (ngx_http_clicktrack_add_header(r, "Set-Cookie", &value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (status == NGX_HTTP_NO_CONTENT) {
        return ngx_http_clicktrack_send(r, status, NULL, NULL);
    }

    if (status == NGX_HTTP_OK) {
        value.data = ngx_http_clicktrack_gif;
        value.len = sizeof(ngx_http_clicktrack_gif);

        return ngx_http_clicktrack_send(r, status, "image/gif", &value);
    }

    value.len = text->len + 1;

    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(value.data, text->data, text->len);
    *p = '\n';

    return ngx_http_clicktrack_send(r, status, "text/plain", &value);
}


static ngx_int_t
ngx_http_clicktrack_error(ngx_http_request_t *r, ngx_uint_t status,
    char *text)
{
    ngx_str_t  reason;

    reason.data = (u_char *) text;
    reason.len = ngx_strlen(text);

    return ngx_http_clicktrack_answer(r, status, &reason);
}


ngx_int_t
ngx_http_clicktrack_add_header(ngx_http_request_t *r, char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


/*
 * A whole response, as nginx's own modules answer: the status, the
 * type and the body through ngx_http_send_response(), which drains a
 * body not read (a body read or drained already is left alone), sets
 * Content-Length, and sends no body for HEAD, a 204 or a 304 (the
 * not_modified filter).  Headers are added before, with
 * ngx_http_clicktrack_add_header().  Without a type, a 204, there is
 * no Content-Type, not default_type; without a body, an empty one.
 */

ngx_int_t
ngx_http_clicktrack_send(ngx_http_request_t *r, ngx_uint_t status,
    char *type, ngx_str_t *body)
{
    u_char                    *semi;
    ngx_str_t                  ct;
    ngx_http_complex_value_t   cv;

    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));

    /*
     * An empty body still points somewhere: ngx_http_send_response()
     * computes its end from the start, and NULL + 0 is undefined.
     */

    if (body != NULL && body->data != NULL) {
        cv.value = *body;

    } else {
        cv.value.data = (u_char *) "";
    }

    if (type == NULL) {
        ngx_str_null(&ct);
        return ngx_http_send_response(r, status, &ct, &cv);
    }

    ct.data = (u_char *) type;
    ct.len = ngx_strlen(type);

    semi = (u_char *) ngx_strchr(type, ';');

    if (semi == NULL) {
        return ngx_http_send_response(r, status, &ct, &cv);
    }

    /*
     * "type; parameters": content_type_len is the type alone, as nginx
     * sets it for a proxied type, for gzip_types and charset_types to
     * match it (and charset not to add a second charset).  Given the
     * type, ngx_http_send_response() would count the parameters too;
     * given none, it keeps the one set here.
     */

    r->headers_out.content_type = ct;
    r->headers_out.content_type_len = semi - ct.data;

    return ngx_http_send_response(r, status, NULL, &cv);
}


ngx_int_t
ngx_http_clicktrack_visitor_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_clicktrack_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_clicktrack_module);

    if (ctx == NULL || ctx->visitor.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ctx->visitor.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = ctx->visitor.data;

    return NGX_OK;
}
