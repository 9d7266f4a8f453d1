
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_EVENT_HARNESS_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_EVENT_HARNESS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_event.h"
#include "ngx_http_clicktrack_url.h"
#include "ngx_http_clicktrack_ua.h"


/*
 * Drives the parsers (src/ngx_http_clicktrack_event.c) and the record's
 * writer (src/ngx_http_clicktrack_record.c) the way the beacon handler does,
 * with fixed id, time, host, ip, ua and clicktrack_field values, and checks
 * every line it produces (see event_harness.c).  Shared by the command
 * line driver and the libFuzzer target.
 */


#define NGX_HTTP_CLICKTRACK_HARNESS_FORM  0
#define NGX_HTTP_CLICKTRACK_HARNESS_JSON  1


/* called for each JSON line, or once with the reason of a rejection */
typedef void (*ngx_http_clicktrack_harness_out_pt)(void *ctx, u_char *p,
    size_t len);


void ngx_http_clicktrack_harness_init(void);

/* the server time of the records (default 1795350665.720) */
void ngx_http_clicktrack_harness_time(time_t sec, ngx_msec_t msec);

/*
 * NGX_OK: accepted, out() called per event; NGX_DECLINED: rejected,
 * reject() called with the reason; NGX_ERROR: out of memory.  A broken
 * property (a length mismatch, an invalid line, an empty reason) aborts.
 */
ngx_int_t ngx_http_clicktrack_harness_run(u_char *data, size_t len,
    ngx_uint_t mode, ngx_uint_t max_batch,
    ngx_http_clicktrack_harness_out_pt out,
    ngx_http_clicktrack_harness_out_pt reject, void *ctx);

/* NULL if p..p+len is a record as SPEC section 4 says, else why not */
const char *ngx_http_clicktrack_harness_check(u_char *p, size_t len,
    ngx_http_clicktrack_common_t *common);


#endif /* _NGX_HTTP_CLICKTRACK_EVENT_HARNESS_H_INCLUDED_ */
