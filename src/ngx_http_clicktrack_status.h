
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_STATUS_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"


ngx_int_t ngx_http_clicktrack_status_zone(ngx_conf_t *cf,
    ngx_http_clicktrack_main_conf_t *mcf);
ngx_int_t ngx_http_clicktrack_status_handler(ngx_http_request_t *r);
void ngx_http_clicktrack_status_share(ngx_cycle_t *cycle,
    ngx_http_clicktrack_counters_t *c);
void ngx_http_clicktrack_status_unshare(ngx_http_clicktrack_counters_t *c);


#endif /* _NGX_HTTP_CLICKTRACK_STATUS_H_INCLUDED_ */
