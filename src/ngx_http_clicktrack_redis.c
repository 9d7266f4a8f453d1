
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_clicktrack_redis.h"


#define NGX_HTTP_CLICKTRACK_BACKOFF_MIN   100
#define NGX_HTTP_CLICKTRACK_BACKOFF_MAX   5000

/* repeated failures are logged at most this often, in seconds */
#define NGX_HTTP_CLICKTRACK_LOG_EVERY     30


/*
 * hiredis 0.14 and 1.x (config probes which): 1.x counts an array's
 * elements in a size_t and has reply functions for RESP3's doubles and
 * booleans; some 1.0 builds call the sds functions hisds, hi_sds*.
 */

#if (NGX_HTTP_CLICKTRACK_HIREDIS_RESP3)
typedef size_t  ngx_http_clicktrack_redis_elements_t;
#else
typedef int     ngx_http_clicktrack_redis_elements_t;
#endif

#if (NGX_HTTP_CLICKTRACK_HIREDIS_HISDS)
typedef hisds  ngx_http_clicktrack_sds_t;
#define ngx_http_clicktrack_sds_make_room  hi_sdsMakeRoomFor
#else
typedef sds    ngx_http_clicktrack_sds_t;
#define ngx_http_clicktrack_sds_make_room  sdsMakeRoomFor
#endif


static void ngx_http_clicktrack_redis_add_read(void *data);
static void ngx_http_clicktrack_redis_del_read(void *data);
static void ngx_http_clicktrack_redis_add_write(void *data);
static void ngx_http_clicktrack_redis_del_write(void *data);
static void ngx_http_clicktrack_redis_cleanup(void *data);
static void ngx_http_clicktrack_redis_read_handler(ngx_event_t *rev);
static void ngx_http_clicktrack_redis_write_handler(ngx_event_t *wev);
static void ngx_http_clicktrack_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_clicktrack_redis_disconnected(
    const redisAsyncContext *ac, int status);
static void ngx_http_clicktrack_redis_setup_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_clicktrack_redis_ready(ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_redis_watch(ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_redis_give_up(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_redis_schedule(
    ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_clicktrack_redis_timeout_handler(ngx_event_t *ev);
static void ngx_http_clicktrack_redis_reset_handler(ngx_event_t *ev);
static ngx_uint_t ngx_http_clicktrack_redis_log_now(
    ngx_http_clicktrack_redis_t *rc);
static u_char *ngx_http_clicktrack_redis_room(ngx_http_clicktrack_redis_t *rc,
    size_t len);
static ngx_int_t ngx_http_clicktrack_redis_send(
    ngx_http_clicktrack_redis_t *rc, redisCallbackFn *fn, void *privdata,
    u_char *last);
static u_char *ngx_http_clicktrack_redis_number(u_char *p, size_t n);
static void *ngx_http_clicktrack_redis_light_string(
    const redisReadTask *task, char *str, size_t len);
static void *ngx_http_clicktrack_redis_light_array(const redisReadTask *task,
    ngx_http_clicktrack_redis_elements_t elements);
static void *ngx_http_clicktrack_redis_light_integer(
    const redisReadTask *task, long long value);
static void *ngx_http_clicktrack_redis_light_nil(const redisReadTask *task);
static void ngx_http_clicktrack_redis_light_free(void *reply);
#if (NGX_HTTP_CLICKTRACK_HIREDIS_RESP3)
static void *ngx_http_clicktrack_redis_refuse_double(
    const redisReadTask *task, double value, char *str, size_t len);
static void *ngx_http_clicktrack_redis_refuse_bool(const redisReadTask *task,
    int value);
static void *ngx_http_clicktrack_redis_checked_string(
    const redisReadTask *task, char *str, size_t len);
static void *ngx_http_clicktrack_redis_checked_array(
    const redisReadTask *task, size_t elements);
static ngx_uint_t ngx_http_clicktrack_redis_resp3(int type);
static void *ngx_http_clicktrack_redis_refuse(const redisReadTask *task);
#endif
static redisReply *ngx_http_clicktrack_redis_light_reply(int type);


/*
 * Light replies, for the delivery connection, whose callbacks only ask
 * whether a reply is an error: hiredis' own make a redisReply and a copy
 * of the string for each XADD's answer, and free both at once.  Here a
 * reply that is not a top-level error is one of these shared objects,
 * carrying its type only; an error is allocated with its text.
 */

#define NGX_HTTP_CLICKTRACK_REDIS_TYPES  16

static redisReply  ngx_http_clicktrack_redis_light_replies[
                                              NGX_HTTP_CLICKTRACK_REDIS_TYPES];

static redisReplyObjectFunctions  ngx_http_clicktrack_redis_light = {
    .createString = ngx_http_clicktrack_redis_light_string,
    .createArray = ngx_http_clicktrack_redis_light_array,
    .createInteger = ngx_http_clicktrack_redis_light_integer,
#if (NGX_HTTP_CLICKTRACK_HIREDIS_RESP3)
    .createDouble = ngx_http_clicktrack_redis_refuse_double,
    .createBool = ngx_http_clicktrack_redis_refuse_bool,
#endif
    .createNil = ngx_http_clicktrack_redis_light_nil,
    .freeObject = ngx_http_clicktrack_redis_light_free
};


#if (NGX_HTTP_CLICKTRACK_HIREDIS_RESP3)

/*
 * The module speaks RESP2 and never sends HELLO 3, yet hiredis 1.x reads
 * RESP3 too: a reply of a RESP3 type (double, boolean, map, set,
 * attribute, push, big number, verbatim string) is refused, not read as
 * its RESP2 look-alike; the connection is dropped and says why.  The
 * other connections read hiredis' own reply objects through these, the
 * checked functions, which pass everything else to hiredis'.
 */

static redisReplyObjectFunctions  ngx_http_clicktrack_redis_checked;
static redisReplyObjectFunctions  ngx_http_clicktrack_redis_hiredis;

#endif


/* the command being formatted; shared by the connections of a process */

static u_char  *ngx_http_clicktrack_redis_buf;
static size_t   ngx_http_clicktrack_redis_buf_size;


ngx_int_t
ngx_http_clicktrack_redis_init(ngx_http_clicktrack_redis_t *rc,
    ngx_http_clicktrack_redis_conf_t *conf,
    ngx_http_clicktrack_counters_t *counters, ngx_log_t *log)
{
    ngx_http_clicktrack_redis_setup(rc, conf, counters, log);

    /* until the first connection is ready, this worker counts as down */
    rc->gauge = 1;
    rc->light = 1;
    rc->down = 1;
    ngx_http_clicktrack_gauge(counters, redis_down, 1);

    return NGX_OK;
}


void
ngx_http_clicktrack_redis_setup(ngx_http_clicktrack_redis_t *rc,
    ngx_http_clicktrack_redis_conf_t *conf,
    ngx_http_clicktrack_counters_t *counters, ngx_log_t *log)
{
    ngx_event_t  *ev[4];
    ngx_uint_t    i;

    ngx_memzero(rc, sizeof(ngx_http_clicktrack_redis_t));

    rc->conf = conf;
    rc->counters = counters;
    rc->log = log;
    rc->backoff = NGX_HTTP_CLICKTRACK_BACKOFF_MIN;

    rc->connect_timer.handler = ngx_http_clicktrack_redis_timeout_handler;
    rc->command_timer.handler = ngx_http_clicktrack_redis_timeout_handler;
    rc->reconnect_timer.handler = ngx_http_clicktrack_redis_reconnect_handler;
    rc->reset_event.handler = ngx_http_clicktrack_redis_reset_handler;

    ev[0] = &rc->connect_timer;
    ev[1] = &rc->command_timer;
    ev[2] = &rc->reconnect_timer;
    ev[3] = &rc->reset_event;

    for (i = 0; i < 4; i++) {
        ev[i]->data = rc;
        ev[i]->log = log;

        /*
         * None of these holds a worker that is shutting down: the queue
         * keeps its own timer while it has events to deliver.
         */
        ev[i]->cancelable = 1;
    }
}


/* a connection closed by ngx_http_clicktrack_redis_close(), anew */

void
ngx_http_clicktrack_redis_open(ngx_http_clicktrack_redis_t *rc)
{
    if (rc->state != NGX_HTTP_CLICKTRACK_REDIS_IDLE) {
        return;
    }

    /* "failures" stays: a Redis that is down is logged once a while */

    rc->closing = 0;
    rc->backoff = NGX_HTTP_CLICKTRACK_BACKOFF_MIN;

    ngx_http_clicktrack_redis_connect(rc);
}


void
ngx_http_clicktrack_redis_connect(ngx_http_clicktrack_redis_t *rc)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    if (rc->state != NGX_HTTP_CLICKTRACK_REDIS_IDLE || rc->closing) {
        return;
    }

    /*
     * The address is numeric (resolved when the configuration was read),
     * so hiredis does no DNS lookup here; the connect(2) is non-blocking.
     */

    if (rc->conf->unix_path != NULL) {
        ac = redisAsyncConnectUnix((char *) rc->conf->unix_path);

    } else {
        ac = redisAsyncConnect((char *) rc->conf->host, rc->conf->port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "clicktrack: redis %V: out of memory", &rc->conf->name);
        ngx_http_clicktrack_redis_give_up(rc);
        return;
    }

    if (ac->err) {
        (void) ngx_atomic_fetch_add(&rc->counters->redis_errors, 1);

        if (ngx_http_clicktrack_redis_log_now(rc)) {
            ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                          "clicktrack: redis %V: connect failed: %s "
                          "(%ui attempts)",
                          &rc->conf->name, ac->errstr, rc->failures);
        }

        redisAsyncFree(ac);
        ngx_http_clicktrack_redis_give_up(rc);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rc->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_clicktrack_redis_give_up(rc);
        return;
    }

    c->data = rc;
    c->read->handler = ngx_http_clicktrack_redis_read_handler;
    c->write->handler = ngx_http_clicktrack_redis_write_handler;
    c->read->log = rc->log;
    c->write->log = rc->log;

    rc->ac = ac;
    rc->conn = c;
    rc->state = NGX_HTTP_CLICKTRACK_REDIS_CONNECTING;

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack: redis %V: connecting, fd:%d",
                   &rc->conf->name, c->fd);

#if (NGX_HTTP_CLICKTRACK_HIREDIS_RESP3)

    rc->refused = NULL;
    ac->c.reader->privdata = rc;

    if (!rc->light) {
        if (ngx_http_clicktrack_redis_checked.createString == NULL) {
            /* hiredis' own, the same for every reader */
            ngx_http_clicktrack_redis_hiredis = *ac->c.reader->fn;

            ngx_http_clicktrack_redis_checked = *ac->c.reader->fn;
            ngx_http_clicktrack_redis_checked.createString =
                                      ngx_http_clicktrack_redis_checked_string;
            ngx_http_clicktrack_redis_checked.createArray =
                                       ngx_http_clicktrack_redis_checked_array;
            ngx_http_clicktrack_redis_checked.createDouble =
                                       ngx_http_clicktrack_redis_refuse_double;
            ngx_http_clicktrack_redis_checked.createBool =
                                         ngx_http_clicktrack_redis_refuse_bool;
        }

        ac->c.reader->fn = &ngx_http_clicktrack_redis_checked;
    }

#endif

    if (rc->light) {
        ac->c.reader->fn = &ngx_http_clicktrack_redis_light;
    }

    ac->data = rc;
    ac->ev.data = rc;
    ac->ev.addRead = ngx_http_clicktrack_redis_add_read;
    ac->ev.delRead = ngx_http_clicktrack_redis_del_read;
    ac->ev.addWrite = ngx_http_clicktrack_redis_add_write;
    ac->ev.delWrite = ngx_http_clicktrack_redis_del_write;
    ac->ev.cleanup = ngx_http_clicktrack_redis_cleanup;

    /* this waits for the first write event: the end of connect(2) */
    redisAsyncSetConnectCallback(ac, ngx_http_clicktrack_redis_connected);
    redisAsyncSetDisconnectCallback(ac,
                                    ngx_http_clicktrack_redis_disconnected);

    ngx_add_timer(&rc->connect_timer, rc->conf->connect_timeout);
}


ngx_int_t
ngx_http_clicktrack_redis_command(ngx_http_clicktrack_redis_t *rc,
    redisCallbackFn *fn, void *privdata, int argc, const char **argv,
    const size_t *argvlen)
{
    u_char     *p;
    size_t      len;
    ngx_int_t   i;

    if (rc->state != NGX_HTTP_CLICKTRACK_REDIS_READY) {
        return NGX_DECLINED;
    }

    /*
     * The command in Redis' protocol, written in one pass into a buffer
     * kept for the next one (freed when a connection is closed); hiredis'
     * own formatting appends argument by argument through a printf-like
     * formatter, which cost more than the rest of the beacon.  "*argc",
     * then "$len" and the bytes of each argument, each part ended by CRLF.
     */

    len = 1 + NGX_INT_T_LEN + 2;

    for (i = 0; i < argc; i++) {
        len += 1 + NGX_SIZE_T_LEN + 2 + argvlen[i] + 2;
    }

    p = ngx_http_clicktrack_redis_room(rc, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p++ = '*';
    p = ngx_http_clicktrack_redis_number(p, argc);

    for (i = 0; i < argc; i++) {
        *p++ = '$';
        p = ngx_http_clicktrack_redis_number(p, argvlen[i]);
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = CR; *p++ = LF;
    }

    return ngx_http_clicktrack_redis_send(rc, fn, privdata, p);
}


/*
 * A command whose arguments but the last are the same each time, already
 * in the protocol (head, with the count of all of them), and that last
 * one: the XADD of each event.
 */

ngx_int_t
ngx_http_clicktrack_redis_command_head(ngx_http_clicktrack_redis_t *rc,
    redisCallbackFn *fn, void *privdata, ngx_str_t *head, u_char *arg,
    size_t len)
{
    u_char  *p;

    if (rc->state != NGX_HTTP_CLICKTRACK_REDIS_READY) {
        return NGX_DECLINED;
    }

    p = ngx_http_clicktrack_redis_room(rc, head->len + 1 + NGX_SIZE_T_LEN + 2
                                           + len + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(p, head->data, head->len);
    *p++ = '$';
    p = ngx_http_clicktrack_redis_number(p, len);
    p = ngx_cpymem(p, arg, len);
    *p++ = CR; *p++ = LF;

    return ngx_http_clicktrack_redis_send(rc, fn, privdata, p);
}


/* the kept buffer, with room for len bytes */

static u_char *
ngx_http_clicktrack_redis_room(ngx_http_clicktrack_redis_t *rc, size_t len)
{
    u_char  *p;

    if (len <= ngx_http_clicktrack_redis_buf_size) {
        return ngx_http_clicktrack_redis_buf;
    }

    p = ngx_alloc(ngx_max(len, 4096), rc->log);
    if (p == NULL) {
        return NULL;
    }

    if (ngx_http_clicktrack_redis_buf) {
        ngx_free(ngx_http_clicktrack_redis_buf);
    }

    ngx_http_clicktrack_redis_buf = p;
    ngx_http_clicktrack_redis_buf_size = ngx_max(len, 4096);

    return p;
}


/* the kept buffer up to last, to hiredis' output buffer */

static ngx_int_t
ngx_http_clicktrack_redis_send(ngx_http_clicktrack_redis_t *rc,
    redisCallbackFn *fn, void *privdata, u_char *last)
{
    if (redisAsyncFormattedCommand(rc->ac, fn, privdata,
                                   (char *) ngx_http_clicktrack_redis_buf,
                                   last - ngx_http_clicktrack_redis_buf)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    if (!rc->command_timer.timer_set) {
        ngx_add_timer(&rc->command_timer,
                      rc->conf->command_timeout + rc->block);
    }

    return NGX_OK;
}


/* a decimal number and CRLF */

static u_char *
ngx_http_clicktrack_redis_number(u_char *p, size_t n)
{
    u_char  *q, tmp[NGX_SIZE_T_LEN];

    q = tmp + NGX_SIZE_T_LEN;

    do {
        *--q = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    p = ngx_cpymem(p, q, tmp + NGX_SIZE_T_LEN - q);
    *p++ = CR; *p++ = LF;

    return p;
}


/*
 * Room for size more bytes in hiredis' output buffer, made at once: the
 * buffer starts empty after each complete write, and growing it command
 * by command copies what it holds at each doubling.  Without memory, the
 * commands grow it as before.
 */

void
ngx_http_clicktrack_redis_reserve(ngx_http_clicktrack_redis_t *rc,
    size_t size)
{
    ngx_http_clicktrack_sds_t  obuf;

    if (rc->state != NGX_HTTP_CLICKTRACK_REDIS_READY) {
        return;
    }

    obuf = ngx_http_clicktrack_sds_make_room(rc->ac->c.obuf, size);

    if (obuf != NULL) {
        rc->ac->c.obuf = obuf;
    }
}


static void *
ngx_http_clicktrack_redis_light_string(const redisReadTask *task, char *str,
    size_t len)
{
    redisReply  *r;

#if (NGX_HTTP_CLICKTRACK_HIREDIS_RESP3)
    if (ngx_http_clicktrack_redis_resp3(task->type)) {
        return ngx_http_clicktrack_redis_refuse(task);
    }
#endif

    if (task->type != REDIS_REPLY_ERROR || task->parent != NULL) {
        /* only a top-level reply is ever freed by hiredis */
        return ngx_http_clicktrack_redis_light_reply(task->type);
    }

    r = ngx_alloc(sizeof(redisReply), ngx_cycle->log);
    if (r == NULL) {
        return NULL;
    }

    ngx_memzero(r, sizeof(redisReply));

    r->str = ngx_alloc(len + 1, ngx_cycle->log);
    if (r->str == NULL) {
        ngx_free(r);
        return NULL;
    }

    ngx_memcpy(r->str, str, len);
    r->str[len] = '\0';

    r->type = REDIS_REPLY_ERROR;
    r->len = len;

    return r;
}


static void *
ngx_http_clicktrack_redis_light_array(const redisReadTask *task,
    ngx_http_clicktrack_redis_elements_t elements)
{
#if (NGX_HTTP_CLICKTRACK_HIREDIS_RESP3)
    if (ngx_http_clicktrack_redis_resp3(task->type)) {
        return ngx_http_clicktrack_redis_refuse(task);
    }
#endif

    return ngx_http_clicktrack_redis_light_reply(REDIS_REPLY_ARRAY);
}


static void *
ngx_http_clicktrack_redis_light_integer(const redisReadTask *task,
    long long value)
{
    return ngx_http_clicktrack_redis_light_reply(REDIS_REPLY_INTEGER);
}


static void *
ngx_http_clicktrack_redis_light_nil(const redisReadTask *task)
{
    return ngx_http_clicktrack_redis_light_reply(REDIS_REPLY_NIL);
}


/* the shared object of a type: only its type is set */

static redisReply *
ngx_http_clicktrack_redis_light_reply(int type)
{
    redisReply  *r;

    if (type < 0 || type >= NGX_HTTP_CLICKTRACK_REDIS_TYPES) {
        type = 0;
    }

    r = &ngx_http_clicktrack_redis_light_replies[type];
    r->type = type;

    return r;
}


static void
ngx_http_clicktrack_redis_light_free(void *reply)
{
    redisReply  *r = reply;

    if (r >= ngx_http_clicktrack_redis_light_replies
        && r < ngx_http_clicktrack_redis_light_replies
               + sizeof(ngx_http_clicktrack_redis_light_replies)
                 / sizeof(redisReply))
    {
        return;
    }

    ngx_free(r->str);
    ngx_free(r);
}


#if (NGX_HTTP_CLICKTRACK_HIREDIS_RESP3)

/* the RESP3 types of their own reply functions, for both tables */

static void *
ngx_http_clicktrack_redis_refuse_double(const redisReadTask *task,
    double value, char *str, size_t len)
{
    return ngx_http_clicktrack_redis_refuse(task);
}


static void *
ngx_http_clicktrack_redis_refuse_bool(const redisReadTask *task, int value)
{
    return ngx_http_clicktrack_redis_refuse(task);
}


static void *
ngx_http_clicktrack_redis_checked_string(const redisReadTask *task,
    char *str, size_t len)
{
    if (ngx_http_clicktrack_redis_resp3(task->type)) {
        return ngx_http_clicktrack_redis_refuse(task);
    }

    return ngx_http_clicktrack_redis_hiredis.createString(task, str, len);
}


static void *
ngx_http_clicktrack_redis_checked_array(const redisReadTask *task,
    size_t elements)
{
    if (ngx_http_clicktrack_redis_resp3(task->type)) {
        return ngx_http_clicktrack_redis_refuse(task);
    }

    return ngx_http_clicktrack_redis_hiredis.createArray(task, elements);
}


/* whether a reply type is one that RESP2 does not have */

static ngx_uint_t
ngx_http_clicktrack_redis_resp3(int type)
{
    switch (type) {

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_ARRAY:
    case REDIS_REPLY_INTEGER:
    case REDIS_REPLY_NIL:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return 0;

    default:
        return 1;
    }
}


/*
 * No object for a RESP3 reply: hiredis takes that for a reader error and
 * drops the connection; the reason is kept for the "connection lost" line
 * (hiredis' own text for it is "Out of memory").
 */

static void *
ngx_http_clicktrack_redis_refuse(const redisReadTask *task)
{
    const char                   *name;
    ngx_http_clicktrack_redis_t  *rc;

    switch (task->type) {

    case REDIS_REPLY_DOUBLE:
        name = "a RESP3 double";
        break;

    case REDIS_REPLY_BOOL:
        name = "a RESP3 boolean";
        break;

    case REDIS_REPLY_MAP:
        name = "a RESP3 map";
        break;

    case REDIS_REPLY_SET:
        name = "a RESP3 set";
        break;

    case REDIS_REPLY_ATTR:
        name = "a RESP3 attribute";
        break;

    case REDIS_REPLY_PUSH:
        name = "a RESP3 push";
        break;

    case REDIS_REPLY_BIGNUM:
        name = "a RESP3 big number";
        break;

    case REDIS_REPLY_VERB:
        name = "a RESP3 verbatim string";
        break;

    default:
        name = "an unknown";
        break;
    }

    rc = task->privdata;

    if (rc != NULL) {
        rc->refused = name;
    }

    return NULL;
}

#endif


/*
 * Drops the connection and reconnects after the backoff.  Safe to call from
 * a reply callback: the context is freed from a posted event, outside
 * hiredis.
 */

void
ngx_http_clicktrack_redis_reset(ngx_http_clicktrack_redis_t *rc,
    const char *why)
{
    if (rc->state == NGX_HTTP_CLICKTRACK_REDIS_IDLE
        || rc->state == NGX_HTTP_CLICKTRACK_REDIS_RESETTING)
    {
        return;
    }

    (void) ngx_atomic_fetch_add(&rc->counters->redis_errors, 1);

    /* the error log has the first of a run only; the debug log has each */

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack: redis %V: reset, fd:%d: %s", &rc->conf->name,
                   rc->conn ? rc->conn->fd : -1, why);

    if (ngx_http_clicktrack_redis_log_now(rc)) {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "clicktrack: redis %V: %s, reconnecting",
                      &rc->conf->name, why);
    }

    rc->state = NGX_HTTP_CLICKTRACK_REDIS_RESETTING;

    ngx_post_event(&rc->reset_event, &ngx_posted_events);
}


/* for the worker's exit: never from a hiredis callback */

void
ngx_http_clicktrack_redis_close(ngx_http_clicktrack_redis_t *rc)
{
    rc->closing = 1;

    if (rc->reconnect_timer.timer_set) {
        ngx_del_timer(&rc->reconnect_timer);
    }

    if (rc->reset_event.posted) {
        ngx_delete_posted_event(&rc->reset_event);
    }

    if (rc->ac != NULL) {
        redisAsyncFree(rc->ac);
    }

    if (rc->down) {
        rc->down = 0;
        ngx_http_clicktrack_gauge(rc->counters, redis_down, -1);
    }

    if (ngx_http_clicktrack_redis_buf) {
        ngx_free(ngx_http_clicktrack_redis_buf);
        ngx_http_clicktrack_redis_buf = NULL;
        ngx_http_clicktrack_redis_buf_size = 0;
    }
}


static void
ngx_http_clicktrack_redis_add_read(void *data)
{
    ngx_http_clicktrack_redis_t *rc = data;

    ngx_event_t  *rev;

    rev = rc->conn->read;

    /*
     * Level-triggered: hiredis reads at most 16K a call, and a level event
     * brings the handler back while the socket still holds data.
     */

    if (!rev->active) {
        if (ngx_add_event(rev, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, rc->log, 0,
                          "clicktrack: redis: adding a read event failed");
        }
    }
}


static void
ngx_http_clicktrack_redis_del_read(void *data)
{
    ngx_http_clicktrack_redis_t *rc = data;

    ngx_event_t  *rev;

    rev = rc->conn->read;

    if (rev->active) {
        (void) ngx_del_event(rev, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_clicktrack_redis_add_write(void *data)
{
    ngx_http_clicktrack_redis_t *rc = data;

    ngx_event_t  *wev;

    wev = rc->conn->write;

    if (!wev->active) {
        if (ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, rc->log, 0,
                          "clicktrack: redis: adding a write event failed");
        }
    }
}


static void
ngx_http_clicktrack_redis_del_write(void *data)
{
    ngx_http_clicktrack_redis_t *rc = data;

    ngx_event_t  *wev;

    wev = rc->conn->write;

    if (wev->active) {
        (void) ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }
}


/*
 * hiredis is freeing the context (an error, a lost connection, a reset or
 * our own close): every pending callback has just run with a NULL reply.
 * The socket is closed by hiredis right after this returns.
 */

static void
ngx_http_clicktrack_redis_cleanup(void *data)
{
    ngx_http_clicktrack_redis_t *rc = data;

    ngx_connection_t  *c;

    c = rc->conn;

    ngx_log_debug4(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack: redis %V: connection closed, fd:%d%s%s",
                   &rc->conf->name, c ? c->fd : -1,
                   rc->up ? ", was ready" : ", never ready",
                   rc->closing ? ", on purpose" : "");

    if (c != NULL) {
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
    }

    rc->conn = NULL;
    rc->ac = NULL;
    rc->state = NGX_HTTP_CLICKTRACK_REDIS_IDLE;

    if (rc->connect_timer.timer_set) {
        ngx_del_timer(&rc->connect_timer);
    }

    if (rc->command_timer.timer_set) {
        ngx_del_timer(&rc->command_timer);
    }

    if (rc->reset_event.posted) {
        ngx_delete_posted_event(&rc->reset_event);
    }

    if (!rc->up) {
        ngx_http_clicktrack_redis_give_up(rc);
        return;
    }

    rc->up = 0;

    if (rc->gauge) {
        ngx_http_clicktrack_gauge(rc->counters, redis_up, -1);

        if (!rc->closing) {
            rc->down = 1;
            ngx_http_clicktrack_gauge(rc->counters, redis_down, 1);
        }
    }

    rc->lost(rc);

    if (!rc->closing) {
        ngx_http_clicktrack_redis_schedule(rc);
    }
}


/* an attempt that ended before "ready": retry later, tell the owner */

static void
ngx_http_clicktrack_redis_give_up(ngx_http_clicktrack_redis_t *rc)
{
    if (rc->closing) {
        return;
    }

    ngx_http_clicktrack_redis_schedule(rc);

    if (rc->failed != NULL) {
        rc->failed(rc);
    }
}


static void
ngx_http_clicktrack_redis_read_handler(ngx_event_t *rev)
{
    ngx_connection_t             *c;
    ngx_http_clicktrack_redis_t  *rc;

    c = rev->data;
    rc = c->data;

    /* this may free the context, and with it the connection */
    redisAsyncHandleRead(rc->ac);

    ngx_http_clicktrack_redis_watch(rc);
}


static void
ngx_http_clicktrack_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t             *c;
    ngx_http_clicktrack_redis_t  *rc;

    c = wev->data;
    rc = c->data;

    redisAsyncHandleWrite(rc->ac);

    ngx_http_clicktrack_redis_watch(rc);
}


/*
 * The command timer runs while replies are owed, and restarts whenever
 * the connection makes progress: it fires only when Redis stops answering.
 */

static void
ngx_http_clicktrack_redis_watch(ngx_http_clicktrack_redis_t *rc)
{
    if (rc->ac == NULL || rc->state != NGX_HTTP_CLICKTRACK_REDIS_READY) {
        return;
    }

    if (rc->ac->replies.head != NULL) {
        ngx_add_timer(&rc->command_timer,
                      rc->conf->command_timeout + rc->block);

    } else if (rc->command_timer.timer_set) {
        ngx_del_timer(&rc->command_timer);
    }
}


static void
ngx_http_clicktrack_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_clicktrack_redis_t  *rc = ac->data;

    const char  *argv[2];
    size_t       argvlen[2];
    u_char       db[NGX_INT_T_LEN];

    if (status != REDIS_OK) {
        (void) ngx_atomic_fetch_add(&rc->counters->redis_errors, 1);

        if (ngx_http_clicktrack_redis_log_now(rc)) {
            ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                          "clicktrack: redis %V: connect failed: %s "
                          "(%ui attempts)",
                          &rc->conf->name, ac->errstr, rc->failures);
        }

        /* hiredis frees the context when this returns */
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack: redis %V: connected, fd:%d%s",
                   &rc->conf->name, ac->c.fd,
                   rc->conf->password.len || rc->conf->db > 0
                   ? ", AUTH or SELECT first" : "");

    rc->setup = 0;

    if (rc->conf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (const char *) rc->conf->password.data;
        argvlen[1] = rc->conf->password.len;

        if (redisAsyncCommandArgv(rc->ac,
                                  ngx_http_clicktrack_redis_setup_reply,
                                  NULL, 2, argv, argvlen)
            == REDIS_OK)
        {
            rc->setup++;
        }
    }

    if (rc->conf->db > 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", rc->conf->db) - db;

        if (redisAsyncCommandArgv(rc->ac,
                                  ngx_http_clicktrack_redis_setup_reply,
                                  NULL, 2, argv, argvlen)
            == REDIS_OK)
        {
            rc->setup++;
        }
    }

    if (rc->setup == 0) {
        ngx_http_clicktrack_redis_ready(rc);
    }
}


static void
ngx_http_clicktrack_redis_disconnected(const redisAsyncContext *ac,
    int status)
{
    ngx_http_clicktrack_redis_t  *rc = ac->data;

    if (status == REDIS_OK || rc->closing) {
        return;
    }

    (void) ngx_atomic_fetch_add(&rc->counters->redis_errors, 1);

    if (!ngx_http_clicktrack_redis_log_now(rc)) {
        return;
    }

    if (rc->refused != NULL) {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "clicktrack: redis %V: connection lost: %s reply "
                      "refused, the module speaks RESP2 only",
                      &rc->conf->name, rc->refused);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                  "clicktrack: redis %V: connection lost: %s",
                  &rc->conf->name, ac->errstr);
}


static void
ngx_http_clicktrack_redis_setup_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_redis_t  *rc = ac->data;

    redisReply  *r = reply;

    if (r == NULL) {
        return;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                      "clicktrack: redis %V: setup refused: %*s",
                      &rc->conf->name, (size_t) r->len, r->str);

        ngx_http_clicktrack_redis_reset(rc, "AUTH or SELECT refused");
        return;
    }

    if (--rc->setup == 0
        && rc->state == NGX_HTTP_CLICKTRACK_REDIS_CONNECTING)
    {
        ngx_http_clicktrack_redis_ready(rc);
    }
}


static void
ngx_http_clicktrack_redis_ready(ngx_http_clicktrack_redis_t *rc)
{
    if (rc->connect_timer.timer_set) {
        ngx_del_timer(&rc->connect_timer);
    }

    if (rc->failures) {
        ngx_log_error(NGX_LOG_NOTICE, rc->log, 0,
                      "clicktrack: redis %V: connected after %ui failures",
                      &rc->conf->name, rc->failures);
    }

    /*
     * The backoff is reset by ngx_http_clicktrack_redis_healthy(), once
     * Redis takes a command: a server that accepts connections and refuses
     * every write (WRONGTYPE, OOM) must not be retried ten times a second.
     */

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack: redis %V: ready, fd:%d",
                   &rc->conf->name, rc->conn ? rc->conn->fd : -1);

    rc->state = NGX_HTTP_CLICKTRACK_REDIS_READY;
    rc->failures = 0;

    rc->up = 1;

    if (rc->gauge) {
        ngx_http_clicktrack_gauge(rc->counters, redis_up, 1);
    }

    if (rc->down) {
        rc->down = 0;
        ngx_http_clicktrack_gauge(rc->counters, redis_down, -1);
    }

    rc->ready(rc);
}


void
ngx_http_clicktrack_redis_healthy(ngx_http_clicktrack_redis_t *rc)
{
#if (NGX_DEBUG)

    if (rc->backoff != NGX_HTTP_CLICKTRACK_BACKOFF_MIN) {
        ngx_log_debug2(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                       "clicktrack: redis %V: answering, backoff %M ms "
                       "back to the minimum", &rc->conf->name, rc->backoff);
    }

#endif

    rc->backoff = NGX_HTTP_CLICKTRACK_BACKOFF_MIN;
}


/* about "backoff", jittered to 50-100%, then doubled up to 5 s */

static void
ngx_http_clicktrack_redis_schedule(ngx_http_clicktrack_redis_t *rc)
{
    ngx_msec_t  delay;

    if (rc->closing || rc->reconnect_timer.timer_set) {
        return;
    }

    delay = rc->backoff / 2 + (ngx_msec_t) ngx_random() % (rc->backoff / 2 + 1);

    rc->backoff *= 2;

    if (rc->backoff > NGX_HTTP_CLICKTRACK_BACKOFF_MAX) {
        rc->backoff = NGX_HTTP_CLICKTRACK_BACKOFF_MAX;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack: redis %V: reconnect in %M ms, "
                   "the next backoff %M ms",
                   &rc->conf->name, delay, rc->backoff);

    ngx_add_timer(&rc->reconnect_timer, delay);
}


static void
ngx_http_clicktrack_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_clicktrack_redis_t  *rc = ev->data;

    (void) ngx_atomic_fetch_add(&rc->counters->reconnects, 1);

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack: redis %V: reconnecting, %ui failure(s)",
                   &rc->conf->name, rc->failures);

    ngx_http_clicktrack_redis_connect(rc);
}


static void
ngx_http_clicktrack_redis_timeout_handler(ngx_event_t *ev)
{
    ngx_http_clicktrack_redis_t  *rc = ev->data;

    if (ev == &rc->connect_timer) {
        ngx_http_clicktrack_redis_reset(rc, "connect timed out");

    } else {
        ngx_http_clicktrack_redis_reset(rc, "command timed out");
    }
}


static void
ngx_http_clicktrack_redis_reset_handler(ngx_event_t *ev)
{
    ngx_http_clicktrack_redis_t  *rc = ev->data;

    if (rc->ac != NULL) {
        redisAsyncFree(rc->ac);
    }
}


/*
 * Counts a failure and tells whether to log it: the first of a run, then
 * at most every NGX_HTTP_CLICKTRACK_LOG_EVERY seconds.
 */

static ngx_uint_t
ngx_http_clicktrack_redis_log_now(ngx_http_clicktrack_redis_t *rc)
{
    rc->failures++;

    if (rc->failures == 1
        || ngx_time() - rc->logged >= NGX_HTTP_CLICKTRACK_LOG_EVERY)
    {
        rc->logged = ngx_time();
        return 1;
    }

    return 0;
}
