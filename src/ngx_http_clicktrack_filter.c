
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_clicktrack_module.h"
#include "ngx_http_clicktrack_filter.h"


/*
 * The beacon's filters: the origin check (clicktrack_origin), the bot
 * User-Agents (clicktrack_ignore_bots) and Do-Not-Track / Global Privacy
 * Control (clicktrack_dnt).  A request the origin check refuses is
 * answered 403; one the others drop is answered as a success, and not
 * recorded.
 */


/*
 * Lower-case substrings of the User-Agent that mark a crawler, a headless
 * browser or a link previewer (docs/protocol.md lists them).  Requests
 * without a User-Agent are not bots: the tracker always sends one.
 */

static ngx_str_t  ngx_http_clicktrack_bots[] = {
    ngx_string("bot"),
    ngx_string("crawl"),
    ngx_string("spider"),
    ngx_string("slurp"),
    ngx_string("headless"),
    ngx_string("phantomjs"),
    ngx_string("puppeteer"),
    ngx_string("playwright"),
    ngx_string("selenium"),
    ngx_string("lighthouse"),
    ngx_string("pagespeed"),
    ngx_string("facebookexternalhit"),
    ngx_string("facebookcatalog"),
    ngx_string("embedly"),
    ngx_string("quora link preview"),
    ngx_string("outbrain"),
    ngx_string("pinterest"),
    ngx_string("vkshare"),
    ngx_string("whatsapp"),
    ngx_string("skypeuripreview"),
    ngx_string("bingpreview"),
    ngx_string("ia_archiver"),
    ngx_string("mediapartners-google"),
    ngx_string("feedfetcher"),
    ngx_string("preview"),
    ngx_null_string
};


/* the automaton of the list above: ngx_http_clicktrack_filter_bot() */

#define NGX_HTTP_CLICKTRACK_BOT_MAX      320
#define NGX_HTTP_CLICKTRACK_BOT_CLASSES  32

static u_char      ngx_http_clicktrack_bot_class[256];
static uint16_t    ngx_http_clicktrack_bot_next[NGX_HTTP_CLICKTRACK_BOT_MAX
                                            * NGX_HTTP_CLICKTRACK_BOT_CLASSES];
static ngx_uint_t  ngx_http_clicktrack_bot_found;


/*
 * The Origin header, or without it the Referer's scheme://host[:port].  A
 * request with neither is not a browser's cross-origin request: allowed,
 * without CORS headers.
 */

ngx_int_t
ngx_http_clicktrack_filter_origin(ngx_http_request_t *r,
    ngx_http_clicktrack_loc_conf_t *lcf, ngx_str_t *allow)
{
    u_char           *p, *last;
    ngx_str_t         origin, *allowed;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (lcf->origin == NGX_HTTP_CLICKTRACK_ORIGIN_OFF) {
        return NGX_OK;
    }

    if (lcf->origin == NGX_HTTP_CLICKTRACK_ORIGIN_ANY) {
        ngx_str_set(allow, "*");
        return NGX_OK;
    }

    ngx_str_null(&origin);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 6
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin", 6) == 0)
        {
            origin = h[i].value;
            break;
        }
    }

    if (origin.data == NULL && r->headers_in.referer) {
        p = r->headers_in.referer->value.data;
        last = p + r->headers_in.referer->value.len;

        p = ngx_strlcasestrn(p, last, (u_char *) "://", 3 - 1);

        if (p != NULL) {
            for (p += 3; p < last; p++) {
                if (*p == '/' || *p == '?' || *p == '#') {
                    break;
                }
            }

            origin.data = r->headers_in.referer->value.data;
            origin.len = p - origin.data;
        }
    }

    if (origin.data == NULL) {
        return NGX_OK;
    }

    allowed = lcf->origins->elts;

    for (i = 0; i < lcf->origins->nelts; i++) {
        if (allowed[i].len == origin.len
            && ngx_strncasecmp(allowed[i].data, origin.data, origin.len) == 0)
        {
            /* the configured spelling is what goes back */
            *allow = allowed[i];
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * The bot substrings as one automaton (Aho-Corasick), so that the
 * User-Agent is read once, a table lookup per byte, however many
 * substrings there are.  A byte maps to its class: 0 for a byte in no
 * substring, else one class per byte they use, a letter and its capital
 * sharing one (case is folded for ASCII letters only, as ngx_strncasecmp()
 * does).  A state is the longest end of the text read so far that starts
 * some substring; any step that completes a substring goes to a "found"
 * state that never leaves, so the loop has no test of its own.  A state
 * is kept multiplied by the number of classes: the start of its row.  The
 * tables are built with the configuration, in
 * ngx_http_clicktrack_filter_init().
 */

ngx_uint_t
ngx_http_clicktrack_filter_bot(ngx_http_request_t *r)
{
    u_char      *p, *last;
    ngx_uint_t   s;

    if (r->headers_in.user_agent == NULL) {
        return 0;
    }

    p = r->headers_in.user_agent->value.data;
    last = p + r->headers_in.user_agent->value.len;
    s = 0;

    while (p < last) {
        s = ngx_http_clicktrack_bot_next[s + ngx_http_clicktrack_bot_class[*p]];
        p++;
    }

    return s == ngx_http_clicktrack_bot_found;
}


ngx_int_t
ngx_http_clicktrack_filter_init(ngx_conf_t *cf)
{
    u_char       c, *b, found[NGX_HTTP_CLICKTRACK_BOT_MAX];
    uint16_t     fail[NGX_HTTP_CLICKTRACK_BOT_MAX];
    uint16_t     queue[NGX_HTTP_CLICKTRACK_BOT_MAX];
    uint16_t    *next, *row, *frow;
    ngx_str_t   *bot;
    ngx_uint_t   k, s, t, n, head, tail, classes;

    next = ngx_http_clicktrack_bot_next;

    ngx_memzero(ngx_http_clicktrack_bot_class,
                sizeof(ngx_http_clicktrack_bot_class));
    ngx_memzero(next, sizeof(ngx_http_clicktrack_bot_next));
    ngx_memzero(found, sizeof(found));

    /*
     * The classes, then the trie of the substrings (state numbers here;
     * state 0 is the root), with a last state left for "found".
     */

    classes = 1;
    n = 1;

    for (bot = ngx_http_clicktrack_bots; bot->len; bot++) {
        s = 0;

        if (n + bot->len >= NGX_HTTP_CLICKTRACK_BOT_MAX) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "clicktrack: the bot substrings need more "
                          "than %d states", NGX_HTTP_CLICKTRACK_BOT_MAX);
            return NGX_ERROR;
        }

        for (b = bot->data; b < bot->data + bot->len; b++) {
            c = *b;

            if (ngx_http_clicktrack_bot_class[c] == 0) {

                if (classes == NGX_HTTP_CLICKTRACK_BOT_CLASSES) {
                    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                                  "clicktrack: the bot substrings use "
                                  "more than %d bytes",
                                  NGX_HTTP_CLICKTRACK_BOT_CLASSES - 1);
                    return NGX_ERROR;
                }

                ngx_http_clicktrack_bot_class[c] = (u_char) classes;

                if (c >= 'a' && c <= 'z') {
                    ngx_http_clicktrack_bot_class[c - 'a' + 'A'] =
                                                             (u_char) classes;
                }

                classes++;
            }

            k = ngx_http_clicktrack_bot_class[c];
            t = next[s * NGX_HTTP_CLICKTRACK_BOT_CLASSES + k];

            if (t == 0) {
                t = n++;
                next[s * NGX_HTTP_CLICKTRACK_BOT_CLASSES + k] = (uint16_t) t;
            }

            s = t;
        }

        found[s] = 1;
    }

    /*
     * Breadth first, each state's missing steps are those of its failure
     * state (the longest proper end of it that is also a state), which
     * comes earlier; a state whose failure state completes a substring
     * completes one too.
     */

    head = 0;
    tail = 0;

    for (k = 1; k < classes; k++) {
        t = next[k];

        if (t) {
            fail[t] = 0;
            queue[tail++] = (uint16_t) t;
        }
    }

    while (head < tail) {
        s = queue[head++];
        row = &next[s * NGX_HTTP_CLICKTRACK_BOT_CLASSES];
        frow = &next[fail[s] * NGX_HTTP_CLICKTRACK_BOT_CLASSES];

        for (k = 1; k < classes; k++) {
            t = row[k];

            if (t == 0) {
                row[k] = frow[k];
                continue;
            }

            fail[t] = frow[k];
            found[t] |= found[fail[t]];
            queue[tail++] = (uint16_t) t;
        }
    }

    /*
     * State n is "found", for every step that completes a substring and
     * every step from it; then each state becomes the start of its row.
     */

    for (s = 0; s <= n; s++) {
        for (k = 0; k < NGX_HTTP_CLICKTRACK_BOT_CLASSES; k++) {
            t = next[s * NGX_HTTP_CLICKTRACK_BOT_CLASSES + k];

            if (s == n || found[t]) {
                t = n;
            }

            next[s * NGX_HTTP_CLICKTRACK_BOT_CLASSES + k] =
                             (uint16_t) (t * NGX_HTTP_CLICKTRACK_BOT_CLASSES);
        }
    }

    ngx_http_clicktrack_bot_found = n * NGX_HTTP_CLICKTRACK_BOT_CLASSES;

    return NGX_OK;
}


/* "DNT: 1" or "Sec-GPC: 1" */

ngx_uint_t
ngx_http_clicktrack_filter_no_track(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].value.len != 1 || h[i].value.data[0] != '1') {
            continue;
        }

        if ((h[i].key.len == 3
             && ngx_strncasecmp(h[i].key.data, (u_char *) "DNT", 3) == 0)
            || (h[i].key.len == 7
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Sec-GPC", 7)
                   == 0))
        {
            return 1;
        }
    }
}
