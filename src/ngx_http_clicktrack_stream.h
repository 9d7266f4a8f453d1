
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_STREAM_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_STREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"


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


#endif /* _NGX_HTTP_CLICKTRACK_STREAM_H_INCLUDED_ */
