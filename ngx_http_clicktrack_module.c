
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_event.h"
#include "ngx_http_clicktrack_beacon.h"
#include "ngx_http_clicktrack_filter.h"
#include "ngx_http_clicktrack_queue.h"
#include "ngx_http_clicktrack_status.h"
#include "ngx_http_clicktrack_stream.h"
#include "ngx_http_clicktrack_dashboard.h"
#include "ngx_http_clicktrack_js.h"
#include "ngx_http_clicktrack_rollup.h"
#include "ngx_http_clicktrack_stats.h"
#include "ngx_http_clicktrack_ua.h"


/*
 * clicktrack: nginx as a click and pageview collector.
 *
 * This file is the table of contents: the directives, the configuration,
 * and the process hooks.  The work is done in src/:
 *
 *   beacon   request -> events -> queue, the answer
 *   event    keys, validation, the JSON record
 *   queue    batching, in flight, retry, shutdown
 *   rollup   the per-worker sums behind the analytics, sent each window
 *   stats    the rollups read back over a range (clicktrack_stats)
 *   redis    the hiredis connection on nginx's event loop
 *   status   shared counters and their report
 *   stream   live events (SSE), JSON and CSV export
 *   dashboard  the live dashboard page
 *   js       the tracker script
 *   page     an embedded file as a location serves it (dashboard, js)
 */


#define NGX_HTTP_CLICKTRACK_DEFAULT_LIST    "clicktrack:events"
#define NGX_HTTP_CLICKTRACK_DEFAULT_RECENT  "clicktrack:recent"
#define NGX_HTTP_CLICKTRACK_DEFAULT_MAX     10000
#define NGX_HTTP_CLICKTRACK_DEFAULT_COOKIE  "ctid"
#define NGX_HTTP_CLICKTRACK_DEFAULT_ROLLUP  "clicktrack:stats"


static ngx_int_t ngx_http_clicktrack_add_variables(ngx_conf_t *cf);
static void *ngx_http_clicktrack_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_clicktrack_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_clicktrack_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_clicktrack_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_clicktrack_init_process(ngx_cycle_t *cycle);
static void ngx_http_clicktrack_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_clicktrack_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_recent(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_beacon(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_stream(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_dashboard(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_clicktrack_js(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_field(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_allow_origin(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_clicktrack_queue(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_ip(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_spool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_rollup(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_clicktrack_stats(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

static char *ngx_http_clicktrack_set_page(ngx_conf_t *cf,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_http_handler_pt handler,
    ngx_http_clicktrack_page_t *(*make)(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t n));
static char *ngx_http_clicktrack_set_handler(ngx_conf_t *cf,
    ngx_http_handler_pt handler, ngx_uint_t uses_redis);
static ngx_int_t ngx_http_clicktrack_param(ngx_str_t *value, char *name,
    ngx_str_t *param);
static ngx_int_t ngx_http_clicktrack_off(ngx_conf_t *cf, ngx_command_t *cmd);
static char *ngx_http_clicktrack_visitor_hash(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_clicktrack_check_num(ngx_conf_t *cf, void *post,
    void *data);
static ngx_http_clicktrack_recent_t *ngx_http_clicktrack_make_recent(
    ngx_conf_t *cf, ngx_str_t *key, ngx_uint_t max);
static ngx_http_clicktrack_rollup_conf_t *ngx_http_clicktrack_make_rollup(
    ngx_conf_t *cf, ngx_str_t *prefix);
static ngx_http_clicktrack_cookie_t *ngx_http_clicktrack_make_cookie(
    ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *params, ngx_uint_t n);


static ngx_conf_enum_t  ngx_http_clicktrack_ip_modes[] = {
    { ngx_string("full"), NGX_HTTP_CLICKTRACK_IP_FULL },
    { ngx_string("anonymize"), NGX_HTTP_CLICKTRACK_IP_ANONYMIZE },
    { ngx_string("off"), NGX_HTTP_CLICKTRACK_IP_OFF },
    { ngx_null_string, 0 }
};


static ngx_conf_post_t  ngx_http_clicktrack_visitor_hash_post = {
    ngx_http_clicktrack_visitor_hash
};


static ngx_conf_num_bounds_t  ngx_http_clicktrack_max_batch_bounds = {
    ngx_http_clicktrack_check_num, 1, 10000
};


static ngx_command_t  ngx_http_clicktrack_commands[] = {

    { ngx_string("clicktrack_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_clicktrack_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_list"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clicktrack_loc_conf_t, list),
      NULL },

    { ngx_string("clicktrack_recent"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_clicktrack_recent,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_beacon"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_clicktrack_beacon,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_clicktrack_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_stream"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_clicktrack_stream,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_dashboard"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_clicktrack_dashboard,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_js"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_clicktrack_js,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_clicktrack_cookie,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_field"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_clicktrack_field,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_visitor_hash"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clicktrack_loc_conf_t, visitor_hash),
      &ngx_http_clicktrack_visitor_hash_post },

    { ngx_string("clicktrack_ip"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_clicktrack_ip,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clicktrack_loc_conf_t, ip),
      &ngx_http_clicktrack_ip_modes },

    { ngx_string("clicktrack_ignore_bots"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clicktrack_loc_conf_t, ignore_bots),
      NULL },

    { ngx_string("clicktrack_dnt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clicktrack_loc_conf_t, dnt),
      NULL },

    { ngx_string("clicktrack_allow_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_clicktrack_allow_origin,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clicktrack_loc_conf_t, max_body),
      NULL },

    { ngx_string("clicktrack_max_batch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_clicktrack_loc_conf_t, max_batch),
      &ngx_http_clicktrack_max_batch_bounds },

    { ngx_string("clicktrack_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_clicktrack_queue,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_shutdown_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_clicktrack_main_conf_t, shutdown_timeout),
      NULL },

    { ngx_string("clicktrack_stats"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_clicktrack_stats,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_rollup"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_clicktrack_rollup,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("clicktrack_spool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_clicktrack_spool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_clicktrack_module_ctx = {
    ngx_http_clicktrack_add_variables,     /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_clicktrack_create_main_conf,  /* create main configuration */
    ngx_http_clicktrack_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_clicktrack_create_loc_conf,   /* create location configuration */
    ngx_http_clicktrack_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_clicktrack_module = {
    NGX_MODULE_V1,
    &ngx_http_clicktrack_module_ctx,       /* module context */
    ngx_http_clicktrack_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_clicktrack_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_clicktrack_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_clicktrack_vars[] = {

    { ngx_string("clicktrack_visitor"), NULL,
      ngx_http_clicktrack_visitor_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_clicktrack_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_clicktrack_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_clicktrack_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_clicktrack_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_clicktrack_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->redis = NULL;
     *     mcf->shm_zone = NULL;
     *     mcf->counters = NULL;
     *     mcf->queue = NULL;
     *     mcf->user_name = { 0, NULL };
     *     mcf->user_file = NULL;
     *     mcf->user_line = 0;
     *     mcf->used = 0;
     */

    mcf->queue_size = NGX_CONF_UNSET_SIZE;
    mcf->queue_batch = NGX_CONF_UNSET_UINT;
    mcf->queue_flush = NGX_CONF_UNSET_MSEC;
    mcf->shutdown_timeout = NGX_CONF_UNSET_MSEC;
    mcf->spool = NGX_CONF_UNSET_PTR;

    return mcf;
}


static char *
ngx_http_clicktrack_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_clicktrack_main_conf_t *mcf = conf;

    ngx_conf_init_size_value(mcf->queue_size, 16 * 1024 * 1024);
    ngx_conf_init_uint_value(mcf->queue_batch, 512);
    ngx_conf_init_msec_value(mcf->queue_flush, 10);
    ngx_conf_init_msec_value(mcf->shutdown_timeout, 2000);
    ngx_conf_init_ptr_value(mcf->spool, NULL);

    if (mcf->redis != NULL) {
        ngx_conf_init_msec_value(mcf->redis->connect_timeout, 1000);
        ngx_conf_init_msec_value(mcf->redis->command_timeout, 5000);
    }

    if (mcf->redis == NULL && mcf->user_file != NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%V\" in %s:%ui requires \"clicktrack_redis\" "
                      "in the http block",
                      &mcf->user_name, mcf->user_file, mcf->user_line);
        return NGX_CONF_ERROR;
    }

    if (mcf->redis != NULL || mcf->used) {
        if (ngx_http_clicktrack_status_zone(cf, mcf) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_clicktrack_filter_init(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_clicktrack_ua_init(cf->log) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_clicktrack_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_clicktrack_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_clicktrack_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->origins = NULL;
     *     conf->page = NULL;
     *     conf->visitor_hash = { 0, NULL };
     *     conf->visitor_key = NULL;
     */

    conf->list = NGX_CONF_UNSET_PTR;
    conf->recent = NGX_CONF_UNSET_PTR;
    conf->rollup = NGX_CONF_UNSET_PTR;
    conf->cookie = NGX_CONF_UNSET_PTR;
    conf->fields = NGX_CONF_UNSET_PTR;
    conf->ip = NGX_CONF_UNSET_UINT;
    conf->ignore_bots = NGX_CONF_UNSET;
    conf->dnt = NGX_CONF_UNSET;
    conf->origin = NGX_CONF_UNSET_UINT;
    conf->max_body = NGX_CONF_UNSET_SIZE;
    conf->max_batch = NGX_CONF_UNSET_UINT;
    conf->stream_key = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_clicktrack_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_clicktrack_loc_conf_t *prev = parent;
    ngx_http_clicktrack_loc_conf_t *conf = child;

    ngx_str_t                         key;
    ngx_http_clicktrack_main_conf_t  *mcf;

    if (conf->list == NGX_CONF_UNSET_PTR) {

        if (prev->list == NGX_CONF_UNSET_PTR) {
            /* a complex value without variables: its value, as is */

            prev->list = ngx_pcalloc(cf->pool,
                                     sizeof(ngx_http_complex_value_t));
            if (prev->list == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_str_set(&prev->list->value, NGX_HTTP_CLICKTRACK_DEFAULT_LIST);
        }

        conf->list = prev->list;
    }

    if (conf->recent == NGX_CONF_UNSET_PTR) {

        if (prev->recent == NGX_CONF_UNSET_PTR) {
            ngx_str_set(&key, NGX_HTTP_CLICKTRACK_DEFAULT_RECENT);

            prev->recent = ngx_http_clicktrack_make_recent(cf, &key,
                                              NGX_HTTP_CLICKTRACK_DEFAULT_MAX);
            if (prev->recent == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        conf->recent = prev->recent;
    }

    if (conf->rollup == NGX_CONF_UNSET_PTR) {

        if (prev->rollup == NGX_CONF_UNSET_PTR) {
            ngx_str_set(&key, NGX_HTTP_CLICKTRACK_DEFAULT_ROLLUP);

            prev->rollup = ngx_http_clicktrack_make_rollup(cf, &key);
            if (prev->rollup == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        conf->rollup = prev->rollup;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_clicktrack_module);

    if (conf->stats_file != NULL && conf->stats_prefix.len == 0) {

        /* clicktrack_stats without PREFIX reads the location's rollups */

        if (conf->rollup == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"clicktrack_stats\" in %s:%ui has no rollups "
                          "to read: \"clicktrack_rollup\" is off there; "
                          "give it a PREFIX", conf->stats_file,
                          conf->stats_line);
            return NGX_CONF_ERROR;
        }

        conf->stats_prefix = conf->rollup->prefix;
    }

    if (conf->rollup != NULL) {
        if (mcf->rollup_window == 0
            || conf->rollup->window < mcf->rollup_window)
        {
            mcf->rollup_window = conf->rollup->window;
        }
    }

    if (conf->cookie == NGX_CONF_UNSET_PTR) {

        if (prev->cookie == NGX_CONF_UNSET_PTR) {
            ngx_str_set(&key, NGX_HTTP_CLICKTRACK_DEFAULT_COOKIE);

            /* the directive's defaults: no parameters */

            prev->cookie = ngx_http_clicktrack_make_cookie(cf, &key, NULL, 0);
            if (prev->cookie == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        conf->cookie = prev->cookie;
    }

    /* like add_header: fields set on a level replace the inherited ones */

    ngx_conf_merge_ptr_value(conf->fields, prev->fields, NULL);

    ngx_conf_merge_str_value(conf->visitor_hash, prev->visitor_hash, "");

    if (conf->visitor_hash.len
        && ngx_http_clicktrack_visitor_key(cf->pool, &conf->visitor_hash,
                                           &conf->visitor_key)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_uint_value(conf->ip, prev->ip,
                              NGX_HTTP_CLICKTRACK_IP_ANONYMIZE);
    ngx_conf_merge_value(conf->ignore_bots, prev->ignore_bots, 1);
    ngx_conf_merge_value(conf->dnt, prev->dnt, 0);

    if (conf->origin == NGX_CONF_UNSET_UINT) {

        if (prev->origin == NGX_CONF_UNSET_UINT) {
            prev->origin = NGX_HTTP_CLICKTRACK_ORIGIN_OFF;
        }

        conf->origin = prev->origin;
        conf->origins = prev->origins;
    }

    ngx_conf_merge_size_value(conf->max_body, prev->max_body, 16 * 1024);
    ngx_conf_merge_uint_value(conf->max_batch, prev->max_batch, 50);

    /* an "if" in a stream location reads the location's stream */

    ngx_conf_merge_uint_value(conf->stream_key, prev->stream_key, 0);

    return ngx_http_clicktrack_stream_merge(cf,
               ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_clicktrack_module),
               conf);
}


static ngx_int_t
ngx_http_clicktrack_init_process(ngx_cycle_t *cycle)
{
    ngx_http_clicktrack_main_conf_t  *mcf;

    /* workers only: not the cache manager and loader */

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_clicktrack_module);

    if (mcf == NULL || mcf->redis == NULL) {
        return NGX_OK;
    }

    ngx_http_clicktrack_status_share(cycle, mcf->counters);

    if (ngx_http_clicktrack_queue_init(cycle, mcf) != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "clicktrack: no memory for a %uz byte queue",
                      mcf->queue_size);
        return NGX_ERROR;
    }

    if (mcf->rollup_window
        && ngx_http_clicktrack_rollup_init(cycle, mcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (mcf->stats_used
        && ngx_http_clicktrack_stats_init(cycle, mcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_clicktrack_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_clicktrack_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_clicktrack_module);

    if (mcf != NULL && mcf->queue != NULL) {
        ngx_http_clicktrack_queue_exit(mcf->queue);
        mcf->queue = NULL;
    }

    if (mcf != NULL) {
        ngx_http_clicktrack_rollup_exit(mcf);
        ngx_http_clicktrack_stats_exit(mcf);
        ngx_http_clicktrack_stream_exit(mcf);
    }

    if (mcf != NULL && mcf->counters != NULL) {
        ngx_http_clicktrack_status_unshare(mcf->counters);
    }
}


/*
 * clicktrack_redis ADDRESS [db=N] [password=S] [connect_timeout=TIME]
 *                  [command_timeout=TIME]
 */

static char *
ngx_http_clicktrack_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clicktrack_main_conf_t *mcf = conf;

    u_char                            *host;
    size_t                             len;
    ngx_str_t                         *value, param;
    ngx_url_t                          u;
    ngx_uint_t                         i;
    ngx_http_clicktrack_redis_conf_t  *rcf;

    if (mcf->redis != NULL) {
        return "is duplicate";
    }

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_clicktrack_redis_conf_t));
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    rcf->name = value[1];
    rcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    rcf->command_timeout = NGX_CONF_UNSET_MSEC;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_http_clicktrack_param(&value[i], "db", &param) == NGX_OK) {
            rcf->db = ngx_atoi(param.data, param.len);
            if (rcf->db == NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (ngx_http_clicktrack_param(&value[i], "password", &param)
            == NGX_OK)
        {
            if (param.len == 0) {
                goto invalid;
            }

            rcf->password = param;
            continue;
        }

        if (ngx_http_clicktrack_param(&value[i], "connect_timeout", &param)
            == NGX_OK)
        {
            rcf->connect_timeout = ngx_parse_time(&param, 0);
            if (rcf->connect_timeout == (ngx_msec_t) NGX_ERROR
                || rcf->connect_timeout == 0)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_http_clicktrack_param(&value[i], "command_timeout", &param)
            == NGX_OK)
        {
            rcf->command_timeout = ngx_parse_time(&param, 0);
            if (rcf->command_timeout == (ngx_msec_t) NGX_ERROR
                || rcf->command_timeout == 0)
            {
                goto invalid;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown parameter \"%V\" in \"%V\"",
                           &value[i], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        rcf->unix_path = ngx_pnalloc(cf->pool, value[1].len - 5 + 1);
        if (rcf->unix_path == NULL) {
            return NGX_CONF_ERROR;
        }

        (void) ngx_cpystrn(rcf->unix_path, value[1].data + 5,
                           value[1].len - 5 + 1);

        mcf->redis = rcf;
        return NGX_CONF_OK;
    }

    /* resolved here, once: a worker never waits for DNS */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in \"%V\" of \"%V\"",
                               u.err, &u.url, &cmd->name);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0 || u.uri.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid address \"%V\" in \"%V\"",
                           &u.url, &cmd->name);
        return NGX_CONF_ERROR;
    }

    host = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (host == NULL) {
        return NGX_CONF_ERROR;
    }

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, host,
                        NGX_SOCKADDR_STRLEN, 0);
    host[len] = '\0';

    rcf->host = host;
    rcf->port = ngx_inet_get_port(u.addrs[0].sockaddr);

    mcf->redis = rcf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\"",
                       &value[i], &cmd->name);

    return NGX_CONF_ERROR;
}


/* clicktrack_recent KEY [max=N] | off */

static char *
ngx_http_clicktrack_recent(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clicktrack_loc_conf_t *lcf = conf;

    ngx_str_t   *value, param;
    ngx_int_t    max;

    if (lcf->recent != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    switch (ngx_http_clicktrack_off(cf, cmd)) {
    case NGX_OK:
        lcf->recent = NULL;
        return NGX_CONF_OK;
    case NGX_ERROR:
        return NGX_CONF_ERROR;
    }

    max = NGX_HTTP_CLICKTRACK_DEFAULT_MAX;

    if (cf->args->nelts > 2) {
        if (ngx_http_clicktrack_param(&value[2], "max", &param) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown parameter \"%V\" in \"%V\"",
                               &value[2], &cmd->name);
            return NGX_CONF_ERROR;
        }

        max = ngx_atoi(param.data, param.len);
        if (max == NGX_ERROR || max == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\"",
                               &value[2], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    lcf->recent = ngx_http_clicktrack_make_recent(cf, &value[1],
                                                  (ngx_uint_t) max);
    if (lcf->recent == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_clicktrack_beacon(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_clicktrack_set_handler(cf,
                                           ngx_http_clicktrack_beacon_handler,
                                           1);
}


static char *
ngx_http_clicktrack_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_clicktrack_set_handler(cf,
                                           ngx_http_clicktrack_status_handler,
                                           0);
}


static char *
ngx_http_clicktrack_stream(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_clicktrack_set_handler(cf,
                                           ngx_http_clicktrack_stream_handler,
                                           1);
}


/* clicktrack_dashboard STREAM_URI [STATS_URI] */

static char *
ngx_http_clicktrack_dashboard(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return ngx_http_clicktrack_set_page(cf, conf,
                                        ngx_http_clicktrack_dashboard_handler,
                                        ngx_http_clicktrack_dashboard_make);
}


/* clicktrack_js BEACON_URI */

static char *
ngx_http_clicktrack_js(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_clicktrack_set_page(cf, conf,
                                        ngx_http_clicktrack_js_handler,
                                        ngx_http_clicktrack_js_make);
}


/* a location that serves an embedded page made from its argument */

static char *
ngx_http_clicktrack_set_page(ngx_conf_t *cf,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_http_handler_pt handler,
    ngx_http_clicktrack_page_t *(*make)(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t n))
{
    char       *rv;
    ngx_str_t  *value;

    rv = ngx_http_clicktrack_set_handler(cf, handler, 0);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    value = cf->args->elts;

    lcf->page = make(cf, &value[1], cf->args->nelts - 1);
    if (lcf->page == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * clicktrack_cookie NAME [max_age=TIME] [domain=D] [path=P]
 *                   [samesite=lax|strict|none] [secure] [httponly] | off
 */

static char *
ngx_http_clicktrack_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clicktrack_loc_conf_t *lcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (lcf->cookie != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    switch (ngx_http_clicktrack_off(cf, cmd)) {
    case NGX_OK:
        lcf->cookie = NULL;
        return NGX_CONF_OK;
    case NGX_ERROR:
        return NGX_CONF_ERROR;
    }

    /* a cookie name is an RFC 6265 token: no separators, no controls */

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= 0x20 || value[1].data[i] >= 0x7f
            || ngx_strchr("()<>@,;:\\\"/[]?={}", value[1].data[i]) != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid cookie name \"%V\" in \"%V\"",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    lcf->cookie = ngx_http_clicktrack_make_cookie(cf, &value[1], &value[2],
                                                  cf->args->nelts - 2);
    if (lcf->cookie == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The cookie NAME with its parameters (n of them, none for the default),
 * its attributes written once: the defaults of clicktrack_cookie live
 * here only.  NULL: no memory, or a bad parameter, logged.
 */

static ngx_http_clicktrack_cookie_t *
ngx_http_clicktrack_make_cookie(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *params, ngx_uint_t n)
{
    u_char                        *p;
    size_t                         len;
    time_t                         max_age;
    ngx_str_t                      param, domain, path, samesite;
    ngx_uint_t                     i, secure, httponly;
    ngx_http_clicktrack_cookie_t  *cookie;

    max_age = 365 * 24 * 60 * 60;
    ngx_str_null(&domain);
    ngx_str_set(&path, "/");
    ngx_str_set(&samesite, "Lax");
    secure = 0;
    httponly = 0;

    for (i = 0; i < n; i++) {

        if (ngx_http_clicktrack_param(&params[i], "max_age", &param)
            == NGX_OK)
        {
            max_age = ngx_parse_time(&param, 1);
            if (max_age == (time_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (ngx_http_clicktrack_param(&params[i], "domain", &param)
            == NGX_OK)
        {
            if (param.len == 0 || ngx_strlchr(param.data,
                                              param.data + param.len, ';'))
            {
                goto invalid;
            }

            domain = param;
            continue;
        }

        if (ngx_http_clicktrack_param(&params[i], "path", &param) == NGX_OK) {
            if (param.len == 0 || param.data[0] != '/'
                || ngx_strlchr(param.data, param.data + param.len, ';'))
            {
                goto invalid;
            }

            path = param;
            continue;
        }

        if (ngx_http_clicktrack_param(&params[i], "samesite", &param)
            == NGX_OK)
        {
            if (param.len == 3 && ngx_strncmp(param.data, "lax", 3) == 0) {
                ngx_str_set(&samesite, "Lax");

            } else if (param.len == 6
                       && ngx_strncmp(param.data, "strict", 6) == 0)
            {
                ngx_str_set(&samesite, "Strict");

            } else if (param.len == 4
                       && ngx_strncmp(param.data, "none", 4) == 0)
            {
                ngx_str_set(&samesite, "None");

            } else {
                goto invalid;
            }

            continue;
        }

        if (ngx_strcmp(params[i].data, "secure") == 0) {
            secure = 1;
            continue;
        }

        if (ngx_strcmp(params[i].data, "httponly") == 0) {
            httponly = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown parameter \"%V\" in "
                           "\"clicktrack_cookie\"", &params[i]);
        return NULL;
    }

    if (samesite.len == 4 && !secure) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"clicktrack_cookie\" with samesite=none and "
                           "without secure: browsers reject such a cookie");
    }

    cookie = ngx_palloc(cf->pool, sizeof(ngx_http_clicktrack_cookie_t));
    if (cookie == NULL) {
        return NULL;
    }

    cookie->name = *name;

    len = sizeof("; Max-Age=") - 1 + NGX_TIME_T_LEN
          + sizeof("; Domain=") - 1 + domain.len
          + sizeof("; Path=") - 1 + path.len
          + sizeof("; SameSite=Strict") - 1
          + sizeof("; Secure; HttpOnly") - 1;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NULL;
    }

    cookie->attrs.data = p;

    /* max_age=0: a session cookie */

    if (max_age) {
        p = ngx_sprintf(p, "; Max-Age=%T", max_age);
    }

    if (domain.len) {
        p = ngx_sprintf(p, "; Domain=%V", &domain);
    }

    p = ngx_sprintf(p, "; Path=%V; SameSite=%V", &path, &samesite);

    if (secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    if (httponly) {
        p = ngx_cpymem(p, "; HttpOnly", sizeof("; HttpOnly") - 1);
    }

    cookie->attrs.len = p - cookie->attrs.data;

    return cookie;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"clicktrack_cookie\"",
                       &params[i]);

    return NULL;
}


/* clicktrack_field NAME VALUE */

static char *
ngx_http_clicktrack_field(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clicktrack_loc_conf_t *lcf = conf;

    ngx_str_t                          *value;
    ngx_uint_t                          i;
    ngx_http_clicktrack_field_t        *field;
    ngx_http_compile_complex_value_t    ccv;

    value = cf->args->elts;

    if (ngx_http_clicktrack_record_valid_field(value[1].data, value[1].len)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid field name \"%V\" in \"%V\": "
                           "1-64 of [A-Za-z0-9_]", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_clicktrack_record_builtin(value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "field name \"%V\" in \"%V\" is a built-in "
                           "event field", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (lcf->fields == NGX_CONF_UNSET_PTR) {
        lcf->fields = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_clicktrack_field_t));
        if (lcf->fields == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    field = lcf->fields->elts;

    for (i = 0; i < lcf->fields->nelts; i++) {
        if (field[i].name.len == value[1].len
            && ngx_strncmp(field[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate field \"%V\" in \"%V\"",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    field = ngx_array_push(lcf->fields);
    if (field == NULL) {
        return NGX_CONF_ERROR;
    }

    field->name = value[1];

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &field->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* clicktrack_allow_origin off | * | ORIGIN ... */

static char *
ngx_http_clicktrack_allow_origin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_clicktrack_loc_conf_t *lcf = conf;

    u_char      *p, *last;
    ngx_str_t   *value, *origin;
    ngx_uint_t   i;

    if (lcf->origin != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {

        if (ngx_strcmp(value[1].data, "off") == 0) {
            lcf->origin = NGX_HTTP_CLICKTRACK_ORIGIN_OFF;
            return NGX_CONF_OK;
        }

        if (ngx_strcmp(value[1].data, "*") == 0) {
            lcf->origin = NGX_HTTP_CLICKTRACK_ORIGIN_ANY;
            return NGX_CONF_OK;
        }
    }

    lcf->origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                    sizeof(ngx_str_t));
    if (lcf->origins == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        /* scheme "://" host [ ":" port ], no path: what browsers send */

        p = value[i].data;
        last = p + value[i].len;

        if ((size_t) (last - p) > 8 && ngx_strncmp(p, "https://", 8) == 0) {
            p += 8;

        } else if ((size_t) (last - p) > 7
                   && ngx_strncmp(p, "http://", 7) == 0)
        {
            p += 7;

        } else {
            goto invalid;
        }

        for ( /* void */ ; p < last; p++) {
            if (*p == '/' || *p == '?' || *p == '#' || *p <= 0x20
                || *p >= 0x7f || *p == ',' || *p == '*')
            {
                goto invalid;
            }
        }

        origin = ngx_array_push(lcf->origins);
        if (origin == NULL) {
            return NGX_CONF_ERROR;
        }

        *origin = value[i];
    }

    lcf->origin = NGX_HTTP_CLICKTRACK_ORIGIN_LIST;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid origin \"%V\" in \"%V\": "
                       "scheme://host[:port], \"*\" or \"off\"",
                       &value[i], &cmd->name);

    return NGX_CONF_ERROR;
}


/* clicktrack_queue [size=SIZE] [batch=N] [flush=TIME] */

static char *
ngx_http_clicktrack_queue(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clicktrack_main_conf_t *mcf = conf;

    ssize_t      size;
    ngx_int_t    n;
    ngx_msec_t   flush;
    ngx_str_t   *value, param;
    ngx_uint_t   i;

    if (mcf->queue_size != NGX_CONF_UNSET_SIZE
        || mcf->queue_batch != NGX_CONF_UNSET_UINT
        || mcf->queue_flush != NGX_CONF_UNSET_MSEC)
    {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_http_clicktrack_param(&value[i], "size", &param) == NGX_OK) {
            size = ngx_parse_size(&param);
            if (size == NGX_ERROR || size < 64 * 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in \"%V\": "
                                   "a size of at least 64k",
                                   &value[i], &cmd->name);
                return NGX_CONF_ERROR;
            }

            mcf->queue_size = (size_t) size;
            continue;
        }

        if (ngx_http_clicktrack_param(&value[i], "batch", &param) == NGX_OK) {
            n = ngx_atoi(param.data, param.len);
            if (n == NGX_ERROR || n < 1 || n > 10000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in \"%V\": "
                                   "a number from 1 to 10000",
                                   &value[i], &cmd->name);
                return NGX_CONF_ERROR;
            }

            mcf->queue_batch = (ngx_uint_t) n;
            continue;
        }

        if (ngx_http_clicktrack_param(&value[i], "flush", &param) == NGX_OK) {
            flush = ngx_parse_time(&param, 0);
            if (flush == (ngx_msec_t) NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in \"%V\"",
                                   &value[i], &cmd->name);
                return NGX_CONF_ERROR;
            }

            mcf->queue_flush = flush;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown parameter \"%V\" in \"%V\"",
                           &value[i], &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * clicktrack_ip full | anonymize | off: the stock enum slot, which logs
 * the value it does not know; the error names the set too
 */

static char *
ngx_http_clicktrack_ip(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char       *rv;
    ngx_str_t  *value;

    rv = ngx_conf_set_enum_slot(cf, cmd, conf);

    if (rv != NGX_CONF_ERROR) {
        return rv;
    }

    value = cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\": "
                       "full, anonymize or off", &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


/*
 * The post handler of a number slot with bounds (ngx_conf_num_bounds_t),
 * as ngx_conf_check_num_bounds() but naming the value and the directive
 */

static char *
ngx_http_clicktrack_check_num(ngx_conf_t *cf, void *post, void *data)
{
    ngx_conf_num_bounds_t  *bounds = post;
    ngx_int_t              *np = data;

    ngx_str_t  *value;

    if (*np >= bounds->low && *np <= bounds->high) {
        return NGX_CONF_OK;
    }

    value = cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\": "
                       "a number from %i to %i",
                       &value[1], &value[0], bounds->low, bounds->high);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_clicktrack_set_handler(ngx_conf_t *cf, ngx_http_handler_pt handler,
    ngx_uint_t uses_redis)
{
    ngx_str_t                        *value;
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_clicktrack_main_conf_t  *mcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate";
    }

    clcf->handler = handler;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_clicktrack_module);
    value = cf->args->elts;

    mcf->used = 1;

    if (uses_redis && mcf->user_file == NULL) {
        mcf->user_name = value[0];
        mcf->user_file = cf->conf_file->file.name.data;
        mcf->user_line = cf->conf_file->line;
    }

    return NGX_CONF_OK;
}


/*
 * "off" as the only argument: NGX_OK; "off" and more: NGX_ERROR, logged;
 * anything else: NGX_DECLINED
 */

static ngx_int_t
ngx_http_clicktrack_off(ngx_conf_t *cf, ngx_command_t *cmd)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") != 0) {
        return NGX_DECLINED;
    }

    if (cf->args->nelts > 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unexpected \"%V\" after \"off\" in \"%V\"",
                           &value[2], &cmd->name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* "name=value": NGX_OK and the value when value[] starts with "name=" */

static ngx_int_t
ngx_http_clicktrack_param(ngx_str_t *value, char *name, ngx_str_t *param)
{
    size_t  len;

    len = ngx_strlen(name);

    if (value->len <= len || value->data[len] != '='
        || ngx_strncmp(value->data, name, len) != 0)
    {
        return NGX_DECLINED;
    }

    param->data = value->data + len + 1;
    param->len = value->len - len - 1;

    return NGX_OK;
}


/* clicktrack_stats [PREFIX] */

static char *
ngx_http_clicktrack_stats(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clicktrack_loc_conf_t *lcf = conf;

    char                             *rv;
    ngx_str_t                        *value;
    ngx_http_clicktrack_main_conf_t  *mcf;

    rv = ngx_http_clicktrack_set_handler(cf,
                                         ngx_http_clicktrack_stats_handler, 1);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    value = cf->args->elts;

    if (cf->args->nelts > 1) {
        if (value[1].len == 0) {
            return "has an empty prefix";
        }

        lcf->stats_prefix = value[1];
    }

    lcf->stats_file = cf->conf_file->file.name.data;
    lcf->stats_line = cf->conf_file->line;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_clicktrack_module);
    mcf->stats_used = 1;

    return NGX_CONF_OK;
}


/*
 * clicktrack_rollup PREFIX [window=TIME] [retention=TIME] [top=N]
 *                   [tz=+HH:MM] | off
 */

static char *
ngx_http_clicktrack_rollup(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clicktrack_loc_conf_t *lcf = conf;

    time_t                              sec;
    ngx_int_t                           n;
    ngx_str_t                          *value, param;
    ngx_uint_t                          i;
    ngx_msec_t                          ms;
    ngx_http_clicktrack_rollup_conf_t  *ru;

    if (lcf->rollup != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    switch (ngx_http_clicktrack_off(cf, cmd)) {
    case NGX_OK:
        lcf->rollup = NULL;
        return NGX_CONF_OK;
    case NGX_ERROR:
        return NGX_CONF_ERROR;
    }

    ru = ngx_http_clicktrack_make_rollup(cf, &value[1]);
    if (ru == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_http_clicktrack_param(&value[i], "window", &param) == NGX_OK) {
            ms = ngx_parse_time(&param, 0);

            /* at most a minute: the per-minute counts need every minute */

            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0 || ms > 60000) {
                goto invalid;
            }

            ru->window = ms;
            continue;
        }

        if (ngx_http_clicktrack_param(&value[i], "retention", &param)
            == NGX_OK)
        {
            sec = ngx_parse_time(&param, 1);

            if (sec == (time_t) NGX_ERROR || sec == 0) {
                goto invalid;
            }

            ru->retention = sec;
            continue;
        }

        if (ngx_http_clicktrack_param(&value[i], "top", &param) == NGX_OK) {
            n = ngx_atoi(param.data, param.len);

            if (n == NGX_ERROR || n == 0 || n > 100000) {
                goto invalid;
            }

            ru->top = (ngx_uint_t) n;
            continue;
        }

        if (ngx_http_clicktrack_param(&value[i], "tz", &param) == NGX_OK) {
            n = ngx_http_clicktrack_rollup_parse_tz(&param);

            if (n == NGX_ERROR) {
                goto invalid;
            }

            ru->tz = n;
            ru->tz_text = param;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown parameter \"%V\" in \"%V\"",
                           &value[i], &cmd->name);
        return NGX_CONF_ERROR;
    }

    lcf->rollup = ru;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\"",
                       &value[i], &cmd->name);

    return NGX_CONF_ERROR;
}


/*
 * clicktrack_visitor_hash SECRET | off: "off" is kept as "", which the
 * merge does not replace; the secret is never written to a log
 */

static char *
ngx_http_clicktrack_visitor_hash(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *secret = data;

    if (secret->len == 3 && ngx_strncmp(secret->data, "off", 3) == 0) {
        ngx_str_set(secret, "");
        return NGX_CONF_OK;
    }

    if (secret->len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"clicktrack_visitor_hash\": the secret must "
                           "be at least 16 bytes (%uz given; it is not "
                           "shown)", secret->len);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a rollup with the defaults: window=1s retention=400d top=1000 tz=+00:00 */

static ngx_http_clicktrack_rollup_conf_t *
ngx_http_clicktrack_make_rollup(ngx_conf_t *cf, ngx_str_t *prefix)
{
    ngx_http_clicktrack_rollup_conf_t  *ru;

    if (prefix->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty prefix in \"clicktrack_rollup\"");
        return NULL;
    }

    ru = ngx_palloc(cf->pool, sizeof(ngx_http_clicktrack_rollup_conf_t));
    if (ru == NULL) {
        return NULL;
    }

    ru->prefix = *prefix;
    ru->window = 1000;
    ru->retention = 400 * 86400;
    ru->top = 1000;
    ru->tz = 0;
    ngx_str_set(&ru->tz_text, "+00:00");

    return ru;
}


static ngx_http_clicktrack_recent_t *
ngx_http_clicktrack_make_recent(ngx_conf_t *cf, ngx_str_t *key,
    ngx_uint_t max)
{
    ngx_http_clicktrack_recent_t  *recent;

    recent = ngx_palloc(cf->pool, sizeof(ngx_http_clicktrack_recent_t));
    if (recent == NULL) {
        return NULL;
    }

    recent->key = *key;
    recent->max = max;

    recent->max_text.data = ngx_pnalloc(cf->pool, NGX_INT_T_LEN);
    if (recent->max_text.data == NULL) {
        return NULL;
    }

    recent->max_text.len = ngx_sprintf(recent->max_text.data, "%ui", max)
                           - recent->max_text.data;

    if (ngx_http_clicktrack_queue_recent(cf->pool, recent) != NGX_OK) {
        return NULL;
    }

    return recent;
}


/*
 * clicktrack_spool PATH [max_size=SIZE] | off
 *
 * PATH must be a directory the workers can write; one that does not exist
 * yet is accepted (and reported by the workers until it does).
 */

static char *
ngx_http_clicktrack_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_clicktrack_main_conf_t *mcf = conf;

    off_t                              size;
    ngx_str_t                         *value, param;
    ngx_uint_t                         i;
    ngx_file_info_t                    fi;
    ngx_http_clicktrack_spool_conf_t  *sc;

    if (mcf->spool != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2
        && value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0)
    {
        mcf->spool = NULL;
        return NGX_CONF_OK;
    }

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty path in \"%V\"", &cmd->name);
        return NGX_CONF_ERROR;
    }

    sc = ngx_pcalloc(cf->pool, sizeof(ngx_http_clicktrack_spool_conf_t));
    if (sc == NULL) {
        return NGX_CONF_ERROR;
    }

    sc->path = value[1];

    while (sc->path.len > 1 && sc->path.data[sc->path.len - 1] == '/') {
        sc->path.len--;
    }

    /* relative to the prefix, NUL-terminated */

    if (ngx_conf_full_name(cf->cycle, &sc->path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (sc->path.len + 64 > NGX_MAX_PATH) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "path \"%V\" in \"%V\" is too long",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_file_info(sc->path.data, &fi) != NGX_FILE_ERROR
        && !ngx_is_dir(&fi))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" in \"%V\" is not a directory",
                           &sc->path, &cmd->name);
        return NGX_CONF_ERROR;
    }

    sc->max_size = 1024 * 1024 * 1024;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_http_clicktrack_param(&value[i], "max_size", &param)
            == NGX_OK)
        {
            size = ngx_parse_offset(&param);
            if (size == NGX_ERROR || size < 4096) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid value \"%V\" in \"%V\": "
                                   "a size of at least 4k",
                                   &value[i], &cmd->name);
                return NGX_CONF_ERROR;
            }

            sc->max_size = size;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown parameter \"%V\" in \"%V\"",
                           &value[i], &cmd->name);
        return NGX_CONF_ERROR;
    }

    mcf->spool = sc;

    return NGX_CONF_OK;
}
