
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_STREAM_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_STREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_redis.h"
#include "ngx_http_clicktrack_record.h"


typedef struct ngx_http_clicktrack_stream_hub_s
    ngx_http_clicktrack_stream_hub_t;


/* the recent streams that clicktrack_stream locations read */

struct ngx_http_clicktrack_stream_s {
    ngx_array_t                        keys;      /* of ngx_str_t */

    /* this worker's reader and query connections, made on first use */
    ngx_http_clicktrack_stream_hub_t  *hub;
};


ngx_int_t ngx_http_clicktrack_stream_handler(ngx_http_request_t *r);

/*
 * From the location merge: checks a clicktrack_stream location (it needs a
 * recent stream) and notes the stream it reads.
 */
char *ngx_http_clicktrack_stream_merge(ngx_conf_t *cf,
    ngx_http_clicktrack_main_conf_t *mcf,
    ngx_http_clicktrack_loc_conf_t *lcf);

void ngx_http_clicktrack_stream_exit(ngx_http_clicktrack_main_conf_t *mcf);


/*
 * What the three units of clicktrack_stream share: the request side
 * (ngx_http_clicktrack_stream.c), the hub (_stream_hub.c) and the output
 * (_stream_output.c).
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
    ngx_str_t                          user;      /* JSON-escaped */
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


/* the request side (ngx_http_clicktrack_stream.c) */
ngx_int_t ngx_http_clicktrack_stream_parse_id(u_char *p, size_t len,
    ngx_http_clicktrack_stream_id_t *id);
ngx_int_t ngx_http_clicktrack_stream_cmp(
    ngx_http_clicktrack_stream_id_t *a, ngx_http_clicktrack_stream_id_t *b);
void ngx_http_clicktrack_stream_cleanup(void *data);
ngx_uint_t ngx_http_clicktrack_stream_match(
    ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e);
void ngx_http_clicktrack_stream_close_later(
    ngx_http_clicktrack_stream_ctx_t *ctx);

/* the hub (ngx_http_clicktrack_stream_hub.c) */
ngx_http_clicktrack_stream_hub_t *ngx_http_clicktrack_stream_hub(
    ngx_http_clicktrack_main_conf_t *mcf);
ngx_uint_t ngx_http_clicktrack_stream_can_start(
    ngx_http_clicktrack_stream_ctx_t *ctx);
ngx_uint_t ngx_http_clicktrack_stream_failing(
    ngx_http_clicktrack_stream_ctx_t *ctx);
void ngx_http_clicktrack_stream_start(
    ngx_http_clicktrack_stream_ctx_t *ctx);
void ngx_http_clicktrack_stream_run_waiting(
    ngx_http_clicktrack_stream_hub_t *hub, ngx_uint_t fail_sse,
    ngx_uint_t fail_all);
ngx_int_t ngx_http_clicktrack_stream_entries(ngx_http_request_t *r,
    redisReply *reply, ngx_http_clicktrack_stream_entry_t **out,
    ngx_uint_t *n);
ngx_msec_t ngx_http_clicktrack_stream_retry(
    ngx_http_clicktrack_stream_hub_t *hub);

/* the output (ngx_http_clicktrack_stream_output.c) */
void ngx_http_clicktrack_stream_answer(
    ngx_http_clicktrack_stream_ctx_t *ctx, redisReply *reply);
ngx_int_t ngx_http_clicktrack_stream_begin(
    ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e, ngx_uint_t n, ngx_uint_t newest);
size_t ngx_http_clicktrack_stream_message_size(
    ngx_http_clicktrack_stream_entry_t *e);
u_char *ngx_http_clicktrack_stream_message(u_char *p,
    ngx_http_clicktrack_stream_entry_t *e);
void ngx_http_clicktrack_stream_hold(
    ngx_http_clicktrack_stream_ctx_t *ctx,
    ngx_http_clicktrack_stream_entry_t *e);
ngx_chain_t *ngx_http_clicktrack_stream_buf(
    ngx_http_clicktrack_stream_ctx_t *ctx, size_t size);
void ngx_http_clicktrack_stream_send(
    ngx_http_clicktrack_stream_ctx_t *ctx, ngx_chain_t *out);
void ngx_http_clicktrack_stream_ping(ngx_event_t *ev);
ngx_int_t ngx_http_clicktrack_stream_text(ngx_http_request_t *r,
    ngx_uint_t status, char *text, ngx_msec_t retry);
void ngx_http_clicktrack_stream_unavailable(
    ngx_http_clicktrack_stream_ctx_t *ctx);


#endif /* _NGX_HTTP_CLICKTRACK_STREAM_H_INCLUDED_ */
