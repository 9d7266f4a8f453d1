
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_sha1.h>

#include "ngx_http_clicktrack_rollup.h"
#include "ngx_http_clicktrack_redis.h"
#include "ngx_http_clicktrack_url.h"
#include "ngx_http_clicktrack_ua.h"


/*
 * A window's sums live in a pool of their own.  A bucket is one site and
 * one minute of one clicktrack_rollup (its prefix, top, retention, tz):
 * its counts, and per table the distinct names with their counts (the
 * unique counts' tables hold the visitor and session ids).  Entries are
 * found through one hash over (bucket, table, name).  At the end of the
 * window every bucket becomes its commands, written at once into the
 * connection's output: one round trip, and the pool goes.
 *
 * Keys (docs/stats.md), with BASE = PREFIX:{SITE}:YYYY-MM-DD:
 *
 *   BASE:counts               hash: events, pageviews, events:HH, ...,
 *                             engaged_ms, visits_viewed, visits_multi
 *   BASE:sessions             hash: session -> the day's pageviews
 *   BASE:visitors, :visits    HyperLogLogs of the day
 *   PREFIX:{SITE}:YYYY-MM-DDTHH:visitors        ... of the hour
 *   PREFIX:{SITE}:YYYY-MM-DDTHH:MM:visitors     ... of the minute
 *   BASE:TABLE                sorted sets: pages, referrers, ...
 *   PREFIX:sites:YYYY-MM-DD   sorted set of the sites by events
 */


#define NGX_HTTP_CLICKTRACK_ROLLUP_HASH     4096    /* a power of two */

/* the multipliers of the names' hash (ngx_http_clicktrack_rollup_hash()) */
#define NGX_HTTP_CLICKTRACK_ROLLUP_K1       0x9e3779b97f4a7c15ULL
#define NGX_HTTP_CLICKTRACK_ROLLUP_K2       0xff51afd7ed558ccdULL

/*
 * The User-Agents classified, a direct-mapped cache of this many (a power
 * of two), each up to this many bytes (longer ones are classified every
 * time): 32 KB of copies per worker.
 */
#define NGX_HTTP_CLICKTRACK_ROLLUP_AGENTS     64
#define NGX_HTTP_CLICKTRACK_ROLLUP_AGENT_LEN  512

/*
 * The events the beacon hands over, copied as they came, until the event
 * loop sums them (ngx_http_clicktrack_rollup_sum()): this many bytes per
 * worker, allocated once.  An event that finds it full sums what is
 * there first; one larger than all of it is summed at once.
 */
#define NGX_HTTP_CLICKTRACK_ROLLUP_RAW_BYTES  (256 * 1024)

/*
 * What this worker has sent that Redis keeps, a direct-mapped set of this
 * many fingerprints (a power of two; 512 KB per worker): of (key, name)
 * for the unique counts, whose PFADD would add nothing the second time,
 * and of (sessions key, session) with the pageviews sent, up to 2, past
 * which the visits script changes nothing.  What is found there is not
 * sent again; a slot another fingerprint takes only means sending again.
 * It is forgotten whenever a window may not have arrived whole.
 */
#define NGX_HTTP_CLICKTRACK_ROLLUP_SENT       65536

/* one engage counts for at most an hour of visible time (milliseconds) */
#define NGX_HTTP_CLICKTRACK_ROLLUP_ENGAGE   3600000

/* the sessions hash outlives its day by this much (seconds) */
#define NGX_HTTP_CLICKTRACK_ROLLUP_SESSIONS_LINGER  (6 * 3600)




#define ngx_http_clicktrack_rollup_index(name, text)                          \
    NGX_HTTP_CLICKTRACK_T_##name,

#define ngx_http_clicktrack_rollup_name(name, text)  text,


/* a bucket's tables: the unique counts, the sorted sets, the users */

typedef enum {
    NGX_HTTP_CLICKTRACK_T_VISITORS = 0,
    NGX_HTTP_CLICKTRACK_T_VISITS,
    ngx_http_clicktrack_rollup_tables(ngx_http_clicktrack_rollup_index)
    NGX_HTTP_CLICKTRACK_T_USERS,        /* "VISITOR USER" of identify */
    NGX_HTTP_CLICKTRACK_T_SESSIONS,     /* sessions, by their pageviews */
    NGX_HTTP_CLICKTRACK_T_MAX
} ngx_http_clicktrack_rollup_table_e;

/* the first sorted set; the tables before it are unique counts */
#define NGX_HTTP_CLICKTRACK_T_ZSET          NGX_HTTP_CLICKTRACK_T_PAGES


/*
 * An event as the rollups read it: what it was given, or its copy in the
 * raw buffer.  The strings, in this order, are also the copy's.
 */

typedef struct {
    ngx_http_clicktrack_rollup_conf_t    *conf;
    time_t                                time;
    ngx_uint_t                            engaged;  /* ms, of an engage */
    ngx_uint_t                            pageview;
    ngx_str_t                             site;
    ngx_str_t                             type;
    ngx_str_t                             visitor;
    ngx_str_t                             session;
    ngx_str_t                             url;      /* pageviews only */
    ngx_str_t                             referrer; /* pageviews only */
    ngx_str_t                             ua;       /* pageviews only */
    ngx_str_t                             country;  /* pageviews only */
    ngx_str_t                             user;
    ngx_str_t                             label;
    ngx_str_t                             category;
} ngx_http_clicktrack_rollup_event_t;

#define NGX_HTTP_CLICKTRACK_ROLLUP_NSTR  11


/* the copy: its header, then the strings' bytes, then padding to 8 */

typedef struct {
    ngx_http_clicktrack_rollup_conf_t    *conf;
    time_t                                time;
    uint32_t                              size;     /* all of it */
    uint32_t                              engaged;
    uint32_t                              pageview;
    uint32_t                              len[NGX_HTTP_CLICKTRACK_ROLLUP_NSTR];
} ngx_http_clicktrack_rollup_raw_t;


typedef struct ngx_http_clicktrack_rollup_entry_s
    ngx_http_clicktrack_rollup_entry_t;
typedef struct ngx_http_clicktrack_rollup_window_s
    ngx_http_clicktrack_rollup_window_t;
typedef struct ngx_http_clicktrack_rollup_bucket_s
    ngx_http_clicktrack_rollup_bucket_t;


/*
 * A User-Agent, its three names and their hashes, for as long as no other
 * takes its slot; and those names' entries (browsers, os, devices) in one
 * bucket of one window, which later pageviews of that bucket count
 * without a lookup.
 */

typedef struct {
    uint64_t                              key;      /* the hash of data */
    size_t                                len;
    u_char                               *data;
    ngx_http_clicktrack_ua_t              ua;       /* browser NULL: none */
    uint64_t                              hash[3];

    ngx_uint_t                            window;   /* ru->windows then */
    ngx_http_clicktrack_rollup_bucket_t  *bucket;
    ngx_http_clicktrack_rollup_entry_t   *entry[3];
} ngx_http_clicktrack_rollup_agent_t;


struct ngx_http_clicktrack_rollup_entry_s {
    ngx_http_clicktrack_rollup_entry_t   *hnext;    /* in the hash */
    ngx_http_clicktrack_rollup_entry_t   *next;     /* in its table */
    ngx_http_clicktrack_rollup_bucket_t  *bucket;
    ngx_uint_t                            table;
    uint64_t                              hash;
    ngx_uint_t                            count;
    ngx_str_t                             name;
};


struct ngx_http_clicktrack_rollup_bucket_s {
    ngx_http_clicktrack_rollup_bucket_t  *next;
    ngx_http_clicktrack_rollup_conf_t    *conf;
    time_t                                minute;   /* local, since 1970 */
    ngx_str_t                             site;

    /* "YYYY-MM-DDTHH:MM", local */
    u_char                                time[16];

    ngx_uint_t                            events;
    ngx_uint_t                            pageviews;
    ngx_uint_t                            engaged;  /* ms, of sessions */

    ngx_http_clicktrack_rollup_entry_t   *tables[NGX_HTTP_CLICKTRACK_T_MAX];
    ngx_uint_t                            n[NGX_HTTP_CLICKTRACK_T_MAX];

    /* the events table's "pageview", once it is there */
    ngx_http_clicktrack_rollup_entry_t   *pageview;
};


/* a window that has ended, waiting to be sent: in its own pool */

struct ngx_http_clicktrack_rollup_window_s {
    ngx_http_clicktrack_rollup_window_t  *next;
    ngx_pool_t                           *pool;
    ngx_http_clicktrack_rollup_bucket_t  *buckets;
    ngx_uint_t                            entries;
    size_t                                bytes;
};


struct ngx_http_clicktrack_rollup_s {
    ngx_http_clicktrack_redis_t           redis;
    ngx_http_clicktrack_counters_t       *counters;
    ngx_log_t                            *log;

    /* this window's sums; pool NULL: none yet */
    ngx_pool_t                           *pool;
    ngx_http_clicktrack_rollup_bucket_t  *buckets;
    ngx_http_clicktrack_rollup_bucket_t  *last;     /* the last one used */
    ngx_http_clicktrack_rollup_entry_t  **hash;
    ngx_uint_t                            entries;
    size_t                                bytes;

    ngx_msec_t                            window;
    ngx_event_t                           timer;

    /* the windows ended so far: which one an agent's entries are of */
    ngx_uint_t                            windows;

    ngx_http_clicktrack_rollup_agent_t   *agents;

    /* the windows kept while Redis is away, oldest first */
    ngx_http_clicktrack_rollup_window_t  *pending;
    ngx_http_clicktrack_rollup_window_t **pending_last;
    ngx_uint_t                            npending;
    size_t                                pending_bytes;

    /* the pool of the window being sent: the commands' scratch */
    ngx_pool_t                           *scratch;

    /* a worker that exits waits for the replies to its last window */
    ngx_uint_t                            replies;  /* not yet answered */
    ngx_msec_t                            linger_until;
    ngx_msec_t                            shutdown_timeout;
    ngx_event_t                           linger;

    /* the commands of one window: argument vectors, reused */
    const char                          **argv;
    size_t                               *argvlen;
    ngx_uint_t                            nargs;

    /* the visits script: its SHA1, and whether this connection loaded it */
    u_char                                sha[40];
    ngx_uint_t                            loaded;

    ngx_uint_t                            dropped;  /* not logged yet */
    time_t                                logged;
    time_t                                error_logged;

    /* the fingerprints sent (NGX_HTTP_CLICKTRACK_ROLLUP_SENT), of a
       generation: a new one forgets them all */
    uint64_t                             *sent;
    uint64_t                              generation;

    /* the events not yet summed, and the posted event that sums them */
    u_char                               *raw;
    u_char                               *raw_last;
    ngx_event_t                           sum;
};


static ngx_inline void ngx_http_clicktrack_rollup_strings(
    ngx_http_clicktrack_rollup_event_t *e, ngx_str_t **s);
static ngx_inline u_char *ngx_http_clicktrack_rollup_copy(u_char *p,
    uint32_t *len, ngx_str_t *s);
static void ngx_http_clicktrack_rollup_sum_now(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_conf_t *conf,
    ngx_http_clicktrack_event_t *ev, ngx_http_clicktrack_common_t *common,
    ngx_str_t *country, ngx_uint_t pageview, ngx_uint_t engaged);
static ngx_inline uint64_t *ngx_http_clicktrack_rollup_sent(
    ngx_http_clicktrack_rollup_t *ru, uint64_t key,
    ngx_http_clicktrack_rollup_entry_t *e, uint64_t *fp);
static void ngx_http_clicktrack_rollup_forget_sent(
    ngx_http_clicktrack_rollup_t *ru);
static void ngx_http_clicktrack_rollup_sum_raw(ngx_event_t *ev);
static void ngx_http_clicktrack_rollup_sum_all(
    ngx_http_clicktrack_rollup_t *ru);
static void ngx_http_clicktrack_rollup_sum(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_event_t *ev);
static ngx_inline void ngx_http_clicktrack_rollup_table(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_bucket_t *b,
    ngx_uint_t table, u_char *data, size_t len);
static ngx_inline uint64_t ngx_http_clicktrack_rollup_where(
    ngx_http_clicktrack_rollup_bucket_t *b, ngx_uint_t table);
static ngx_inline ngx_http_clicktrack_rollup_entry_t *
    ngx_http_clicktrack_rollup_entry(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b, ngx_uint_t table, u_char *data,
    size_t len, uint64_t key);
static ngx_http_clicktrack_rollup_entry_t *ngx_http_clicktrack_rollup_new(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_bucket_t *b,
    ngx_uint_t table, u_char *data, size_t len, uint64_t hash);
static ngx_inline uint64_t ngx_http_clicktrack_rollup_hash(u_char *p,
    size_t len);
static ngx_inline ngx_uint_t ngx_http_clicktrack_rollup_same(u_char *a,
    u_char *b, size_t len);
static ngx_inline ngx_uint_t ngx_http_clicktrack_rollup_upper(u_char *p,
    size_t len);
static void ngx_http_clicktrack_rollup_devices(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_bucket_t *b,
    ngx_str_t *text);
static ngx_http_clicktrack_rollup_bucket_t *ngx_http_clicktrack_rollup_bucket(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_conf_t *conf,
    time_t time, ngx_str_t *site);
static void *ngx_http_clicktrack_rollup_alloc(ngx_http_clicktrack_rollup_t *ru,
    size_t size);
static void ngx_http_clicktrack_rollup_drop(ngx_http_clicktrack_rollup_t *ru,
    ngx_uint_t n);
static void ngx_http_clicktrack_rollup_flush(ngx_event_t *ev);
static void ngx_http_clicktrack_rollup_send(ngx_http_clicktrack_rollup_t *ru);
static ngx_int_t ngx_http_clicktrack_rollup_send_window(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_window_t *w);
static void ngx_http_clicktrack_rollup_forget(
    ngx_http_clicktrack_rollup_t *ru);
static ngx_int_t ngx_http_clicktrack_rollup_bucket_send(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_bucket_t *b);
static ngx_int_t ngx_http_clicktrack_rollup_users(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_bucket_t *b,
    time_t ttl);
static ngx_int_t ngx_http_clicktrack_rollup_sessions(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_bucket_t *b);
static ngx_uint_t ngx_http_clicktrack_rollup_engaged(
    ngx_http_clicktrack_event_t *ev);
static ngx_int_t ngx_http_clicktrack_rollup_hincrby(
    ngx_http_clicktrack_rollup_t *ru, ngx_str_t *key, char *field,
    u_char *hour, ngx_uint_t n);
static ngx_int_t ngx_http_clicktrack_rollup_pfadd(
    ngx_http_clicktrack_rollup_t *ru, ngx_str_t *key,
    ngx_http_clicktrack_rollup_entry_t *e, ngx_uint_t n, time_t ttl);
static ngx_int_t ngx_http_clicktrack_rollup_zset(
    ngx_http_clicktrack_rollup_t *ru, ngx_str_t *key,
    ngx_http_clicktrack_rollup_entry_t *e, ngx_uint_t top, time_t ttl);
static ngx_int_t ngx_http_clicktrack_rollup_command(
    ngx_http_clicktrack_rollup_t *ru, ngx_uint_t argc);
static ngx_int_t ngx_http_clicktrack_rollup_expire(
    ngx_http_clicktrack_rollup_t *ru, ngx_str_t *key, time_t ttl);
static ngx_int_t ngx_http_clicktrack_rollup_key(
    ngx_http_clicktrack_rollup_t *ru, ngx_http_clicktrack_rollup_bucket_t *b,
    size_t time_len, const char *name, ngx_str_t *key);
static void ngx_http_clicktrack_rollup_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static ngx_int_t ngx_http_clicktrack_rollup_args(
    ngx_http_clicktrack_rollup_t *ru, ngx_uint_t n);
static void ngx_http_clicktrack_rollup_ready(ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_rollup_lost(ngx_http_clicktrack_redis_t *rc);
static void ngx_http_clicktrack_rollup_linger(ngx_event_t *ev);


/* by ngx_http_clicktrack_rollup_table_e: the keys' last part */

static char  *ngx_http_clicktrack_rollup_names[] = {
    "visitors",
    "visits",
    ngx_http_clicktrack_rollup_tables(ngx_http_clicktrack_rollup_name)
    "users",
    "sessions"
};


/*
 * The visits script: KEYS[1] the day's sessions hash, KEYS[2] its counts,
 * ARGV[1] the hash's lifetime, then pairs of a session and its pageviews
 * in the window.  A session seen for the first time that day is a visit
 * viewed; one whose pageviews reach two is not a bounce (docs/stats.md).
 */

static ngx_str_t  ngx_http_clicktrack_rollup_script = ngx_string(
    "local n, m = 0, 0 "
    "for i = 2, #ARGV, 2 do "
      "local c = tonumber(ARGV[i + 1]) "
      "local v = redis.call('HINCRBY', KEYS[1], ARGV[i], c) "
      "if v == c then n = n + 1 end "
      "if v >= 2 and v - c < 2 then m = m + 1 end "
    "end "
    "redis.call('EXPIRE', KEYS[1], ARGV[1]) "
    "if n > 0 then redis.call('HINCRBY', KEYS[2], 'visits_viewed', n) end "
    "if m > 0 then redis.call('HINCRBY', KEYS[2], 'visits_multi', m) end "
    "return n");


char  *ngx_http_clicktrack_rollup_table_names[] = {
    ngx_http_clicktrack_rollup_tables(ngx_http_clicktrack_rollup_name)
};


/* the url's query arguments, by table from NGX_HTTP_CLICKTRACK_T_UTM_SOURCE */

static ngx_str_t  ngx_http_clicktrack_rollup_utm[] = {
    ngx_string("utm_source"),
    ngx_string("utm_medium"),
    ngx_string("utm_campaign"),
    ngx_string("utm_content"),
    ngx_string("utm_term")
};


ngx_int_t
ngx_http_clicktrack_rollup_init(ngx_cycle_t *cycle,
    ngx_http_clicktrack_main_conf_t *mcf)
{
    u_char                         digest[20], *buf;
    ngx_uint_t                     i;
    ngx_sha1_t                     sha1;
    ngx_http_clicktrack_rollup_t  *ru;

    ru = ngx_pcalloc(cycle->pool, sizeof(ngx_http_clicktrack_rollup_t));
    if (ru == NULL) {
        return NGX_ERROR;
    }

    ru->hash = ngx_pcalloc(cycle->pool, NGX_HTTP_CLICKTRACK_ROLLUP_HASH
                                        * sizeof(void *));
    if (ru->hash == NULL) {
        return NGX_ERROR;
    }

    ru->agents = ngx_pcalloc(cycle->pool, NGX_HTTP_CLICKTRACK_ROLLUP_AGENTS
                                 * sizeof(ngx_http_clicktrack_rollup_agent_t));
    if (ru->agents == NULL) {
        return NGX_ERROR;
    }

    buf = ngx_palloc(cycle->pool, NGX_HTTP_CLICKTRACK_ROLLUP_AGENTS
                                  * NGX_HTTP_CLICKTRACK_ROLLUP_AGENT_LEN);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_CLICKTRACK_ROLLUP_AGENTS; i++) {
        ru->agents[i].data = buf + i * NGX_HTTP_CLICKTRACK_ROLLUP_AGENT_LEN;
    }

    ru->sent = ngx_pcalloc(cycle->pool,
                           NGX_HTTP_CLICKTRACK_ROLLUP_SENT * sizeof(uint64_t));
    if (ru->sent == NULL) {
        return NGX_ERROR;
    }

    ru->raw = ngx_palloc(cycle->pool, NGX_HTTP_CLICKTRACK_ROLLUP_RAW_BYTES);
    if (ru->raw == NULL) {
        return NGX_ERROR;
    }

    ru->raw_last = ru->raw;

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, ngx_http_clicktrack_rollup_script.data,
                    ngx_http_clicktrack_rollup_script.len);
    ngx_sha1_final(digest, &sha1);
    ngx_hex_dump(ru->sha, digest, 20);

    ru->counters = mcf->counters;
    ru->log = cycle->log;
    ru->window = mcf->rollup_window;
    ru->pending_last = &ru->pending;

    ru->shutdown_timeout = mcf->shutdown_timeout;

    /*
     * Not cancelable: a worker that reloads or stops gracefully waits for
     * its window to end and be sent, then (the linger timer) for Redis to
     * answer it, up to clicktrack_shutdown_timeout.
     */

    ru->timer.handler = ngx_http_clicktrack_rollup_flush;
    ru->timer.data = ru;
    ru->timer.log = cycle->log;

    ru->linger.handler = ngx_http_clicktrack_rollup_linger;
    ru->linger.data = ru;
    ru->linger.log = cycle->log;

    ru->sum.handler = ngx_http_clicktrack_rollup_sum_raw;
    ru->sum.data = ru;
    ru->sum.log = cycle->log;

    /* a connection of their own: the replies are read, light */

    ngx_http_clicktrack_redis_setup(&ru->redis, mcf->redis, mcf->counters,
                                    cycle->log);
    ru->redis.light = 1;
    ru->redis.ready = ngx_http_clicktrack_rollup_ready;
    ru->redis.lost = ngx_http_clicktrack_rollup_lost;
    ru->redis.data = ru;

    mcf->rollup = ru;

    ngx_http_clicktrack_redis_connect(&ru->redis);

    return NGX_OK;
}


void
ngx_http_clicktrack_rollup_exit(ngx_http_clicktrack_main_conf_t *mcf)
{
    ngx_http_clicktrack_rollup_t  *ru;

    ru = mcf->rollup;

    if (ru == NULL) {
        return;
    }

    if (ru->timer.timer_set) {
        ngx_del_timer(&ru->timer);
    }

    if (ru->linger.timer_set) {
        ngx_del_timer(&ru->linger);
    }

    if (ru->sum.posted) {
        ngx_delete_posted_event(&ru->sum);
    }

    ngx_http_clicktrack_rollup_sum_all(ru);

    if (ru->pool) {
        /* the window not yet sent is lost with the worker */
        ngx_http_clicktrack_rollup_drop(ru, ru->entries);
        ngx_http_clicktrack_share->rollup_held -= ru->entries;
        ngx_destroy_pool(ru->pool);
        ru->pool = NULL;
    }

    while (ru->pending) {
        ngx_http_clicktrack_rollup_drop(ru, ru->pending->entries);
        ngx_http_clicktrack_rollup_forget(ru);
    }

    ngx_http_clicktrack_redis_close(&ru->redis);

    mcf->rollup = NULL;
}


/*
 * The beacon's part: the event's strings copied as they are into the raw
 * buffer, and the posted event that sums them (looks up its bucket and
 * its tables' entries) once this turn of the event loop has served its
 * requests.  A window's end, a reload and an exit sum them first.
 */

void
ngx_http_clicktrack_rollup_add(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_conf_t *conf, ngx_http_clicktrack_event_t *ev,
    ngx_http_clicktrack_common_t *common)
{
    u_char                            *p;
    size_t                             size;
    ngx_str_t                         *country, none;
    ngx_uint_t                         i, pageview, engaged;
    ngx_http_clicktrack_rollup_raw_t  *raw;

    if (common->host.len == 0) {
        /* no site to count it under */
        return;
    }

    /* the type is validated and lower case: its bytes are enough */

    pageview = (ev->type.len == sizeof("pageview") - 1
                && ngx_memcmp(ev->type.data, "pageview", 8) == 0);

    engaged = 0;

    size = sizeof(ngx_http_clicktrack_rollup_raw_t) + common->host.len
           + ev->type.len + ev->visitor.len + ev->session.len
           + ev->user.len + ev->label.len + ev->category.len;

    ngx_str_null(&none);
    country = &none;

    if (pageview) {
        for (i = 0; i < common->nfields; i++) {
            if (common->fields[i].name.len == sizeof("country") - 1
                && ngx_memcmp(common->fields[i].name.data, "country", 7)
                   == 0)
            {
                country = &common->fields[i].value;
                break;
            }
        }

        size += ev->url.len + ev->referrer.len + common->ua.len
                + country->len;

    } else if (ev->type.len == sizeof("engage") - 1
               && ngx_memcmp(ev->type.data, "engage", 6) == 0)
    {
        engaged = ngx_http_clicktrack_rollup_engaged(ev);
    }

    size = ngx_align(size, 8);

    if (size > (size_t) (ru->raw + NGX_HTTP_CLICKTRACK_ROLLUP_RAW_BYTES
                         - ru->raw_last))
    {
        ngx_http_clicktrack_rollup_sum_all(ru);

        if (size > NGX_HTTP_CLICKTRACK_ROLLUP_RAW_BYTES) {
            ngx_http_clicktrack_rollup_sum_now(ru, conf, ev, common, country,
                                               pageview, engaged);
            return;
        }
    }

    raw = (ngx_http_clicktrack_rollup_raw_t *) ru->raw_last;

    raw->conf = conf;
    raw->time = ngx_time();
    raw->size = (uint32_t) size;
    raw->engaged = (uint32_t) engaged;
    raw->pageview = (uint32_t) pageview;

    /* in the order of ngx_http_clicktrack_rollup_strings() */

    p = (u_char *) (raw + 1);
    p = ngx_http_clicktrack_rollup_copy(p, &raw->len[0], &common->host);
    p = ngx_http_clicktrack_rollup_copy(p, &raw->len[1], &ev->type);
    p = ngx_http_clicktrack_rollup_copy(p, &raw->len[2], &ev->visitor);
    p = ngx_http_clicktrack_rollup_copy(p, &raw->len[3], &ev->session);

    if (pageview) {
        p = ngx_http_clicktrack_rollup_copy(p, &raw->len[4], &ev->url);
        p = ngx_http_clicktrack_rollup_copy(p, &raw->len[5], &ev->referrer);
        p = ngx_http_clicktrack_rollup_copy(p, &raw->len[6], &common->ua);
        p = ngx_http_clicktrack_rollup_copy(p, &raw->len[7], country);

    } else {
        raw->len[4] = 0;
        raw->len[5] = 0;
        raw->len[6] = 0;
        raw->len[7] = 0;
    }

    p = ngx_http_clicktrack_rollup_copy(p, &raw->len[8], &ev->user);
    p = ngx_http_clicktrack_rollup_copy(p, &raw->len[9], &ev->label);
    (void) ngx_http_clicktrack_rollup_copy(p, &raw->len[10], &ev->category);

    ru->raw_last += size;

    ngx_post_event(&ru->sum, &ngx_posted_events);
}


/* a string into the copy: its bytes, its length */

static ngx_inline u_char *
ngx_http_clicktrack_rollup_copy(u_char *p, uint32_t *len, ngx_str_t *s)
{
    *len = (uint32_t) s->len;

    return s->len ? ngx_cpymem(p, s->data, s->len) : p;
}


/* an event larger than the whole buffer: summed in the request */

static void
ngx_http_clicktrack_rollup_sum_now(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_conf_t *conf, ngx_http_clicktrack_event_t *ev,
    ngx_http_clicktrack_common_t *common, ngx_str_t *country,
    ngx_uint_t pageview, ngx_uint_t engaged)
{
    ngx_http_clicktrack_rollup_event_t  e;

    e.conf = conf;
    e.time = ngx_time();
    e.engaged = engaged;
    e.pageview = pageview;
    e.site = common->host;
    e.type = ev->type;
    e.visitor = ev->visitor;
    e.session = ev->session;
    e.url = ev->url;
    e.referrer = ev->referrer;
    e.ua = common->ua;
    e.country = *country;
    e.user = ev->user;
    e.label = ev->label;
    e.category = ev->category;

    ngx_http_clicktrack_rollup_sum(ru, &e);
}


/* an event's strings, in the order of their copy */

static ngx_inline void
ngx_http_clicktrack_rollup_strings(ngx_http_clicktrack_rollup_event_t *e,
    ngx_str_t **s)
{
    s[0] = &e->site;
    s[1] = &e->type;
    s[2] = &e->visitor;
    s[3] = &e->session;
    s[4] = &e->url;
    s[5] = &e->referrer;
    s[6] = &e->ua;
    s[7] = &e->country;
    s[8] = &e->user;
    s[9] = &e->label;
    s[10] = &e->category;
}


/* the posted event: the raw events summed */

static void
ngx_http_clicktrack_rollup_sum_raw(ngx_event_t *ev)
{
    ngx_http_clicktrack_rollup_sum_all(ev->data);
}


/* every raw event summed into the window, in the order they came */

static void
ngx_http_clicktrack_rollup_sum_all(ngx_http_clicktrack_rollup_t *ru)
{
    u_char                              *p, *q;
    ngx_str_t                           *s[NGX_HTTP_CLICKTRACK_ROLLUP_NSTR];
    ngx_uint_t                           i;
    ngx_http_clicktrack_rollup_raw_t    *raw;
    ngx_http_clicktrack_rollup_event_t   e;

    ngx_http_clicktrack_rollup_strings(&e, s);

    for (p = ru->raw; p < ru->raw_last; p += raw->size) {
        raw = (ngx_http_clicktrack_rollup_raw_t *) p;

        e.conf = raw->conf;
        e.time = raw->time;
        e.engaged = raw->engaged;
        e.pageview = raw->pageview;

        q = (u_char *) (raw + 1);

        for (i = 0; i < NGX_HTTP_CLICKTRACK_ROLLUP_NSTR; i++) {
            s[i]->len = raw->len[i];
            s[i]->data = s[i]->len ? q : NULL;
            q += raw->len[i];
        }

        ngx_http_clicktrack_rollup_sum(ru, &e);
    }

    ru->raw_last = ru->raw;
}


/* an event summed into the window: its bucket, its tables' entries */

static void
ngx_http_clicktrack_rollup_sum(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_event_t *ev)
{
    u_char                               *buf;
    uint64_t                              key;
    ngx_str_t                             path, query, host, value;
    ngx_uint_t                            i, pageview;
    ngx_http_clicktrack_rollup_entry_t   *e;
    ngx_http_clicktrack_rollup_bucket_t  *b;

    b = ngx_http_clicktrack_rollup_bucket(ru, ev->conf, ev->time, &ev->site);
    if (b == NULL) {
        return;
    }

    pageview = ev->pageview;

    b->events++;
    b->pageviews += pageview;

    /* the type: most are pageviews, whose entry the bucket keeps */

    if (pageview && b->pageview) {
        b->pageview->count++;

    } else {
        e = ngx_http_clicktrack_rollup_entry(ru, b,
                                   NGX_HTTP_CLICKTRACK_T_EVENTS,
                                   ev->type.data, ev->type.len,
                                   ngx_http_clicktrack_rollup_hash(
                                       ev->type.data, ev->type.len));
        if (pageview) {
            b->pageview = e;
        }
    }

    if (ev->visitor.len) {
        ngx_http_clicktrack_rollup_table(ru, b, NGX_HTTP_CLICKTRACK_T_VISITORS,
                                         ev->visitor.data, ev->visitor.len);
    }

    /* the session's hash serves both its tables */

    key = 0;

    if (ev->session.len) {
        key = ngx_http_clicktrack_rollup_hash(ev->session.data,
                                              ev->session.len);

        (void) ngx_http_clicktrack_rollup_entry(ru, b,
                                                NGX_HTTP_CLICKTRACK_T_VISITS,
                                                ev->session.data,
                                                ev->session.len, key);
    }

    if (pageview) {
        if (ev->session.len) {
            (void) ngx_http_clicktrack_rollup_entry(ru, b,
                                                NGX_HTTP_CLICKTRACK_T_SESSIONS,
                                                ev->session.data,
                                                ev->session.len, key);
        }

        ngx_http_clicktrack_url_parts(&ev->url, &path, &query);
        ngx_http_clicktrack_rollup_table(ru, b, NGX_HTTP_CLICKTRACK_T_PAGES,
                                         path.data, path.len);

        ngx_http_clicktrack_rollup_devices(ru, b, &ev->ua);

        /* no referrer, or one of the site's own pages: (direct) */

        ngx_http_clicktrack_url_host(&ev->referrer, &host);

        if (host.len == 0
            || (host.len == ev->site.len
                && ngx_strncasecmp(host.data, ev->site.data, host.len)
                   == 0))
        {
            ngx_str_set(&host, "(direct)");

        } else {
            /* lowered in a copy only when it has capitals */

            if (ngx_http_clicktrack_rollup_upper(host.data, host.len)) {
                buf = ngx_http_clicktrack_rollup_alloc(ru, host.len);
                if (buf == NULL) {
                    ngx_http_clicktrack_rollup_drop(ru, 1);
                    return;
                }

                ngx_strlow(buf, host.data, host.len);
                host.data = buf;
            }
        }

        ngx_http_clicktrack_rollup_table(ru, b,
                                         NGX_HTTP_CLICKTRACK_T_REFERRERS,
                                         host.data, host.len);

        /* the decoding buffer only for a query that may hold UTM */

        if (query.len
            && ngx_strlcasestrn(query.data, query.data + query.len,
                                (u_char *) "utm_", 4 - 1)
               != NULL)
        {
            buf = ngx_http_clicktrack_rollup_alloc(ru, query.len);
            if (buf == NULL) {
                ngx_http_clicktrack_rollup_drop(ru, 1);
                return;
            }

            for (i = 0; i < 5; i++) {
                if (ngx_http_clicktrack_url_arg(&query,
                                         ngx_http_clicktrack_rollup_utm[i].data,
                                         ngx_http_clicktrack_rollup_utm[i].len,
                                         buf, &value)
                    == NGX_OK)
                {
                    ngx_http_clicktrack_rollup_table(ru, b,
                                           NGX_HTTP_CLICKTRACK_T_UTM_SOURCE + i,
                                           value.data, value.len);
                }
            }
        }

        if (ev->country.len) {
            ngx_http_clicktrack_rollup_table(ru, b,
                                             NGX_HTTP_CLICKTRACK_T_COUNTRIES,
                                             ev->country.data,
                                             ev->country.len);
        }

        return;
    }

    if (ev->type.len == sizeof("engage") - 1
        && ngx_strncmp(ev->type.data, "engage", ev->type.len) == 0)
    {
        /* the visible time of a visit: sessionless events have none */

        if (ev->session.len) {
            b->engaged += ev->engaged;
        }

        return;
    }

    if (ev->type.len == sizeof("identify") - 1
        && ngx_strncmp(ev->type.data, "identify", ev->type.len) == 0
        && ev->visitor.len && ev->user.len)
    {
        /* the pair, for PREFIX:users; a visitor id holds no space */

        buf = ngx_http_clicktrack_rollup_alloc(ru,
                                           ev->visitor.len + 1 + ev->user.len);
        if (buf == NULL) {
            ngx_http_clicktrack_rollup_drop(ru, 1);
            return;
        }

        value.data = buf;
        buf = ngx_cpymem(buf, ev->visitor.data, ev->visitor.len);
        *buf++ = ' ';
        buf = ngx_cpymem(buf, ev->user.data, ev->user.len);
        value.len = buf - value.data;

        ngx_http_clicktrack_rollup_table(ru, b, NGX_HTTP_CLICKTRACK_T_USERS,
                                         value.data, value.len);
        return;
    }

    if (ev->type.len != sizeof("click") - 1
        || ngx_strncmp(ev->type.data, "click", ev->type.len) != 0
        || ev->label.len == 0)
    {
        return;
    }

    ngx_http_clicktrack_rollup_table(ru, b, NGX_HTTP_CLICKTRACK_T_LABELS,
                                     ev->label.data, ev->label.len);

    if (ev->category.len == sizeof("outbound") - 1
        && ngx_strncmp(ev->category.data, "outbound", ev->category.len) == 0)
    {
        ngx_http_clicktrack_rollup_table(ru, b, NGX_HTTP_CLICKTRACK_T_OUTBOUND,
                                         ev->label.data, ev->label.len);

    } else if (ev->category.len == sizeof("download") - 1
               && ngx_strncmp(ev->category.data, "download",
                              ev->category.len)
                  == 0)
    {
        ngx_http_clicktrack_rollup_table(ru, b,
                                         NGX_HTTP_CLICKTRACK_T_DOWNLOADS,
                                         ev->label.data, ev->label.len);
    }
}


/* one more of NAME in a bucket's table */

static ngx_inline void
ngx_http_clicktrack_rollup_table(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b, ngx_uint_t table, u_char *data,
    size_t len)
{
    (void) ngx_http_clicktrack_rollup_entry(ru, b, table, data, len,
                                    ngx_http_clicktrack_rollup_hash(data, len));
}


/* what a name's hash is mixed with in one bucket's table */

static ngx_inline uint64_t
ngx_http_clicktrack_rollup_where(ngx_http_clicktrack_rollup_bucket_t *b,
    ngx_uint_t table)
{
    return ((uintptr_t) b >> 4) ^ (table * NGX_HTTP_CLICKTRACK_ROLLUP_K1);
}


/*
 * One more of NAME, whose ngx_http_clicktrack_rollup_hash() is KEY, in a
 * bucket's table: its entry, a new name copied; NULL when it could not be
 * kept (counted).  The lookup is inlined, the new entry is not.
 */

static ngx_inline ngx_http_clicktrack_rollup_entry_t *
ngx_http_clicktrack_rollup_entry(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b, ngx_uint_t table, u_char *data,
    size_t len, uint64_t key)
{
    uint64_t                             hash;
    ngx_http_clicktrack_rollup_entry_t  *e, **slot;

    hash = key ^ ngx_http_clicktrack_rollup_where(b, table);
    slot = &ru->hash[hash & (NGX_HTTP_CLICKTRACK_ROLLUP_HASH - 1)];

    for (e = *slot; e; e = e->hnext) {
        if (e->hash == hash && e->bucket == b && e->table == table
            && e->name.len == len
            && ngx_http_clicktrack_rollup_same(e->name.data, data, len))
        {
            e->count++;
            return e;
        }
    }

    return ngx_http_clicktrack_rollup_new(ru, b, table, data, len, hash);
}


/* a name not yet in the table: its entry, first in its slot of the hash */

static ngx_http_clicktrack_rollup_entry_t *
ngx_http_clicktrack_rollup_new(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b, ngx_uint_t table, u_char *data,
    size_t len, uint64_t hash)
{
    ngx_http_clicktrack_rollup_entry_t  *e, **slot;

    if (ru->entries >= NGX_HTTP_CLICKTRACK_ROLLUP_ENTRIES) {
        ngx_http_clicktrack_rollup_drop(ru, 1);
        return NULL;
    }

    e = ngx_http_clicktrack_rollup_alloc(ru,
                            sizeof(ngx_http_clicktrack_rollup_entry_t) + len);
    if (e == NULL) {
        ngx_http_clicktrack_rollup_drop(ru, 1);
        return NULL;
    }

    slot = &ru->hash[hash & (NGX_HTTP_CLICKTRACK_ROLLUP_HASH - 1)];

    e->name.data = (u_char *) (e + 1);
    e->name.len = len;
    ngx_memcpy(e->name.data, data, len);

    e->hash = hash;
    e->bucket = b;
    e->table = table;
    e->count = 1;

    e->hnext = *slot;
    *slot = e;

    e->next = b->tables[table];
    b->tables[table] = e;
    b->n[table]++;

    ru->entries++;
    ngx_http_clicktrack_share->rollup_held++;

    return e;
}


/*
 * The hash of a name, a word at a time: a multiply per 8 bytes (the last
 * word overlaps the one before it), and a final mix that brings the high
 * bits, where the multiplies carry every byte, down to the low ones,
 * which pick the slot.  Only the lookups use it (of the entries, of the
 * User-Agents): nothing sent depends on it.
 */

static ngx_inline uint64_t
ngx_http_clicktrack_rollup_hash(u_char *p, size_t len)
{
    size_t    n;
    uint32_t  lo, hi;
    uint64_t  h, w;

    h = len * NGX_HTTP_CLICKTRACK_ROLLUP_K1;

    if (len >= 8) {
        for (n = len; n > 8; n -= 8, p += 8) {
            ngx_memcpy(&w, p, 8);
            h = (h ^ w) * NGX_HTTP_CLICKTRACK_ROLLUP_K1;
        }

        ngx_memcpy(&w, p + n - 8, 8);

    } else if (len >= 4) {
        ngx_memcpy(&lo, p, 4);
        ngx_memcpy(&hi, p + len - 4, 4);
        w = (uint64_t) hi << 32 | lo;

    } else if (len) {
        w = (uint64_t) p[0] << 16 | (uint64_t) p[len >> 1] << 8 | p[len - 1];

    } else {
        w = 0;
    }

    h = (h ^ w) * NGX_HTTP_CLICKTRACK_ROLLUP_K1;
    h ^= h >> 32;
    h *= NGX_HTTP_CLICKTRACK_ROLLUP_K2;
    h ^= h >> 29;

    return h;
}


/*
 * Whether two names of LEN bytes are the same, a word at a time: they are
 * short, and their hashes matched already.
 */

static ngx_inline ngx_uint_t
ngx_http_clicktrack_rollup_same(u_char *a, u_char *b, size_t len)
{
    size_t    n;
    uint32_t  x4, y4;
    uint64_t  x, y;

    if (len >= 8) {
        for (n = len; n > 8; n -= 8, a += 8, b += 8) {
            ngx_memcpy(&x, a, 8);
            ngx_memcpy(&y, b, 8);

            if (x != y) {
                return 0;
            }
        }

        ngx_memcpy(&x, a + n - 8, 8);
        ngx_memcpy(&y, b + n - 8, 8);

        return x == y;
    }

    if (len >= 4) {
        ngx_memcpy(&x4, a, 4);
        ngx_memcpy(&y4, b, 4);

        if (x4 != y4) {
            return 0;
        }

        ngx_memcpy(&x4, a + len - 4, 4);
        ngx_memcpy(&y4, b + len - 4, 4);

        return x4 == y4;
    }

    for (n = 0; n < len; n++) {
        if (a[n] != b[n]) {
            return 0;
        }
    }

    return 1;
}


/*
 * Whether a name has a capital letter, a word at a time: a byte's "less
 * than 'Z' + 1" and "more than 'A' - 1" become its high bit (the bit
 * trick of "hasbetween", exact for the bytes below 0x80, which are the
 * only ones tested: a byte at 0x80 or above is masked out).
 */

static ngx_inline ngx_uint_t
ngx_http_clicktrack_rollup_upper(u_char *p, size_t len)
{
    size_t    n;
    uint64_t  w, x, ones;

    ones = 0x0101010101010101ULL;

    if (len < 8) {
        for (n = 0; n < len; n++) {
            if (p[n] >= 'A' && p[n] <= 'Z') {
                return 1;
            }
        }

        return 0;
    }

    for (n = 0; n < len; n += 8) {
        ngx_memcpy(&w, n + 8 <= len ? p + n : p + len - 8, 8);

        x = w & ones * 127;

        if ((ones * (127 + 'Z' + 1) - x) & ~w & (x + ones * (127 - ('A' - 1)))
            & ones * 128)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * A pageview's browser, system and device.  A User-Agent is classified
 * once while it keeps its slot of the cache, and its names' entries are
 * found once per bucket; the entries are the same either way, and so is
 * what they count.
 */

static void
ngx_http_clicktrack_rollup_devices(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b, ngx_str_t *text)
{
    uint64_t                             key;
    ngx_str_t                           *name[3];
    ngx_uint_t                           i, fresh;
    ngx_http_clicktrack_ua_t             ua;
    ngx_http_clicktrack_rollup_agent_t  *a;

    if (text->len > NGX_HTTP_CLICKTRACK_ROLLUP_AGENT_LEN) {
        ngx_http_clicktrack_ua_classify(text, &ua);
        ngx_http_clicktrack_rollup_table(ru, b, NGX_HTTP_CLICKTRACK_T_BROWSERS,
                                         ua.browser->data, ua.browser->len);
        ngx_http_clicktrack_rollup_table(ru, b, NGX_HTTP_CLICKTRACK_T_OS,
                                         ua.os->data, ua.os->len);
        ngx_http_clicktrack_rollup_table(ru, b, NGX_HTTP_CLICKTRACK_T_DEVICES,
                                         ua.device->data, ua.device->len);
        return;
    }

    key = ngx_http_clicktrack_rollup_hash(text->data, text->len);
    a = &ru->agents[key & (NGX_HTTP_CLICKTRACK_ROLLUP_AGENTS - 1)];
    fresh = 0;

    if (a->ua.browser == NULL || a->key != key || a->len != text->len
        || (text->len && ngx_memcmp(a->data, text->data, text->len) != 0))
    {
        ngx_http_clicktrack_ua_classify(text, &a->ua);

        a->key = key;
        a->len = text->len;

        if (text->len) {
            ngx_memcpy(a->data, text->data, text->len);
        }

        a->hash[0] = ngx_http_clicktrack_rollup_hash(a->ua.browser->data,
                                                     a->ua.browser->len);
        a->hash[1] = ngx_http_clicktrack_rollup_hash(a->ua.os->data,
                                                     a->ua.os->len);
        a->hash[2] = ngx_http_clicktrack_rollup_hash(a->ua.device->data,
                                                     a->ua.device->len);
        fresh = 1;
    }

    /* a new User-Agent in the slot, or a new bucket: entries found again */

    if (fresh || a->bucket != b || a->window != ru->windows) {
        a->bucket = b;
        a->window = ru->windows;
        a->entry[0] = NULL;
        a->entry[1] = NULL;
        a->entry[2] = NULL;
    }

    name[0] = a->ua.browser;
    name[1] = a->ua.os;
    name[2] = a->ua.device;

    /* the tables follow each other: browsers, os, devices */

    for (i = 0; i < 3; i++) {
        if (a->entry[i]) {
            a->entry[i]->count++;
            continue;
        }

        a->entry[i] = ngx_http_clicktrack_rollup_entry(ru, b,
                                        NGX_HTTP_CLICKTRACK_T_BROWSERS + i,
                                        name[i]->data, name[i]->len,
                                        a->hash[i]);
    }
}


/* the bucket of this site and minute; the first of a window starts it */

static ngx_http_clicktrack_rollup_bucket_t *
ngx_http_clicktrack_rollup_bucket(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_conf_t *conf, time_t time, ngx_str_t *site)
{
    time_t                                now, minute;
    ngx_tm_t                              tm;
    ngx_http_clicktrack_rollup_bucket_t  *b;

    now = time + conf->tz;
    minute = now / 60;

    b = ru->last;

    if (b && b->minute == minute && b->conf == conf
        && b->site.len == site->len
        && ngx_memcmp(b->site.data, site->data, site->len) == 0)
    {
        return b;
    }

    for (b = ru->buckets; b; b = b->next) {
        if (b->minute == minute && b->conf == conf
            && b->site.len == site->len
            && ngx_memcmp(b->site.data, site->data, site->len) == 0)
        {
            ru->last = b;
            return b;
        }
    }

    if (ru->pool == NULL) {
        ru->pool = ngx_create_pool(16384, ru->log);
        if (ru->pool == NULL) {
            ngx_http_clicktrack_rollup_drop(ru, 1);
            return NULL;
        }

        ngx_add_timer(&ru->timer, ru->window);
    }

    if (ru->entries >= NGX_HTTP_CLICKTRACK_ROLLUP_ENTRIES) {
        ngx_http_clicktrack_rollup_drop(ru, 1);
        return NULL;
    }

    b = ngx_http_clicktrack_rollup_alloc(ru,
                       sizeof(ngx_http_clicktrack_rollup_bucket_t) + site->len);
    if (b == NULL) {
        ngx_http_clicktrack_rollup_drop(ru, 1);
        return NULL;
    }

    ngx_memzero(b, sizeof(ngx_http_clicktrack_rollup_bucket_t));

    b->conf = conf;
    b->minute = minute;
    b->site.data = (u_char *) (b + 1);
    b->site.len = site->len;
    ngx_memcpy(b->site.data, site->data, site->len);

    ngx_gmtime(now, &tm);

    (void) ngx_sprintf(b->time, "%04d-%02d-%02dT%02d:%02d",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min);

    b->next = ru->buckets;
    ru->buckets = b;
    ru->last = b;
    ru->entries++;
    ngx_http_clicktrack_share->rollup_held++;

    return b;
}


/* from the window's pool, within the window's byte bound */

static void *
ngx_http_clicktrack_rollup_alloc(ngx_http_clicktrack_rollup_t *ru,
    size_t size)
{
    if (ru->pool == NULL || ru->bytes + size > NGX_HTTP_CLICKTRACK_ROLLUP_BYTES)
    {
        return NULL;
    }

    ru->bytes += size;

    return ngx_palloc(ru->pool, size);
}


/* entries that could not be kept: counted, and logged once a second */

static void
ngx_http_clicktrack_rollup_drop(ngx_http_clicktrack_rollup_t *ru,
    ngx_uint_t n)
{
    if (n == 0) {
        return;
    }

    (void) ngx_atomic_fetch_add(&ru->counters->rollup_dropped, n);

    ru->dropped += n;

    if (ngx_time() != ru->logged) {
        ngx_log_error(NGX_LOG_ERR, ru->log, 0,
                      "clicktrack: %ui rollup entr%s not kept",
                      ru->dropped, ru->dropped == 1 ? "y" : "ies");
        ru->dropped = 0;
        ru->logged = ngx_time();
    }
}


/*
 * The window ends: it joins the windows waiting to be sent, which go at
 * once while Redis answers; while it does not they are kept, the oldest
 * dropped (counted) past NGX_HTTP_CLICKTRACK_ROLLUP_PENDING windows or
 * NGX_HTTP_CLICKTRACK_ROLLUP_PENDING_BYTES, and sent in order when it
 * answers again (ngx_http_clicktrack_rollup_ready()).
 */

static void
ngx_http_clicktrack_rollup_flush(ngx_event_t *ev)
{
    ngx_http_clicktrack_rollup_t *ru = ev->data;

    ngx_http_clicktrack_rollup_window_t  *w;

    /* the events handed over before the window's end are of it */

    ngx_http_clicktrack_rollup_sum_all(ru);

    if (ru->pool == NULL) {
        return;
    }

    w = ngx_palloc(ru->pool, sizeof(ngx_http_clicktrack_rollup_window_t));

    if (w == NULL) {
        ngx_http_clicktrack_rollup_drop(ru, ru->entries);
        ngx_http_clicktrack_share->rollup_held -= ru->entries;
        ngx_destroy_pool(ru->pool);

    } else {
        w->next = NULL;
        w->pool = ru->pool;
        w->buckets = ru->buckets;
        w->entries = ru->entries;
        w->bytes = ru->bytes;

        *ru->pending_last = w;
        ru->pending_last = &w->next;
        ru->npending++;
        ru->pending_bytes += w->bytes;

        (void) ngx_atomic_fetch_add(&ru->counters->rollup_pending, 1);
        ngx_http_clicktrack_share->rollup_pending++;
    }

    ru->pool = NULL;
    ru->buckets = NULL;
    ru->last = NULL;
    ru->entries = 0;
    ru->bytes = 0;
    ru->windows++;

    ngx_memzero(ru->hash, NGX_HTTP_CLICKTRACK_ROLLUP_HASH * sizeof(void *));

    while (ru->npending > NGX_HTTP_CLICKTRACK_ROLLUP_PENDING
           || ru->pending_bytes > NGX_HTTP_CLICKTRACK_ROLLUP_PENDING_BYTES)
    {
        ngx_http_clicktrack_rollup_drop(ru, ru->pending->entries);
        ngx_http_clicktrack_rollup_forget(ru);
    }

    ngx_http_clicktrack_rollup_send(ru);

    if (ngx_exiting && ru->replies && !ru->linger.timer_set) {
        ru->linger_until = ngx_current_msec + ru->shutdown_timeout;
        ngx_add_timer(&ru->linger, 10);
    }
}


/*
 * The slot of entry E's name sent to the key whose hash is KEY, and the
 * name's fingerprint there: its low two bits clear for a count, and never
 * 0, which an empty slot holds.  The name's own hash is the entry's, less
 * its bucket and table (ngx_http_clicktrack_rollup_entry()).
 */

static ngx_inline uint64_t *
ngx_http_clicktrack_rollup_sent(ngx_http_clicktrack_rollup_t *ru,
    uint64_t key, ngx_http_clicktrack_rollup_entry_t *e, uint64_t *fp)
{
    uint64_t  h;

    h = ((key + ru->generation) * NGX_HTTP_CLICKTRACK_ROLLUP_K1)
        ^ e->hash ^ ngx_http_clicktrack_rollup_where(e->bucket, e->table);
    h *= NGX_HTTP_CLICKTRACK_ROLLUP_K2;
    h ^= h >> 32;

    *fp = (h & ~(uint64_t) 3) | 4;

    return &ru->sent[(h >> 40) & (NGX_HTTP_CLICKTRACK_ROLLUP_SENT - 1)];
}


/* a window may not have arrived whole: what was sent is sent again */

static void
ngx_http_clicktrack_rollup_forget_sent(ngx_http_clicktrack_rollup_t *ru)
{
    ru->generation++;
}


/* the oldest pending window goes */

static void
ngx_http_clicktrack_rollup_forget(ngx_http_clicktrack_rollup_t *ru)
{
    ngx_http_clicktrack_rollup_window_t  *w;

    w = ru->pending;

    ru->pending = w->next;

    if (ru->pending == NULL) {
        ru->pending_last = &ru->pending;
    }

    ru->npending--;
    ru->pending_bytes -= w->bytes;

    (void) ngx_atomic_fetch_add(&ru->counters->rollup_pending, -1);
    ngx_http_clicktrack_share->rollup_pending--;
    ngx_http_clicktrack_share->rollup_held -= w->entries;

    ngx_destroy_pool(w->pool);
}


/* an exiting worker stays while its last window's replies are due */

static void
ngx_http_clicktrack_rollup_linger(ngx_event_t *ev)
{
    ngx_http_clicktrack_rollup_t *ru = ev->data;

    if (ru->replies == 0
        || ru->redis.state != NGX_HTTP_CLICKTRACK_REDIS_READY
        || (ngx_msec_int_t) (ngx_current_msec - ru->linger_until) >= 0)
    {
        return;
    }

    ngx_add_timer(&ru->linger, 10);
}


/* the pending windows, in order, while Redis answers */

static void
ngx_http_clicktrack_rollup_send(ngx_http_clicktrack_rollup_t *ru)
{
    ngx_int_t  rc;

    while (ru->pending
           && ru->redis.state == NGX_HTTP_CLICKTRACK_REDIS_READY)
    {
        rc = ngx_http_clicktrack_rollup_send_window(ru, ru->pending);

        if (rc == NGX_OK) {
            (void) ngx_atomic_fetch_add(&ru->counters->rollup_windows, 1);

        } else {
            /* what could not be written of it is counted */
            ngx_http_clicktrack_rollup_drop(ru, ru->pending->entries);
            ngx_http_clicktrack_rollup_forget_sent(ru);
        }

        ngx_http_clicktrack_rollup_forget(ru);
    }
}


static ngx_int_t
ngx_http_clicktrack_rollup_send_window(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_window_t *w)
{
    ngx_int_t                             rc;
    ngx_uint_t                            sent;
    ngx_http_clicktrack_rollup_bucket_t  *b;

    ru->scratch = w->pool;
    ru->nargs = 0;                    /* the vectors are the pool's */

    sent = 0;
    rc = NGX_OK;

    for (b = w->buckets; b; b = b->next) {
        if (ngx_http_clicktrack_rollup_bucket_send(ru, b) != NGX_OK) {
            rc = NGX_ERROR;
            break;
        }

        sent++;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, ru->log, 0,
                   "clicktrack rollup: window sent, %ui bucket(s), "
                   "%ui entries", sent, w->entries);

    ru->scratch = NULL;
    ru->nargs = 0;

    return rc;
}


static ngx_int_t
ngx_http_clicktrack_rollup_bucket_send(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b)
{
    time_t                               ttl, minute_ttl;
    u_char                              *p;
    ngx_str_t                            key;
    ngx_uint_t                           t, k;
    ngx_http_clicktrack_rollup_conf_t   *conf;

    /* the day, the hour, the minute: "YYYY-MM-DD", "...THH", "...:MM" */
    static size_t  lens[] = { 10, 13, 16 };

    conf = b->conf;
    ttl = conf->retention;
    minute_ttl = ngx_min(ttl, NGX_HTTP_CLICKTRACK_ROLLUP_MINUTES);

    /* the counts: the day's and the hour's */

    if (ngx_http_clicktrack_rollup_key(ru, b, 10, "counts", &key) != NGX_OK
        || ngx_http_clicktrack_rollup_hincrby(ru, &key, "events", NULL,
                                              b->events)
           != NGX_OK
        || ngx_http_clicktrack_rollup_hincrby(ru, &key, "events", b->time + 11,
                                              b->events)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (b->pageviews
        && (ngx_http_clicktrack_rollup_hincrby(ru, &key, "pageviews", NULL,
                                               b->pageviews)
            != NGX_OK
            || ngx_http_clicktrack_rollup_hincrby(ru, &key, "pageviews",
                                                  b->time + 11, b->pageviews)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    if (b->engaged
        && ngx_http_clicktrack_rollup_hincrby(ru, &key, "engaged_ms", NULL,
                                              b->engaged)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_clicktrack_rollup_expire(ru, &key, ttl) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the unique counts of the day, the hour and the minute */

    for (t = 0; t < NGX_HTTP_CLICKTRACK_T_ZSET; t++) {
        if (b->tables[t] == NULL) {
            continue;
        }

        for (k = 0; k < 3; k++) {
            if (ngx_http_clicktrack_rollup_key(ru, b, lens[k],
                                           ngx_http_clicktrack_rollup_names[t],
                                           &key)
                != NGX_OK
                || ngx_http_clicktrack_rollup_pfadd(ru, &key, b->tables[t],
                                                 b->n[t],
                                                 (k == 2) ? minute_ttl : ttl)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    /* the tables, each trimmed to its top entries */

    for (t = NGX_HTTP_CLICKTRACK_T_ZSET; t < NGX_HTTP_CLICKTRACK_T_USERS; t++) {
        if (b->tables[t] == NULL) {
            continue;
        }

        if (ngx_http_clicktrack_rollup_key(ru, b, 10,
                                           ngx_http_clicktrack_rollup_names[t],
                                           &key)
            != NGX_OK
            || ngx_http_clicktrack_rollup_zset(ru, &key, b->tables[t],
                                               conf->top, ttl)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* the visits viewed and those that did not bounce */

    if (b->tables[NGX_HTTP_CLICKTRACK_T_SESSIONS]
        && ngx_http_clicktrack_rollup_sessions(ru, b) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* who the identified visitors are: PREFIX:users, VISITOR -> USER */

    if (b->tables[NGX_HTTP_CLICKTRACK_T_USERS]
        && ngx_http_clicktrack_rollup_users(ru, b, ttl) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the day's sites, by events: PREFIX:sites:YYYY-MM-DD */

    key.len = conf->prefix.len + sizeof(":sites:") - 1 + 10;
    key.data = ngx_pnalloc(ru->scratch, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key.data, conf->prefix.data, conf->prefix.len);
    p = ngx_cpymem(p, ":sites:", sizeof(":sites:") - 1);
    ngx_memcpy(p, b->time, 10);

    if (ngx_http_clicktrack_rollup_args(ru, 4) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(ru->scratch, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ru->argv[0] = "ZINCRBY";
    ru->argvlen[0] = 7;
    ru->argv[1] = (const char *) key.data;
    ru->argvlen[1] = key.len;
    ru->argv[2] = (const char *) p;
    ru->argvlen[2] = ngx_sprintf(p, "%ui", b->events) - p;
    ru->argv[3] = (const char *) b->site.data;
    ru->argvlen[3] = b->site.len;

    if (ngx_http_clicktrack_rollup_command(ru, 4) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_clicktrack_rollup_expire(ru, &key, ttl);
}


/* HSET PREFIX:users VISITOR USER for each identify pair, then EXPIRE */

static ngx_int_t
ngx_http_clicktrack_rollup_users(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b, time_t ttl)
{
    u_char                              *sp;
    ngx_str_t                            key;
    ngx_http_clicktrack_rollup_entry_t  *e;

    key.len = b->conf->prefix.len + sizeof(":users") - 1;
    key.data = ngx_pnalloc(ru->scratch, key.len);
    if (key.data == NULL
        || ngx_http_clicktrack_rollup_args(ru, 4) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(key.data, b->conf->prefix.data,
                          b->conf->prefix.len),
               ":users", sizeof(":users") - 1);

    for (e = b->tables[NGX_HTTP_CLICKTRACK_T_USERS]; e; e = e->next) {
        sp = ngx_strlchr(e->name.data, e->name.data + e->name.len, ' ');
        if (sp == NULL) {
            continue;
        }

        ru->argv[0] = "HSET";
        ru->argvlen[0] = 4;
        ru->argv[1] = (const char *) key.data;
        ru->argvlen[1] = key.len;
        ru->argv[2] = (const char *) e->name.data;
        ru->argvlen[2] = sp - e->name.data;
        ru->argv[3] = (const char *) sp + 1;
        ru->argvlen[3] = e->name.data + e->name.len - sp - 1;

        if (ngx_http_clicktrack_rollup_command(ru, 4) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_clicktrack_rollup_expire(ru, &key, ttl);
}


/* EVALSHA of the visits script over the bucket's sessions */

static ngx_int_t
ngx_http_clicktrack_rollup_sessions(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b)
{
    u_char                              *p;
    time_t                               ttl;
    uint64_t                             k, fp, *slot;
    ngx_str_t                            sessions, counts;
    ngx_uint_t                           i, sent;
    ngx_http_clicktrack_rollup_entry_t  *e;

    if (ngx_http_clicktrack_rollup_key(ru, b, 10, "sessions", &sessions)
        != NGX_OK
        || ngx_http_clicktrack_rollup_key(ru, b, 10, "counts", &counts)
           != NGX_OK
        || ngx_http_clicktrack_rollup_args(ru,
                           6 + 2 * b->n[NGX_HTTP_CLICKTRACK_T_SESSIONS])
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * A session this worker has sent two pageviews of today is past the
     * script's two thresholds (seen, not a bounce): it is not sent again.
     */

    k = ngx_http_clicktrack_rollup_hash(sessions.data, sessions.len);
    i = 6;

    for (e = b->tables[NGX_HTTP_CLICKTRACK_T_SESSIONS]; e; e = e->next) {
        slot = ngx_http_clicktrack_rollup_sent(ru, k, e, &fp);

        sent = ((*slot & ~(uint64_t) 3) == fp) ? (*slot & 3) : 0;

        if (sent >= 2) {
            continue;
        }

        *slot = fp | ngx_min(sent + e->count, 2);

        ru->argv[i] = (const char *) e->name.data;
        ru->argvlen[i++] = e->name.len;

        /* most sessions view a page or two in a window: no copy for them */

        if (e->count < 10) {
            ru->argv[i] = &"123456789"[e->count - 1];
            ru->argvlen[i++] = 1;
            continue;
        }

        p = ngx_pnalloc(ru->scratch, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ru->argv[i] = (const char *) p;
        ru->argvlen[i++] = ngx_sprintf(p, "%ui", e->count) - p;
    }

    if (i == 6) {
        return NGX_OK;
    }

    /* loaded first on a connection: Redis runs its commands in order */

    if (!ru->loaded) {
        ru->argv[0] = "SCRIPT";
        ru->argvlen[0] = 6;
        ru->argv[1] = "LOAD";
        ru->argvlen[1] = 4;
        ru->argv[2] = (const char *) ngx_http_clicktrack_rollup_script.data;
        ru->argvlen[2] = ngx_http_clicktrack_rollup_script.len;

        if (ngx_http_clicktrack_rollup_command(ru, 3) != NGX_OK) {
            return NGX_ERROR;
        }

        ru->loaded = 1;
    }

    /* the hash lives to the end of the bucket's day, and a little more */

    ttl = 86400 - (b->minute * 60) % 86400
          + NGX_HTTP_CLICKTRACK_ROLLUP_SESSIONS_LINGER;

    p = ngx_pnalloc(ru->scratch, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ru->argv[0] = "EVALSHA";
    ru->argvlen[0] = 7;
    ru->argv[1] = (const char *) ru->sha;
    ru->argvlen[1] = 40;
    ru->argv[2] = "2";
    ru->argvlen[2] = 1;
    ru->argv[3] = (const char *) sessions.data;
    ru->argvlen[3] = sessions.len;
    ru->argv[4] = (const char *) counts.data;
    ru->argvlen[4] = counts.len;
    ru->argv[5] = (const char *) p;
    ru->argvlen[5] = ngx_sprintf(p, "%T", ttl) - p;

    return ngx_http_clicktrack_rollup_command(ru, i);
}


/* an engage's visible time: its prop "time", milliseconds, capped */

static ngx_uint_t
ngx_http_clicktrack_rollup_engaged(ngx_http_clicktrack_event_t *ev)
{
    u_char      *p, *last;
    ngx_uint_t   i, ms;

    for (i = 0; i < ev->nprops; i++) {
        if (ev->props[i].name.len == 4
            && ngx_strncmp(ev->props[i].name.data, "time", 4) == 0)
        {
            break;
        }
    }

    if (i == ev->nprops
        || (ev->props[i].type != NGX_HTTP_CLICKTRACK_PROP_NUMBER
            && ev->props[i].type != NGX_HTTP_CLICKTRACK_PROP_STRING))
    {
        return 0;
    }

    /* digits, a fraction dropped; anything else counts nothing */

    p = ev->props[i].value.data;
    last = p + ev->props[i].value.len;
    ms = 0;

    if (p == last) {
        return 0;
    }

    for ( /* void */ ; p < last && *p >= '0' && *p <= '9'; p++) {
        ms = ms * 10 + (*p - '0');

        if (ms > NGX_HTTP_CLICKTRACK_ROLLUP_ENGAGE) {
            ms = NGX_HTTP_CLICKTRACK_ROLLUP_ENGAGE;
        }
    }

    if (p < last && *p == '.') {
        for (p++; p < last && *p >= '0' && *p <= '9'; p++) {
            /* void */
        }
    }

    return (p == last) ? ms : 0;
}


/* HINCRBY KEY FIELD[:HH] N */

static ngx_int_t
ngx_http_clicktrack_rollup_hincrby(ngx_http_clicktrack_rollup_t *ru,
    ngx_str_t *key, char *field, u_char *hour, ngx_uint_t n)
{
    u_char  *p, *f;
    size_t   len;

    if (ngx_http_clicktrack_rollup_args(ru, 4) != NGX_OK) {
        return NGX_ERROR;
    }

    len = ngx_strlen(field);

    f = ngx_pnalloc(ru->scratch, len + 3 + NGX_INT_T_LEN);
    if (f == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(f, field, len);

    if (hour) {
        *p++ = ':';
        *p++ = hour[0];
        *p++ = hour[1];
    }

    ru->argv[0] = "HINCRBY";
    ru->argvlen[0] = 7;
    ru->argv[1] = (const char *) key->data;
    ru->argvlen[1] = key->len;
    ru->argv[2] = (const char *) f;
    ru->argvlen[2] = p - f;
    ru->argv[3] = (const char *) p;
    ru->argvlen[3] = ngx_sprintf(p, "%ui", n) - p;

    return ngx_http_clicktrack_rollup_command(ru, 4);
}


/* PFADD KEY ID ..., then EXPIRE */

static ngx_int_t
ngx_http_clicktrack_rollup_pfadd(ngx_http_clicktrack_rollup_t *ru,
    ngx_str_t *key, ngx_http_clicktrack_rollup_entry_t *e, ngx_uint_t n,
    time_t ttl)
{
    uint64_t    k, fp, *slot;
    ngx_uint_t  i;

    if (ngx_http_clicktrack_rollup_args(ru, n + 2) != NGX_OK) {
        return NGX_ERROR;
    }

    ru->argv[0] = "PFADD";
    ru->argvlen[0] = 5;
    ru->argv[1] = (const char *) key->data;
    ru->argvlen[1] = key->len;

    /* an id this worker has added to this key already is not sent again */

    k = ngx_http_clicktrack_rollup_hash(key->data, key->len);

    for (i = 2; e; e = e->next) {
        slot = ngx_http_clicktrack_rollup_sent(ru, k, e, &fp);

        if ((*slot & ~(uint64_t) 3) == fp) {
            continue;
        }

        *slot = fp | 1;

        ru->argv[i] = (const char *) e->name.data;
        ru->argvlen[i++] = e->name.len;
    }

    if (i == 2) {
        return NGX_OK;
    }

    if (ngx_http_clicktrack_rollup_command(ru, i) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_clicktrack_rollup_expire(ru, key, ttl);
}


/* ZINCRBY KEY N NAME for each entry, the trim to top, then EXPIRE */

static ngx_int_t
ngx_http_clicktrack_rollup_zset(ngx_http_clicktrack_rollup_t *ru,
    ngx_str_t *key, ngx_http_clicktrack_rollup_entry_t *e, ngx_uint_t top,
    time_t ttl)
{
    u_char  *p;

    if (ngx_http_clicktrack_rollup_args(ru, 4) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(ru->scratch, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for ( /* void */ ; e; e = e->next) {
        ru->argv[0] = "ZINCRBY";
        ru->argvlen[0] = 7;
        ru->argv[1] = (const char *) key->data;
        ru->argvlen[1] = key->len;
        ru->argv[2] = (const char *) p;
        ru->argvlen[2] = ngx_sprintf(p, "%ui", e->count) - p;
        ru->argv[3] = (const char *) e->name.data;
        ru->argvlen[3] = e->name.len;

        if (ngx_http_clicktrack_rollup_command(ru, 4) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* the lowest ranks go: top entries are kept, ties by name */

    ru->argv[0] = "ZREMRANGEBYRANK";
    ru->argvlen[0] = 15;
    ru->argv[1] = (const char *) key->data;
    ru->argvlen[1] = key->len;
    ru->argv[2] = "0";
    ru->argvlen[2] = 1;
    ru->argv[3] = (const char *) p;
    ru->argvlen[3] = ngx_sprintf(p, "-%ui", top + 1) - p;

    if (ngx_http_clicktrack_rollup_command(ru, 4) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_clicktrack_rollup_expire(ru, key, ttl);
}


static ngx_int_t
ngx_http_clicktrack_rollup_expire(ngx_http_clicktrack_rollup_t *ru,
    ngx_str_t *key, time_t ttl)
{
    u_char  *p;

    if (ngx_http_clicktrack_rollup_args(ru, 3) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(ru->scratch, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ru->argv[0] = "EXPIRE";
    ru->argvlen[0] = 6;
    ru->argv[1] = (const char *) key->data;
    ru->argvlen[1] = key->len;
    ru->argv[2] = (const char *) p;
    ru->argvlen[2] = ngx_sprintf(p, "%T", ttl) - p;

    return ngx_http_clicktrack_rollup_command(ru, 3);
}


static ngx_int_t
ngx_http_clicktrack_rollup_command(ngx_http_clicktrack_rollup_t *ru,
    ngx_uint_t argc)
{
    ngx_int_t  rc;

    rc = ngx_http_clicktrack_redis_command(&ru->redis,
                                           ngx_http_clicktrack_rollup_reply,
                                           ru, (int) argc, ru->argv,
                                           ru->argvlen);
    if (rc == NGX_OK) {
        ru->replies++;
    }

    return rc;
}


/*
 * PREFIX:{SITE}:TIME:NAME, TIME being the first time_len bytes of the
 * bucket's "YYYY-MM-DDTHH:MM": the day (10), the hour (13), the minute (16)
 */

static ngx_int_t
ngx_http_clicktrack_rollup_key(ngx_http_clicktrack_rollup_t *ru,
    ngx_http_clicktrack_rollup_bucket_t *b, size_t time_len,
    const char *name, ngx_str_t *key)
{
    u_char     *p;
    size_t      len;
    ngx_str_t  *prefix;

    prefix = &b->conf->prefix;
    len = ngx_strlen(name);

    key->len = prefix->len + 2 + b->site.len + 2 + time_len + 1 + len;
    key->data = ngx_pnalloc(ru->scratch, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, prefix->data, prefix->len);
    *p++ = ':';
    *p++ = '{';
    p = ngx_cpymem(p, b->site.data, b->site.len);
    *p++ = '}';
    *p++ = ':';
    p = ngx_cpymem(p, b->time, time_len);
    *p++ = ':';
    ngx_memcpy(p, name, len);

    return NGX_OK;
}


/* an error reply is logged, once a second at most */

static void
ngx_http_clicktrack_rollup_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_clicktrack_rollup_t *ru = privdata;

    redisReply  *r = reply;

    ru->replies--;

    if (r == NULL) {
        /* the connection went with the command: it may not have arrived */
        ngx_http_clicktrack_rollup_forget_sent(ru);
        return;
    }

    if (r->type != REDIS_REPLY_ERROR) {
        return;
    }

    ngx_http_clicktrack_rollup_forget_sent(ru);

    if (r->len >= 8 && ngx_strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* flushed (SCRIPT FLUSH): loaded again for the next window */
        ru->loaded = 0;
    }

    if (ngx_time() == ru->error_logged) {
        return;
    }

    ru->error_logged = ngx_time();

    ngx_log_error(NGX_LOG_ERR, ru->log, 0,
                  "clicktrack: redis refused a rollup command: %*s",
                  (size_t) r->len, r->str);
}


/*
 * Redis answers again: the windows kept meanwhile go, in order.  A loss
 * needs nothing: a window is kept whenever the connection is not ready
 * at its end, and the commands of one sent before the loss were either
 * answered or are lost with it (there is no knowing which: at most that
 * window, docs/stats.md).
 */

static void
ngx_http_clicktrack_rollup_ready(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_rollup_t *ru = rc->data;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack rollup: redis ready, %ui window(s) pending",
                   ru->npending);

    ngx_http_clicktrack_rollup_send(ru);
}


static void
ngx_http_clicktrack_rollup_lost(ngx_http_clicktrack_redis_t *rc)
{
    ngx_http_clicktrack_rollup_t *ru = rc->data;

    /* the next Redis may not have the script: it is loaded again */
    ru->loaded = 0;

    /* nor what was sent to this one */
    ngx_http_clicktrack_rollup_forget_sent(ru);

    ngx_log_debug0(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "clicktrack rollup: redis lost");
}


/* room for n arguments */

static ngx_int_t
ngx_http_clicktrack_rollup_args(ngx_http_clicktrack_rollup_t *ru,
    ngx_uint_t n)
{
    if (n <= ru->nargs) {
        return NGX_OK;
    }

    n = ngx_max(n, 64);

    ru->argv = ngx_palloc(ru->scratch, n * sizeof(char *));
    ru->argvlen = ngx_palloc(ru->scratch, n * sizeof(size_t));

    if (ru->argv == NULL || ru->argvlen == NULL) {
        ru->nargs = 0;
        return NGX_ERROR;
    }

    ru->nargs = n;

    return NGX_OK;
}


ngx_int_t
ngx_http_clicktrack_rollup_parse_tz(ngx_str_t *text)
{
    u_char     *p;
    ngx_int_t   hh, mm;

    p = text->data;

    if (text->len != 6 || (p[0] != '+' && p[0] != '-') || p[3] != ':') {
        return NGX_ERROR;
    }

    hh = ngx_atoi(p + 1, 2);
    mm = ngx_atoi(p + 4, 2);

    if (hh == NGX_ERROR || mm == NGX_ERROR || hh > 14 || mm > 59
        || (hh == 14 && mm != 0))
    {
        return NGX_ERROR;
    }

    return (p[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
}
