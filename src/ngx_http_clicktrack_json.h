
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_JSON_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_record.h"


/*
 * The JSON tokenizer the beacon's parser walks a document with.  Each
 * call returns NGX_OK, NGX_DECLINED (the document is at fault: *j->err
 * says where, from j->pool) or NGX_ERROR (out of memory).
 */


/* how deep containers nest: the top value counts as depth 1 */
#define NGX_HTTP_CLICKTRACK_MAX_DEPTH      32


typedef struct {
    u_char                          *start;
    u_char                          *pos;
    u_char                          *end;
    ngx_pool_t                      *pool;
    ngx_str_t                       *err;
} ngx_http_clicktrack_json_t;


/* moves past whitespace */
void ngx_http_clicktrack_json_ws(ngx_http_clicktrack_json_t *j);

/* "malformed JSON at byte N", N being p's offset: NGX_DECLINED or NGX_ERROR */
ngx_int_t ngx_http_clicktrack_json_malformed(
    ngx_http_clicktrack_json_t *j, u_char *p);

/*
 * The string at j->pos (on its '"'), decoded: without escapes s points
 * into the input, else to a copy in the pool.
 */
ngx_int_t ngx_http_clicktrack_json_string(
    ngx_http_clicktrack_json_t *j, ngx_str_t *s);

/* the number at j->pos, as its text (RFC 8259's grammar) */
ngx_int_t ngx_http_clicktrack_json_number(
    ngx_http_clicktrack_json_t *j, ngx_str_t *s);

/* the literal lit (true, false, null) of n bytes at j->pos */
ngx_int_t ngx_http_clicktrack_json_literal(
    ngx_http_clicktrack_json_t *j, const char *lit, size_t n);

/* the value at j->pos checked and skipped; depth is where it stands */
ngx_int_t ngx_http_clicktrack_json_skip(ngx_http_clicktrack_json_t *j,
    ngx_uint_t depth);

/* an object member's name and ':', leaving j->pos on the value */
ngx_int_t ngx_http_clicktrack_json_member(
    ngx_http_clicktrack_json_t *j, ngx_str_t *name);

/* after a member or element: NGX_AGAIN on ',', NGX_OK on close */
ngx_int_t ngx_http_clicktrack_json_next(ngx_http_clicktrack_json_t *j,
    u_char close);


#endif /* _NGX_HTTP_CLICKTRACK_JSON_H_INCLUDED_ */
