// clicktrack tracker, served by "clicktrack_js BEACON_URI" (docs/tracker.md).
// The module strips the comment lines and the indentation when it embeds
// this file (util/embed.pl --js) and puts the location's BEACON_URI in
// place of the mark below.  Everything runs inside try/catch: whatever
// the collector does, the page works as it would without this script.
(function (w, d) {
    var api = w.clicktrack, nav = w.navigator, loc = w.location;
    var path = '@BEACON_URI@', idle = 18e5, last, since, deep;

    if (api && api.loaded) {
        return;
    }

    // the collector is the origin this script came from
    var me = d.currentScript, all = d.getElementsByTagName('script');
    me = (me || all[all.length - 1] || {}).src || '';
    var url = (me.match(/^[a-z][\w+.-]*:\/\/[^\/?#]+/i) || [''])[0] + path;

    function store(s, k, v) {
        try {
            s = w[s];
            if (v === undefined) {
                return s.getItem(k);
            }
            s.setItem(k, v);
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
    function ids(now) {
        var v = store('localStorage', 'ct_v') || uuid(),
            s = store('sessionStorage', 'ct_s'),
            t = +store('sessionStorage', 'ct_t');
        if (!s || !(now - t < idle)) {
            s = uuid();
        }
        store('localStorage', 'ct_v', v);
        store('sessionStorage', 'ct_s', s);
        store('sessionStorage', 'ct_t', '' + now);
        return [v, s];
    }

    function event(type, o) {
        var now = Date.now(), id = ids(now), e = {t: type, v: id[0],
            s: id[1], ts: now, u: o.url || loc.href};
        if (o.referrer) e.r = o.referrer;
        if (o.label != null) e.l = '' + o.label;
        if (o.category != null) e.c = '' + o.category;
        if (o.props) e.p = o.props;
        return e;
    }

    // sendBeacon, else fetch with keepalive, else an image
    function send(list) {
        var body = JSON.stringify(list.length > 1 ? list : list[0]);
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
        for (var i = 0; i < list.length; i++) {
            var q = [], e = list[i], k, p;
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
    }

    function track(type, o) {
        try {
            send([event(type || 'event', o || {})]);
        } catch (e) {
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
        try {
            if (e.type == 'pagehide' || d.visibilityState == 'hidden') {
                depth();
                engage();
            } else {
                since = since || Date.now();
            }
        } catch (x) {
        }
    }

    // one pageview per URL in a row; an SPA's referrer is the last URL,
    // and its change ends the last page's engagement first
    function pageview() {
        var u = loc.href;
        if (u != last) {
            if (last) {
                depth();
                engage();
            }
            track('pageview', {url: u, referrer: last || d.referrer});
            last = u;
            since = d.visibilityState == 'hidden' ? 0 : Date.now();
            deep = 0;
        }
    }

    function click(e) {
        try {
            var el = e.target, a, lab, cat;
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
            if (!cat && a && el.host && el.host != loc.host) {
                cat = 'outbound';
            }
            track('click', {label: lab || ('' + a), category: cat});
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
        var queued = (api && api.q) || [], list = [];
        w.clicktrack = function (type, o) {
            track(type, o);
        };
        w.clicktrack.loaded = 1;

        pageview();
        for (var i = 0; i < queued.length; i++) {
            list.push(event(queued[i][0] || 'event', queued[i][1] || {}));
        }
        if (list.length) {
            send(list);
        }
    } catch (e) {
    }
})(window, document);
