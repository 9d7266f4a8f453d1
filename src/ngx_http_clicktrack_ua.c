
/*
 * Copyright (C) clicktrack authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_clicktrack_ua.h"


/*
 * The User-Agent is read once, through one automaton (Aho-Corasick, as
 * the bot filter's) of the tokens below: a table lookup per byte, and the
 * bits of the tokens that end at each step are gathered into one mask.
 * Then each list of docs/stats.md is a first match, in this order:
 *
 *   the system: the lowest of its bits, which are numbered in the order
 *   of precedence (a Windows Phone also says "Android" and "iPhone", an
 *   iPhone "Mac OS X", Android "Linux");
 *
 *   the browser: the lowest of the bits of the browsers that name
 *   themselves, in the order of precedence (the in-app browsers, Edge,
 *   Opera, Samsung Internet and the others also say "Chrome/" and
 *   "Safari/"), else the web views, Chromium, Chrome, Safari (only on
 *   the systems it runs on) and the Android Browser, in that order;
 *
 *   the device: by the system, and for Android, Linux or none by the
 *   words "Tablet" and "Mobile".
 *
 * Tokens are matched as sent, case and all.  What no rule names is
 * "Other": nothing is guessed.
 */


/* the browsers that name themselves, by precedence: bits 0 to 18 */

#define NGX_HTTP_CLICKTRACK_UA_FACEBOOK    (1ULL << 0)
#define NGX_HTTP_CLICKTRACK_UA_INSTAGRAM   (1ULL << 1)
#define NGX_HTTP_CLICKTRACK_UA_TIKTOK      (1ULL << 2)
#define NGX_HTTP_CLICKTRACK_UA_SNAPCHAT    (1ULL << 3)
#define NGX_HTTP_CLICKTRACK_UA_WECHAT      (1ULL << 4)
#define NGX_HTTP_CLICKTRACK_UA_LINKEDIN    (1ULL << 5)
#define NGX_HTTP_CLICKTRACK_UA_GSA         (1ULL << 6)
#define NGX_HTTP_CLICKTRACK_UA_EDGE        (1ULL << 7)
#define NGX_HTTP_CLICKTRACK_UA_OPERA       (1ULL << 8)
#define NGX_HTTP_CLICKTRACK_UA_SAMSUNG     (1ULL << 9)
#define NGX_HTTP_CLICKTRACK_UA_YANDEX      (1ULL << 10)
#define NGX_HTTP_CLICKTRACK_UA_VIVALDI     (1ULL << 11)
#define NGX_HTTP_CLICKTRACK_UA_UC          (1ULL << 12)
#define NGX_HTTP_CLICKTRACK_UA_SILK        (1ULL << 13)
#define NGX_HTTP_CLICKTRACK_UA_DDG         (1ULL << 14)
#define NGX_HTTP_CLICKTRACK_UA_MIUI        (1ULL << 15)
#define NGX_HTTP_CLICKTRACK_UA_HUAWEI      (1ULL << 16)
#define NGX_HTTP_CLICKTRACK_UA_FIREFOX     (1ULL << 17)
#define NGX_HTTP_CLICKTRACK_UA_IE          (1ULL << 18)
#define NGX_HTTP_CLICKTRACK_UA_NAMED       ((1ULL << 19) - 1)

/* what the other browser rules ask for */

#define NGX_HTTP_CLICKTRACK_UA_CHROMIUM    (1ULL << 19)
#define NGX_HTTP_CLICKTRACK_UA_CHROME      (1ULL << 20)
#define NGX_HTTP_CLICKTRACK_UA_VERSION     (1ULL << 21)
#define NGX_HTTP_CLICKTRACK_UA_SAFARI      (1ULL << 22)
#define NGX_HTTP_CLICKTRACK_UA_WV          (1ULL << 23)

/* the systems, by precedence: bits 24 to 32 */

#define NGX_HTTP_CLICKTRACK_UA_OS_FIRST    24
#define NGX_HTTP_CLICKTRACK_UA_WINPHONE    (1ULL << 24)
#define NGX_HTTP_CLICKTRACK_UA_WINDOWS     (1ULL << 25)
#define NGX_HTTP_CLICKTRACK_UA_KAIOS       (1ULL << 26)
#define NGX_HTTP_CLICKTRACK_UA_IPAD        (1ULL << 27)
#define NGX_HTTP_CLICKTRACK_UA_IPHONE      (1ULL << 28)
#define NGX_HTTP_CLICKTRACK_UA_CROS        (1ULL << 29)
#define NGX_HTTP_CLICKTRACK_UA_ANDROID     (1ULL << 30)
#define NGX_HTTP_CLICKTRACK_UA_MAC         (1ULL << 31)
#define NGX_HTTP_CLICKTRACK_UA_LINUX       (1ULL << 32)
#define NGX_HTTP_CLICKTRACK_UA_SYSTEMS     (((1ULL << 33) - 1)                \
                                            & ~((1ULL << 24) - 1))

/* the device words */

#define NGX_HTTP_CLICKTRACK_UA_MOBILE      (1ULL << 33)
#define NGX_HTTP_CLICKTRACK_UA_TABLET      (1ULL << 34)
#define NGX_HTTP_CLICKTRACK_UA_OPERA_MINI  (1ULL << 35)


/*
 * The automaton's size: states, and a row's entries (a power of two):
 * the byte classes, then the 8 bytes of the state's token bits.
 */

#define NGX_HTTP_CLICKTRACK_UA_STATES      512
#define NGX_HTTP_CLICKTRACK_UA_SHIFT       6
#define NGX_HTTP_CLICKTRACK_UA_ROW         (1 << NGX_HTTP_CLICKTRACK_UA_SHIFT)
#define NGX_HTTP_CLICKTRACK_UA_CLASSES     (NGX_HTTP_CLICKTRACK_UA_ROW - 4)


/* the systems, by their bit from NGX_HTTP_CLICKTRACK_UA_OS_FIRST */

typedef enum {
    NGX_HTTP_CLICKTRACK_UA_OS_WINPHONE = 0,
    NGX_HTTP_CLICKTRACK_UA_OS_WINDOWS,
    NGX_HTTP_CLICKTRACK_UA_OS_KAIOS,
    NGX_HTTP_CLICKTRACK_UA_OS_IPADOS,
    NGX_HTTP_CLICKTRACK_UA_OS_IOS,
    NGX_HTTP_CLICKTRACK_UA_OS_CHROMEOS,
    NGX_HTTP_CLICKTRACK_UA_OS_ANDROID,
    NGX_HTTP_CLICKTRACK_UA_OS_MACOS,
    NGX_HTTP_CLICKTRACK_UA_OS_LINUX,
    NGX_HTTP_CLICKTRACK_UA_OS_OTHER
} ngx_http_clicktrack_ua_os_e;


typedef struct {
    ngx_str_t    text;
    uint64_t     bit;
} ngx_http_clicktrack_ua_token_t;


#define ngx_http_clicktrack_ua_tok(s, b)                                      \
    { ngx_string(s), NGX_HTTP_CLICKTRACK_UA_##b }


static ngx_http_clicktrack_ua_token_t  ngx_http_clicktrack_ua_tokens[] = {
    ngx_http_clicktrack_ua_tok("FBAN/", FACEBOOK),
    ngx_http_clicktrack_ua_tok("FBAV/", FACEBOOK),
    ngx_http_clicktrack_ua_tok("FB_IAB/", FACEBOOK),
    ngx_http_clicktrack_ua_tok("Instagram", INSTAGRAM),
    ngx_http_clicktrack_ua_tok("musical_ly", TIKTOK),
    ngx_http_clicktrack_ua_tok("Snapchat", SNAPCHAT),
    ngx_http_clicktrack_ua_tok("MicroMessenger/", WECHAT),
    ngx_http_clicktrack_ua_tok("LinkedInApp", LINKEDIN),
    ngx_http_clicktrack_ua_tok(" GSA/", GSA),
    ngx_http_clicktrack_ua_tok("Edg/", EDGE),
    ngx_http_clicktrack_ua_tok("EdgA/", EDGE),
    ngx_http_clicktrack_ua_tok("EdgiOS/", EDGE),
    ngx_http_clicktrack_ua_tok("Edge/", EDGE),
    ngx_http_clicktrack_ua_tok("OPR/", OPERA),
    ngx_http_clicktrack_ua_tok("OPT/", OPERA),
    ngx_http_clicktrack_ua_tok("OPiOS/", OPERA),
    ngx_http_clicktrack_ua_tok("Opera", OPERA),
    ngx_http_clicktrack_ua_tok("Opera Mini", OPERA_MINI),
    ngx_http_clicktrack_ua_tok("SamsungBrowser/", SAMSUNG),
    ngx_http_clicktrack_ua_tok("YaBrowser/", YANDEX),
    ngx_http_clicktrack_ua_tok("Vivaldi/", VIVALDI),
    ngx_http_clicktrack_ua_tok("UCBrowser/", UC),
    ngx_http_clicktrack_ua_tok("Silk/", SILK),
    ngx_http_clicktrack_ua_tok("DuckDuckGo/", DDG),
    ngx_http_clicktrack_ua_tok("MiuiBrowser/", MIUI),
    ngx_http_clicktrack_ua_tok("HuaweiBrowser/", HUAWEI),
    ngx_http_clicktrack_ua_tok("Firefox/", FIREFOX),
    ngx_http_clicktrack_ua_tok("FxiOS/", FIREFOX),
    ngx_http_clicktrack_ua_tok("MSIE ", IE),
    ngx_http_clicktrack_ua_tok("Trident/", IE),
    ngx_http_clicktrack_ua_tok("IEMobile", IE),
    ngx_http_clicktrack_ua_tok("Chromium/", CHROMIUM),
    ngx_http_clicktrack_ua_tok("Chrome/", CHROME),
    ngx_http_clicktrack_ua_tok("CriOS/", CHROME),
    ngx_http_clicktrack_ua_tok("Version/", VERSION),
    ngx_http_clicktrack_ua_tok("Safari/", SAFARI),
    ngx_http_clicktrack_ua_tok("; wv)", WV),
    ngx_http_clicktrack_ua_tok("Windows Phone", WINPHONE),
    ngx_http_clicktrack_ua_tok("Windows", WINDOWS),
    ngx_http_clicktrack_ua_tok("KaiOS", KAIOS),
    ngx_http_clicktrack_ua_tok("KAIOS", KAIOS),
    ngx_http_clicktrack_ua_tok("iPad", IPAD),
    ngx_http_clicktrack_ua_tok("iPhone", IPHONE),
    ngx_http_clicktrack_ua_tok("iPod", IPHONE),
    ngx_http_clicktrack_ua_tok("CrOS", CROS),
    ngx_http_clicktrack_ua_tok("Android", ANDROID),
    ngx_http_clicktrack_ua_tok("Macintosh", MAC),
    ngx_http_clicktrack_ua_tok("Linux", LINUX),
    ngx_http_clicktrack_ua_tok("Mobile", MOBILE),
    ngx_http_clicktrack_ua_tok("Tablet", TABLET),
    { ngx_null_string, 0 }
};


/* by bit: the browsers that name themselves */

static ngx_str_t  ngx_http_clicktrack_ua_named[] = {
    ngx_string("Facebook"),
    ngx_string("Instagram"),
    ngx_string("TikTok"),
    ngx_string("Snapchat"),
    ngx_string("WeChat"),
    ngx_string("LinkedIn"),
    ngx_string("Google App"),
    ngx_string("Edge"),
    ngx_string("Opera"),
    ngx_string("Samsung Internet"),
    ngx_string("Yandex Browser"),
    ngx_string("Vivaldi"),
    ngx_string("UC Browser"),
    ngx_string("Silk"),
    ngx_string("DuckDuckGo"),
    ngx_string("Mi Browser"),
    ngx_string("Huawei Browser"),
    ngx_string("Firefox"),
    ngx_string("Internet Explorer")
};

/* by ngx_http_clicktrack_ua_os_e */

static ngx_str_t  ngx_http_clicktrack_ua_systems[] = {
    ngx_string("Windows Phone"),
    ngx_string("Windows"),
    ngx_string("KaiOS"),
    ngx_string("iPadOS"),
    ngx_string("iOS"),
    ngx_string("ChromeOS"),
    ngx_string("Android"),
    ngx_string("macOS"),
    ngx_string("Linux"),
    ngx_string("Other")
};

static ngx_str_t  ngx_http_clicktrack_ua_webview =
                      ngx_string("Android WebView");
static ngx_str_t  ngx_http_clicktrack_ua_chromium = ngx_string("Chromium");
static ngx_str_t  ngx_http_clicktrack_ua_chrome = ngx_string("Chrome");
static ngx_str_t  ngx_http_clicktrack_ua_safari = ngx_string("Safari");
static ngx_str_t  ngx_http_clicktrack_ua_android =
                      ngx_string("Android Browser");
static ngx_str_t  ngx_http_clicktrack_ua_other = ngx_string("Other");

static ngx_str_t  ngx_http_clicktrack_ua_desktop = ngx_string("desktop");
static ngx_str_t  ngx_http_clicktrack_ua_mobile = ngx_string("mobile");
static ngx_str_t  ngx_http_clicktrack_ua_tablet = ngx_string("tablet");


/*
 * The automaton, built in ngx_http_clicktrack_ua_init(): a byte's class
 * (0 for a byte in no token), and a row per state: the next state by
 * class, then the bits of the tokens that end in the state.  A state is
 * kept as the start of its row, so that a step is two loads and an OR.
 */

static u_char      ngx_http_clicktrack_ua_class[256];
static uint16_t    ngx_http_clicktrack_ua_next[NGX_HTTP_CLICKTRACK_UA_STATES
                                              << NGX_HTTP_CLICKTRACK_UA_SHIFT];


#define ngx_http_clicktrack_ua_step(c)                                        \
    s = ngx_http_clicktrack_ua_next[s + ngx_http_clicktrack_ua_class[c]];    \
    ngx_memcpy(&o, &ngx_http_clicktrack_ua_next[s                             \
                                          + NGX_HTTP_CLICKTRACK_UA_CLASSES],  \
               sizeof(uint64_t));                                             \
    seen |= o


void
ngx_http_clicktrack_ua_classify(ngx_str_t *ua, ngx_http_clicktrack_ua_t *res)
{
    u_char      *p;
    size_t       i, n;
    uint64_t     seen, m, o, mobile;
    ngx_uint_t   s, os;

    /* by index, two bytes a turn: an empty value's data may be NULL */

    p = ua->data;
    n = ua->len;
    s = 0;
    seen = 0;

    for (i = 0; i + 1 < n; i += 2) {
        ngx_http_clicktrack_ua_step(p[i]);
        ngx_http_clicktrack_ua_step(p[i + 1]);
    }

    if (i < n) {
        ngx_http_clicktrack_ua_step(p[i]);
    }

    m = seen & NGX_HTTP_CLICKTRACK_UA_SYSTEMS;
    os = m ? (ngx_uint_t) __builtin_ctzll(m) - NGX_HTTP_CLICKTRACK_UA_OS_FIRST
           : NGX_HTTP_CLICKTRACK_UA_OS_OTHER;

    res->os = &ngx_http_clicktrack_ua_systems[os];

    /* the browser */

    m = seen & NGX_HTTP_CLICKTRACK_UA_NAMED;

    if (m) {
        res->browser = &ngx_http_clicktrack_ua_named[__builtin_ctzll(m)];

    } else if (os == NGX_HTTP_CLICKTRACK_UA_OS_ANDROID
               && ((seen & NGX_HTTP_CLICKTRACK_UA_WV)
                   || (seen & (NGX_HTTP_CLICKTRACK_UA_VERSION
                               | NGX_HTTP_CLICKTRACK_UA_CHROME))
                      == (NGX_HTTP_CLICKTRACK_UA_VERSION
                          | NGX_HTTP_CLICKTRACK_UA_CHROME)))
    {
        res->browser = &ngx_http_clicktrack_ua_webview;

    } else if (seen & NGX_HTTP_CLICKTRACK_UA_CHROMIUM) {
        res->browser = &ngx_http_clicktrack_ua_chromium;

    } else if (seen & NGX_HTTP_CLICKTRACK_UA_CHROME) {
        res->browser = &ngx_http_clicktrack_ua_chrome;

    } else if ((seen & (NGX_HTTP_CLICKTRACK_UA_SAFARI
                        | NGX_HTTP_CLICKTRACK_UA_VERSION))
               == (NGX_HTTP_CLICKTRACK_UA_SAFARI
                   | NGX_HTTP_CLICKTRACK_UA_VERSION)
               && (os == NGX_HTTP_CLICKTRACK_UA_OS_IOS
                   || os == NGX_HTTP_CLICKTRACK_UA_OS_IPADOS
                   || os == NGX_HTTP_CLICKTRACK_UA_OS_MACOS
                   || os == NGX_HTTP_CLICKTRACK_UA_OS_WINDOWS))
    {
        res->browser = &ngx_http_clicktrack_ua_safari;

    } else if (os == NGX_HTTP_CLICKTRACK_UA_OS_ANDROID
               && (seen & NGX_HTTP_CLICKTRACK_UA_VERSION))
    {
        res->browser = &ngx_http_clicktrack_ua_android;

    } else {
        res->browser = &ngx_http_clicktrack_ua_other;
    }

    /* the device */

    switch (os) {

    case NGX_HTTP_CLICKTRACK_UA_OS_WINDOWS:
    case NGX_HTTP_CLICKTRACK_UA_OS_CHROMEOS:
    case NGX_HTTP_CLICKTRACK_UA_OS_MACOS:
        res->device = &ngx_http_clicktrack_ua_desktop;
        return;

    case NGX_HTTP_CLICKTRACK_UA_OS_WINPHONE:
    case NGX_HTTP_CLICKTRACK_UA_OS_KAIOS:
    case NGX_HTTP_CLICKTRACK_UA_OS_IOS:
        res->device = &ngx_http_clicktrack_ua_mobile;
        return;

    case NGX_HTTP_CLICKTRACK_UA_OS_IPADOS:
        res->device = &ngx_http_clicktrack_ua_tablet;
        return;

    default:
        break;
    }

    /* Android, Linux, none: the words; then Android without them */

    mobile = seen & (NGX_HTTP_CLICKTRACK_UA_MOBILE
                     | NGX_HTTP_CLICKTRACK_UA_OPERA_MINI);

    if ((seen & NGX_HTTP_CLICKTRACK_UA_TABLET)
        || (!mobile && os == NGX_HTTP_CLICKTRACK_UA_OS_ANDROID))
    {
        res->device = &ngx_http_clicktrack_ua_tablet;

    } else if (mobile) {
        res->device = &ngx_http_clicktrack_ua_mobile;

    } else if (os == NGX_HTTP_CLICKTRACK_UA_OS_LINUX) {
        res->device = &ngx_http_clicktrack_ua_desktop;

    } else {
        res->device = &ngx_http_clicktrack_ua_other;
    }
}


ngx_int_t
ngx_http_clicktrack_ua_init(ngx_log_t *log)
{
    u_char                          c, *b;
    uint16_t                        fail[NGX_HTTP_CLICKTRACK_UA_STATES];
    uint16_t                        queue[NGX_HTTP_CLICKTRACK_UA_STATES];
    uint16_t                       *next, *row, *frow;
    uint64_t                        out[NGX_HTTP_CLICKTRACK_UA_STATES];
    ngx_uint_t                      k, s, t, n, head, tail, classes;
    ngx_http_clicktrack_ua_token_t *tok;

    next = ngx_http_clicktrack_ua_next;

    ngx_memzero(ngx_http_clicktrack_ua_class,
                sizeof(ngx_http_clicktrack_ua_class));
    ngx_memzero(next, sizeof(ngx_http_clicktrack_ua_next));
    ngx_memzero(out, sizeof(out));

    /* the classes, then the trie of the tokens; state 0 is the root */

    classes = 1;
    n = 1;

    for (tok = ngx_http_clicktrack_ua_tokens; tok->text.len; tok++) {
        s = 0;

        if (n + tok->text.len > NGX_HTTP_CLICKTRACK_UA_STATES) {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "clicktrack: the User-Agent tokens need more "
                          "than %d states", NGX_HTTP_CLICKTRACK_UA_STATES);
            return NGX_ERROR;
        }

        for (b = tok->text.data; b < tok->text.data + tok->text.len; b++) {
            c = *b;

            if (ngx_http_clicktrack_ua_class[c] == 0) {

                if (classes == NGX_HTTP_CLICKTRACK_UA_CLASSES) {
                    ngx_log_error(NGX_LOG_EMERG, log, 0,
                                  "clicktrack: the User-Agent tokens use "
                                  "more than %d bytes",
                                  NGX_HTTP_CLICKTRACK_UA_CLASSES - 1);
                    return NGX_ERROR;
                }

                ngx_http_clicktrack_ua_class[c] = (u_char) classes++;
            }

            k = (s << NGX_HTTP_CLICKTRACK_UA_SHIFT)
                + ngx_http_clicktrack_ua_class[c];

            if (next[k] == 0) {
                next[k] = (uint16_t) n++;
            }

            s = next[k];
        }

        out[s] |= tok->bit;
    }

    /*
     * Breadth first, each state's missing steps are those of its failure
     * state (the longest proper end of it that is also a state), which
     * comes earlier; a state ends the tokens its failure state ends too.
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
        row = &next[s << NGX_HTTP_CLICKTRACK_UA_SHIFT];
        frow = &next[fail[s] << NGX_HTTP_CLICKTRACK_UA_SHIFT];

        for (k = 1; k < classes; k++) {
            t = row[k];

            if (t == 0) {
                row[k] = frow[k];
                continue;
            }

            fail[t] = frow[k];
            out[t] |= out[fail[t]];
            queue[tail++] = (uint16_t) t;
        }
    }

    /* each state becomes the start of its row, its bits at the row's end */

    for (s = 0; s < n; s++) {
        row = &next[s << NGX_HTTP_CLICKTRACK_UA_SHIFT];

        for (k = 0; k < classes; k++) {
            row[k] = (uint16_t) (row[k] << NGX_HTTP_CLICKTRACK_UA_SHIFT);
        }

        ngx_memcpy(&row[NGX_HTTP_CLICKTRACK_UA_CLASSES], &out[s],
                   sizeof(uint64_t));
    }

    return NGX_OK;
}
