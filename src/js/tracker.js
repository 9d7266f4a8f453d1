// clicktrack tracker, served by "clicktrack_js BEACON_URI" (docs/tracker.md).
// The module strips the comment lines and the indentation when it embeds
// this file (util/embed.pl --js) and puts the location's BEACON_URI in
// place of the mark below.  Everything runs inside try/catch: whatever
// the collector does, the page works as it would without this script.
(function (w, d) {
    var api = w.clicktrack, nav = w.navigator, loc = w.location;
    var path = '@BEACON_URI@', idle = 18e5, last, since, deep, user;
    var files = /\.(pdf|zip|t?gz|xz|7z|rar|dmg|exe|msi|pkg|deb|rpm|csv|xlsx?|docx?|pptx?|mp3|mp4)$/i;

    if (api && api.loaded) {
        return;
    }

    // the collector is the origin this script came from
    var me = d.currentScript, all = d.getElementsByTagName('script');
    me = me || all[all.length - 1] || {};
    // data-storage="none": nothing kept in storage, no visitor or session
    var none = (me.dataset || {}).storage == 'none';
    me = me.src || '';
    var url = (me.match(/^[a-z][\w+.-]*:\/\/[^\/?#]+/i) || [''])[0] + path;

    // a value read (no v), written, or removed (v null)
    function store(s, k, v) {
        try {
            s = none ? 0 : w[s];
            if (v === undefined) {
                return s.getItem(k);
            }
            v === null ? s.removeItem(k) : s.setItem(k, v);
        } catch (e) {
        }
    }

    function uuid() {
        var c = w.crypto;
        if (c && c.randomUUID) {
            return c.randomUUID();
        }
        return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g,
            function (x) {
                var r = Math.random() * 16 | 0;
                return (x == 'x' ? r : r & 3 | 8).toString(16);
            });
    }

    // the visitor stays, the session is new after 30 idle minutes
    function ids(e) {
        var now = e.ts, v = store('localStorage', 'ct_v') || uuid(),
            s = store('sessionStorage', 'ct_s'),
            t = +store('sessionStorage', 'ct_t');
        if (!s || !(now - t < idle)) {
            s = uuid();
        }
        store('localStorage', 'ct_v', v);
        store('sessionStorage', 'ct_s', s);
        store('sessionStorage', 'ct_t', '' + now);
        e.v = v;
        e.s = s;
    }

    function event(type, o) {
        var e = {t: type, ts: Date.now(), u: o.url || loc.href};
        none || ids(e);
        if (user) e.i = user;
        if (o.referrer) e.r = o.referrer;
        if (o.label != null) e.l = '' + o.label;
        if (o.category != null) e.c = '' + o.category;
        if (o.props) e.p = o.props;
        return e;
    }

    // sendBeacon, else fetch with keepalive, else an image
    function send(e) {
        var body = JSON.stringify(e), q = [], k, p;
        try {
            if (nav.sendBeacon && nav.sendBeacon(url, body)) {
                return;
            }
        } catch (e) {
        }
        try {
            if (w.fetch) {
                w.fetch(url, {method: 'POST', body: body, keepalive: true,
                              mode: 'no-cors', credentials: 'include'})
                    ['catch'](function () {});
                return;
            }
        } catch (e) {
        }
        for (k in e) {
            if (k == 'p') {
                for (p in e.p) {
                    q.push('p.' + encodeURIComponent(p) + '='
                           + encodeURIComponent(e.p[p]));
                }
            } else {
                q.push(k + '=' + encodeURIComponent(e[k]));
            }
        }
        new Image().src = url + '?' + q.join('&');
    }

    // identify keeps the user for every later event, null forgets it
    function call(type, o) {
        if (type == 'identify') {
            user = o && o.user ? '' + o.user : null;
            store('localStorage', 'ct_i', user);
            if (!user) {
                return;
            }
        }
        return event(type || 'event', o || {});
    }

    function track(type, o) {
        try {
            var e = call(type, o);
            if (e) {
                send(e);
            }
        } catch (x) {
        }
    }

    // the deepest scroll of the current page, percent of its height
    function depth() {
        var h = d.documentElement.scrollHeight;
        deep = Math.max(deep, Math.min(100, Math.round(
            (w.scrollY + w.innerHeight) * 100 / h)) || 0);
    }

    // the end of a visible stretch: the milliseconds since the pageview
    // or since the page was shown again, once
    function engage() {
        if (since) {
            track('engage', {url: last, props: {time: Date.now() - since,
                                                scroll: deep}});
            since = 0;
        }
    }

    // hidden or left: an engage; shown again: the time counts anew
    function shown(e) {
        if (e.type == 'pagehide' || d.visibilityState == 'hidden') {
            depth();
            engage();
        } else {
            since = since || Date.now();
        }
    }

    // one pageview per URL in a row; an SPA's referrer is the last URL,
    // and its change ends the last page's engagement first
    function pageview() {
        var u = loc.href;
        if (u != last) {
            depth();
            engage();
            track('pageview', {url: u, referrer: last || d.referrer});
            last = u;
            since = d.visibilityState == 'hidden' ? 0 : Date.now();
            deep = 0;
        }
    }

    function click(e) {
        try {
            var el = e.target, a, lab, cat, p, i, k;
            if (e.type == 'auxclick' && e.button != 1) {
                return;
            }
            for (; el && el.getAttribute; el = el.parentNode) {
                lab = el.getAttribute('data-ct');
                if (lab != null || el.href) {
                    break;
                }
            }
            if (!el || !el.getAttribute) {
                return;
            }
            a = el.href;
            cat = el.getAttribute('data-ct-category');
            if (!cat && a) {
                cat = files.test(el.pathname) ? 'download'
                      : el.host && el.host != loc.host ? 'outbound' : cat;
            }
            // data-ct-prop-NAME="value": the click's props
            for (i = 0; i < el.attributes.length; i++) {
                k = el.attributes[i];
                if (!k.name.indexOf('data-ct-prop-')) {
                    (p = p || {})[k.name.slice(13)] = k.value;
                }
            }
            track('click', {label: lab || ('' + a), category: cat,
                            props: p});
        } catch (x) {
        }
    }

    try {
        var push = w.history.pushState;
        w.history.pushState = function () {
            var r = push.apply(this, arguments);
            pageview();
            return r;
        };
        w.addEventListener('popstate', pageview);
        w.addEventListener('hashchange', pageview);
        d.addEventListener('click', click, true);
        d.addEventListener('auxclick', click, true);
        d.addEventListener('visibilitychange', shown);
        w.addEventListener('pagehide', shown);
        w.addEventListener('pageshow', shown);
        w.addEventListener('scroll', depth);

        // calls made before the script loaded, queued by the stub
        var queued = (api && api.q) || [];
        user = store('localStorage', 'ct_i');
        w.clicktrack = function (type, o) {
            track(type, o);
        };
        w.clicktrack.loaded = 1;

        pageview();
        for (var i = 0; i < queued.length; i++) {
            track(queued[i][0], queued[i][1]);
        }
    } catch (e) {
    }
})(window, document);
