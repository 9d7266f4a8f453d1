
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_UA_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_UA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The User-Agent classifier of the rollups' browsers, os and devices
 * tables: a browser family, an operating system and a device type
 * (desktop, mobile, tablet), each "Other" when the User-Agent does not
 * say (docs/stats.md has the rules and every name).  Only ngx_core: the
 * fuzzer drives it directly.
 */


typedef struct {
    ngx_str_t  *browser;
    ngx_str_t  *os;
    ngx_str_t  *device;
} ngx_http_clicktrack_ua_t;


/* builds the token automaton, once per configuration */
ngx_int_t ngx_http_clicktrack_ua_init(ngx_log_t *log);

/* the three names of a User-Agent; never NULL, static strings */
void ngx_http_clicktrack_ua_classify(ngx_str_t *ua,
    ngx_http_clicktrack_ua_t *res);


#endif /* _NGX_HTTP_CLICKTRACK_UA_H_INCLUDED_ */
