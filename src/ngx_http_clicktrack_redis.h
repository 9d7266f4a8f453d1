
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_REDIS_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_clicktrack_module.h"


/*
 * One hiredis asynchronous connection driven by nginx's event loop.  It
 * connects (AUTH, SELECT), reconnects with a jittered backoff, and treats a
 * command left unanswered for command_timeout as a lost connection.  The
 * owner learns of the two transitions through "ready" and "lost"; every
 * command sent before "lost" either got its reply callback with a reply,
 * or with NULL when the connection went away.  An optional "failed" hears
 * of each connection attempt that ended before "ready".
 *
 * A worker may hold several: ngx_http_clicktrack_redis_init() sets up the
 * delivery connection, which counts in the status's "redis_connected" and
 * whose replies are "light": a callback learns a reply's type, and an
 * error's text, nothing else (no object is allocated for the rest);
 * ngx_http_clicktrack_redis_setup() one that does not (the stream's).  A
 * connection closed by ngx_http_clicktrack_redis_close() may be opened
 * again with ngx_http_clicktrack_redis_open().
 */


typedef struct ngx_http_clicktrack_redis_s  ngx_http_clicktrack_redis_t;

typedef void (*ngx_http_clicktrack_redis_handler_pt)(
    ngx_http_clicktrack_redis_t *rc);


typedef enum {
    NGX_HTTP_CLICKTRACK_REDIS_IDLE = 0,      /* no context */
    NGX_HTTP_CLICKTRACK_REDIS_CONNECTING,    /* connect, AUTH, SELECT */
    NGX_HTTP_CLICKTRACK_REDIS_READY,
    NGX_HTTP_CLICKTRACK_REDIS_RESETTING      /* dropping the context */
} ngx_http_clicktrack_redis_state_e;


struct ngx_http_clicktrack_redis_s {
    redisAsyncContext                     *ac;
    ngx_connection_t                      *conn;
    ngx_http_clicktrack_redis_conf_t      *conf;
    ngx_http_clicktrack_counters_t        *counters;
    ngx_log_t                             *log;

    ngx_http_clicktrack_redis_handler_pt   ready;
    ngx_http_clicktrack_redis_handler_pt   lost;
    ngx_http_clicktrack_redis_handler_pt   failed;    /* NULL: not told */
    void                                  *data;

    ngx_event_t                            connect_timer;
    ngx_event_t                            reconnect_timer;
    ngx_event_t                            command_timer;
    ngx_event_t                            reset_event;

    ngx_msec_t                             backoff;
    ngx_uint_t                             failures;
    time_t                                 logged;
    ngx_uint_t                             setup;     /* AUTH/SELECT left */

    /* how long a blocking command (XREAD BLOCK) may legitimately wait */
    ngx_msec_t                             block;

    ngx_http_clicktrack_redis_state_e      state;
    /* a RESP3 reply type that dropped the connection (hiredis 1.x) */
    const char                            *refused;
    unsigned                               up:1;        /* "ready" seen */
    unsigned                               down:1;      /* counted down */
    unsigned                               closing:1;
    unsigned                               gauge:1;     /* redis_connected */
    unsigned                               light:1;     /* replies: type */
};


ngx_int_t ngx_http_clicktrack_redis_init(ngx_http_clicktrack_redis_t *rc,
    ngx_http_clicktrack_redis_conf_t *conf,
    ngx_http_clicktrack_counters_t *counters, ngx_log_t *log);
void ngx_http_clicktrack_redis_setup(ngx_http_clicktrack_redis_t *rc,
    ngx_http_clicktrack_redis_conf_t *conf,
    ngx_http_clicktrack_counters_t *counters, ngx_log_t *log);
void ngx_http_clicktrack_redis_connect(ngx_http_clicktrack_redis_t *rc);
void ngx_http_clicktrack_redis_open(ngx_http_clicktrack_redis_t *rc);
ngx_int_t ngx_http_clicktrack_redis_command(ngx_http_clicktrack_redis_t *rc,
    redisCallbackFn *fn, void *privdata, int argc, const char **argv,
    const size_t *argvlen);
ngx_int_t ngx_http_clicktrack_redis_command_head(
    ngx_http_clicktrack_redis_t *rc, redisCallbackFn *fn, void *privdata,
    ngx_str_t *head, u_char *arg, size_t len);
void ngx_http_clicktrack_redis_reserve(ngx_http_clicktrack_redis_t *rc,
    size_t size);
void ngx_http_clicktrack_redis_reset(ngx_http_clicktrack_redis_t *rc,
    const char *why);
void ngx_http_clicktrack_redis_close(ngx_http_clicktrack_redis_t *rc);
void ngx_http_clicktrack_redis_healthy(ngx_http_clicktrack_redis_t *rc);


#endif /* _NGX_HTTP_CLICKTRACK_REDIS_H_INCLUDED_ */
