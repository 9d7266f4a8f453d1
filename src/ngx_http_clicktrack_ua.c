
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
 * The three names are then the first rule of each list whose bits are
 * all in the mask and whose excluded bits are not: the order of the
 * rules is the order of precedence (Edge, Opera, Samsung Internet and the
 * in-app browsers also say "Chrome/" or "Safari/"; a Windows Phone also
 * says "Android" and "iPhone").  The system is chosen first and adds a
 * bit of its own, which the browser and device rules ask for, so that the
 * three names never disagree (Safari only on Apple's systems or Windows,
 * a device type that fits the system).  Tokens are matched as sent, case
 * and all.  Every list ends with "Other": what no rule names is not
 * guessed.
 */


/* the facts a User-Agent may state: one bit each */

#define NGX_HTTP_CLICKTRACK_UA_FACEBOOK    (1ULL << 0)
#define NGX_HTTP_CLICKTRACK_UA_INSTAGRAM   (1ULL << 1)
#define NGX_HTTP_CLICKTRACK_UA_TIKTOK      (1ULL << 2)
#define NGX_HTTP_CLICKTRACK_UA_SNAPCHAT    (1ULL << 3)
#define NGX_HTTP_CLICKTRACK_UA_WECHAT      (1ULL << 4)
#define NGX_HTTP_CLICKTRACK_UA_LINKEDIN    (1ULL << 5)
#define NGX_HTTP_CLICKTRACK_UA_GSA         (1ULL << 6)
#define NGX_HTTP_CLICKTRACK_UA_EDGE        (1ULL << 7)
#define NGX_HTTP_CLICKTRACK_UA_OPERA       (1ULL << 8)
#define NGX_HTTP_CLICKTRACK_UA_OPERA_MINI  (1ULL << 9)
#define NGX_HTTP_CLICKTRACK_UA_SAMSUNG     (1ULL << 10)
#define NGX_HTTP_CLICKTRACK_UA_YANDEX      (1ULL << 11)
#define NGX_HTTP_CLICKTRACK_UA_VIVALDI     (1ULL << 12)
#define NGX_HTTP_CLICKTRACK_UA_UC          (1ULL << 13)
#define NGX_HTTP_CLICKTRACK_UA_SILK        (1ULL << 14)
#define NGX_HTTP_CLICKTRACK_UA_DDG         (1ULL << 15)
#define NGX_HTTP_CLICKTRACK_UA_MIUI        (1ULL << 16)
#define NGX_HTTP_CLICKTRACK_UA_HUAWEI      (1ULL << 17)
#define NGX_HTTP_CLICKTRACK_UA_FIREFOX     (1ULL << 18)
#define NGX_HTTP_CLICKTRACK_UA_CHROMIUM    (1ULL << 19)
#define NGX_HTTP_CLICKTRACK_UA_CHROME      (1ULL << 20)
#define NGX_HTTP_CLICKTRACK_UA_IE          (1ULL << 21)
#define NGX_HTTP_CLICKTRACK_UA_VERSION     (1ULL << 22)
#define NGX_HTTP_CLICKTRACK_UA_SAFARI      (1ULL << 23)
#define NGX_HTTP_CLICKTRACK_UA_WV          (1ULL << 24)
#define NGX_HTTP_CLICKTRACK_UA_WINPHONE    (1ULL << 25)
#define NGX_HTTP_CLICKTRACK_UA_WINDOWS     (1ULL << 26)
#define NGX_HTTP_CLICKTRACK_UA_KAIOS       (1ULL << 27)
#define NGX_HTTP_CLICKTRACK_UA_IPAD        (1ULL << 28)
#define NGX_HTTP_CLICKTRACK_UA_IPHONE      (1ULL << 29)
#define NGX_HTTP_CLICKTRACK_UA_CROS        (1ULL << 30)
#define NGX_HTTP_CLICKTRACK_UA_ANDROID     (1ULL << 31)
#define NGX_HTTP_CLICKTRACK_UA_MAC         (1ULL << 32)
#define NGX_HTTP_CLICKTRACK_UA_LINUX       (1ULL << 33)
#define NGX_HTTP_CLICKTRACK_UA_MOBILE      (1ULL << 34)
#define NGX_HTTP_CLICKTRACK_UA_TABLET      (1ULL << 35)

/* the system chosen, for the browser and device rules */

#define NGX_HTTP_CLICKTRACK_UA_OS_WINPHONE (1ULL << 40)
#define NGX_HTTP_CLICKTRACK_UA_OS_WINDOWS  (1ULL << 41)
#define NGX_HTTP_CLICKTRACK_UA_OS_KAIOS    (1ULL << 42)
#define NGX_HTTP_CLICKTRACK_UA_OS_IPADOS   (1ULL << 43)
#define NGX_HTTP_CLICKTRACK_UA_OS_IOS      (1ULL << 44)
#define NGX_HTTP_CLICKTRACK_UA_OS_CHROMEOS (1ULL << 45)
#define NGX_HTTP_CLICKTRACK_UA_OS_ANDROID  (1ULL << 46)
#define NGX_HTTP_CLICKTRACK_UA_OS_MACOS    (1ULL << 47)
#define NGX_HTTP_CLICKTRACK_UA_OS_LINUX    (1ULL << 48)


/* the automaton's size: states, byte classes (a power of two) */

#define NGX_HTTP_CLICKTRACK_UA_STATES      512
#define NGX_HTTP_CLICKTRACK_UA_SHIFT       6
#define NGX_HTTP_CLICKTRACK_UA_CLASSES     (1 << NGX_HTTP_CLICKTRACK_UA_SHIFT)


typedef struct {
    ngx_str_t    text;
    uint64_t     bit;
} ngx_http_clicktrack_ua_token_t;


typedef struct {
    uint64_t     all;       /* every one of these */
    uint64_t     none;      /* and none of these */
    uint64_t     set;       /* then a bit for the later lists */
    ngx_str_t    name;
} ngx_http_clicktrack_ua_rule_t;


#define ngx_http_clicktrack_ua_tok(s, b)                                      \
    { ngx_string(s), NGX_HTTP_CLICKTRACK_UA_##b }

#define ngx_http_clicktrack_ua_rule(a, n, s)                                  \
    { a, n, 0, ngx_string(s) }

#define ngx_http_clicktrack_ua_os(a, b, s)                                    \
    { a, 0, NGX_HTTP_CLICKTRACK_UA_OS_##b, ngx_string(s) }

#define UA(b)  NGX_HTTP_CLICKTRACK_UA_##b


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
    ngx_http_clicktrack_ua_tok("Chromium/", CHROMIUM),
    ngx_http_clicktrack_ua_tok("Chrome/", CHROME),
    ngx_http_clicktrack_ua_tok("CriOS/", CHROME),
    ngx_http_clicktrack_ua_tok("MSIE ", IE),
    ngx_http_clicktrack_ua_tok("Trident/", IE),
    ngx_http_clicktrack_ua_tok("IEMobile", IE),
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


static ngx_http_clicktrack_ua_rule_t  ngx_http_clicktrack_ua_browsers[] = {
    ngx_http_clicktrack_ua_rule(UA(FACEBOOK), 0, "Facebook"),
    ngx_http_clicktrack_ua_rule(UA(INSTAGRAM), 0, "Instagram"),
    ngx_http_clicktrack_ua_rule(UA(TIKTOK), 0, "TikTok"),
    ngx_http_clicktrack_ua_rule(UA(SNAPCHAT), 0, "Snapchat"),
    ngx_http_clicktrack_ua_rule(UA(WECHAT), 0, "WeChat"),
    ngx_http_clicktrack_ua_rule(UA(LINKEDIN), 0, "LinkedIn"),
    ngx_http_clicktrack_ua_rule(UA(GSA), 0, "Google App"),
    ngx_http_clicktrack_ua_rule(UA(EDGE), 0, "Edge"),
    ngx_http_clicktrack_ua_rule(UA(OPERA), 0, "Opera"),
    ngx_http_clicktrack_ua_rule(UA(SAMSUNG), 0, "Samsung Internet"),
    ngx_http_clicktrack_ua_rule(UA(YANDEX), 0, "Yandex Browser"),
    ngx_http_clicktrack_ua_rule(UA(VIVALDI), 0, "Vivaldi"),
    ngx_http_clicktrack_ua_rule(UA(UC), 0, "UC Browser"),
    ngx_http_clicktrack_ua_rule(UA(SILK), 0, "Silk"),
    ngx_http_clicktrack_ua_rule(UA(DDG), 0, "DuckDuckGo"),
    ngx_http_clicktrack_ua_rule(UA(MIUI), 0, "Mi Browser"),
    ngx_http_clicktrack_ua_rule(UA(HUAWEI), 0, "Huawei Browser"),
    ngx_http_clicktrack_ua_rule(UA(FIREFOX), 0, "Firefox"),
    ngx_http_clicktrack_ua_rule(UA(IE), 0, "Internet Explorer"),
    ngx_http_clicktrack_ua_rule(UA(OS_ANDROID) | UA(WV), 0, "Android WebView"),
    ngx_http_clicktrack_ua_rule(UA(OS_ANDROID) | UA(VERSION) | UA(CHROME), 0,
                                "Android WebView"),
    ngx_http_clicktrack_ua_rule(UA(CHROMIUM), 0, "Chromium"),
    ngx_http_clicktrack_ua_rule(UA(CHROME), 0, "Chrome"),
    ngx_http_clicktrack_ua_rule(UA(SAFARI) | UA(VERSION) | UA(OS_IOS), 0,
                                "Safari"),
    ngx_http_clicktrack_ua_rule(UA(SAFARI) | UA(VERSION) | UA(OS_IPADOS), 0,
                                "Safari"),
    ngx_http_clicktrack_ua_rule(UA(SAFARI) | UA(VERSION) | UA(OS_MACOS), 0,
                                "Safari"),
    ngx_http_clicktrack_ua_rule(UA(SAFARI) | UA(VERSION) | UA(OS_WINDOWS), 0,
                                "Safari"),
    ngx_http_clicktrack_ua_rule(UA(OS_ANDROID) | UA(VERSION), 0,
                                "Android Browser"),
    ngx_http_clicktrack_ua_rule(0, 0, "Other")
};


static ngx_http_clicktrack_ua_rule_t  ngx_http_clicktrack_ua_systems[] = {
    ngx_http_clicktrack_ua_os(UA(WINPHONE), WINPHONE, "Windows Phone"),
    ngx_http_clicktrack_ua_os(UA(WINDOWS), WINDOWS, "Windows"),
    ngx_http_clicktrack_ua_os(UA(KAIOS), KAIOS, "KaiOS"),
    ngx_http_clicktrack_ua_os(UA(IPAD), IPADOS, "iPadOS"),
    ngx_http_clicktrack_ua_os(UA(IPHONE), IOS, "iOS"),
    ngx_http_clicktrack_ua_os(UA(CROS), CHROMEOS, "ChromeOS"),
    ngx_http_clicktrack_ua_os(UA(ANDROID), ANDROID, "Android"),
    ngx_http_clicktrack_ua_os(UA(MAC), MACOS, "macOS"),
    ngx_http_clicktrack_ua_os(UA(LINUX), LINUX, "Linux"),
    ngx_http_clicktrack_ua_rule(0, 0, "Other")
};


static ngx_http_clicktrack_ua_rule_t  ngx_http_clicktrack_ua_devices[] = {
    ngx_http_clicktrack_ua_rule(UA(OS_WINPHONE), 0, "mobile"),
    ngx_http_clicktrack_ua_rule(UA(OS_WINDOWS), 0, "desktop"),
    ngx_http_clicktrack_ua_rule(UA(OS_KAIOS), 0, "mobile"),
    ngx_http_clicktrack_ua_rule(UA(OS_IPADOS), 0, "tablet"),
    ngx_http_clicktrack_ua_rule(UA(OS_IOS), 0, "mobile"),
    ngx_http_clicktrack_ua_rule(UA(OS_CHROMEOS), 0, "desktop"),
    ngx_http_clicktrack_ua_rule(UA(OS_MACOS), 0, "desktop"),
    ngx_http_clicktrack_ua_rule(UA(OS_ANDROID) | UA(TABLET), 0, "tablet"),
    ngx_http_clicktrack_ua_rule(UA(OS_ANDROID) | UA(MOBILE), 0, "mobile"),
    ngx_http_clicktrack_ua_rule(UA(OS_ANDROID) | UA(OPERA_MINI), 0, "mobile"),
    ngx_http_clicktrack_ua_rule(UA(OS_ANDROID), 0, "tablet"),
    ngx_http_clicktrack_ua_rule(UA(TABLET), 0, "tablet"),
    ngx_http_clicktrack_ua_rule(UA(MOBILE), 0, "mobile"),
    ngx_http_clicktrack_ua_rule(UA(OPERA_MINI), 0, "mobile"),
    ngx_http_clicktrack_ua_rule(UA(OS_LINUX), 0, "desktop"),
    ngx_http_clicktrack_ua_rule(0, 0, "Other")
};

#undef UA


/*
 * The automaton, built in ngx_http_clicktrack_ua_init(): a byte's class
 * (0 for a byte in no token), the next state by state and class, and
 * the bits of the tokens that end in each state.
 */

static u_char      ngx_http_clicktrack_ua_class[256];
static uint16_t    ngx_http_clicktrack_ua_next[NGX_HTTP_CLICKTRACK_UA_STATES
                                              << NGX_HTTP_CLICKTRACK_UA_SHIFT];
static uint64_t    ngx_http_clicktrack_ua_out[NGX_HTTP_CLICKTRACK_UA_STATES];


static ngx_http_clicktrack_ua_rule_t *ngx_http_clicktrack_ua_first(
    ngx_http_clicktrack_ua_rule_t *rule, uint64_t seen);


void
ngx_http_clicktrack_ua_classify(ngx_str_t *ua, ngx_http_clicktrack_ua_t *res)
{
    u_char                         *p;
    size_t                          i;
    uint64_t                        seen;
    ngx_uint_t                      s;
    ngx_http_clicktrack_ua_rule_t  *rule;

    /* by index: an empty value's data may be NULL */

    p = ua->data;
    s = 0;
    seen = 0;

    for (i = 0; i < ua->len; i++) {
        s = ngx_http_clicktrack_ua_next[(s << NGX_HTTP_CLICKTRACK_UA_SHIFT)
                                        + ngx_http_clicktrack_ua_class[p[i]]];
        seen |= ngx_http_clicktrack_ua_out[s];
    }

    /* the system first: the other two lists ask which one it is */

    rule = ngx_http_clicktrack_ua_first(ngx_http_clicktrack_ua_systems, seen);
    res->os = &rule->name;
    seen |= rule->set;

    rule = ngx_http_clicktrack_ua_first(ngx_http_clicktrack_ua_browsers, seen);
    res->browser = &rule->name;

    rule = ngx_http_clicktrack_ua_first(ngx_http_clicktrack_ua_devices, seen);
    res->device = &rule->name;
}


/* the first rule that holds; the last one always does */

static ngx_http_clicktrack_ua_rule_t *
ngx_http_clicktrack_ua_first(ngx_http_clicktrack_ua_rule_t *rule,
    uint64_t seen)
{
    while ((seen & rule->all) != rule->all || (seen & rule->none)) {
        rule++;
    }

    return rule;
}


ngx_int_t
ngx_http_clicktrack_ua_init(ngx_log_t *log)
{
    u_char                          c, *b;
    uint16_t                        fail[NGX_HTTP_CLICKTRACK_UA_STATES];
    uint16_t                        queue[NGX_HTTP_CLICKTRACK_UA_STATES];
    uint16_t                       *next, *row, *frow;
    uint64_t                       *out;
    ngx_uint_t                      k, s, t, n, head, tail, classes;
    ngx_http_clicktrack_ua_token_t *tok;

    next = ngx_http_clicktrack_ua_next;
    out = ngx_http_clicktrack_ua_out;

    ngx_memzero(ngx_http_clicktrack_ua_class,
                sizeof(ngx_http_clicktrack_ua_class));
    ngx_memzero(next, sizeof(ngx_http_clicktrack_ua_next));
    ngx_memzero(out, sizeof(ngx_http_clicktrack_ua_out));

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

    return NGX_OK;
}
