
/*
 * Copyright (C) clicktrack authors
 */


#ifndef _NGX_HTTP_CLICKTRACK_URL_H_INCLUDED_
#define _NGX_HTTP_CLICKTRACK_URL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The parts of an event's url and referrer that the rollups count.  A URL
 * is taken as the browser sent it ("scheme://authority/path?query#frag"),
 * or a path alone ("/path?query"); nothing is checked beyond what the
 * parts need, and every result points into the URL but for decoded query
 * values.  Only ngx_core: the fuzzer drives these directly.
 */


/*
 * The path: after the authority, up to '?' or '#', as sent (not decoded);
 * "/" when it is empty.
 */
void ngx_http_clicktrack_url_path(ngx_str_t *url, ngx_str_t *path);

/*
 * The host: the authority without userinfo and port (an IPv6 literal
 * keeps its brackets); empty when the URL has no "//" authority.
 */
void ngx_http_clicktrack_url_host(ngx_str_t *url, ngx_str_t *host);

/* the query: after the first '?', up to '#'; empty when there is none */
void ngx_http_clicktrack_url_query(ngx_str_t *url, ngx_str_t *query);

/* both of the above, in one pass over the URL */
void ngx_http_clicktrack_url_parts(ngx_str_t *url, ngx_str_t *path,
    ngx_str_t *query);

/*
 * The first value of the argument NAME in a query, percent-decoded and
 * "+" as a space, into buf (room for the query's length).  NGX_DECLINED:
 * absent, empty, or a malformed percent-encoding.
 */
ngx_int_t ngx_http_clicktrack_url_arg(ngx_str_t *query, u_char *name,
    size_t len, u_char *buf, ngx_str_t *value);


#endif /* _NGX_HTTP_CLICKTRACK_URL_H_INCLUDED_ */
