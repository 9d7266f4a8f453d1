# Countries for real (SPEC section 11): nginx's own geoip module with the
# GeoLite country database Debian packages, the client address set by
# realip from X-Forwarded-For, through "clicktrack_field country
# $geoip_country_code" into the countries table and the stats API.
#
# Needs Debian's libnginx-mod-http-geoip and geoip-database (util/deps.sh
# test installs them), and Debian's nginx, the one that module is built
# for: against another nginx (util/compat.sh) the file is skipped.

use lib 't/lib';

my $geoip_module = '/usr/lib/nginx/modules/ngx_http_geoip_module.so';
my $geoip_db = '/usr/share/GeoIP/GeoIP.dat';
my $skip;

BEGIN {
    my $bin = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

    $skip = !-f '/usr/lib/nginx/modules/ngx_http_geoip_module.so'
            ? 'no nginx geoip module (libnginx-mod-http-geoip)'
            : !-f '/usr/share/GeoIP/GeoIP.dat'
            ? 'no GeoIP country database (geoip-database)'
            : $bin ne '/usr/sbin/nginx'
            ? "Debian's geoip module loads only into Debian's nginx"
            : undef;
}

use Test::Nginx::Socket $skip ? (skip_all => $skip) : 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

defaults(
    redis_setup => "cmd FLUSHDB\n",
    no_error_log => "[error]\n",
    main_config => "    load_module $geoip_module;\n",
    http_config => <<"CONF",
    geoip_country $geoip_db;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;

    clicktrack_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT;
    clicktrack_rollup clicktrack:stats window=100ms;
    clicktrack_cookie off;
    clicktrack_recent off;
    clicktrack_ip full;
CONF
    config => <<'CONF',
    location = /ct {
        clicktrack_beacon;
        clicktrack_field country $geoip_country_code;
    }
    location = /stats { clicktrack_stats; }
CONF
);

run_tests();

__DATA__

=== TEST 1: the country of real addresses: the event's field, the table, the stats API
8.8.8.8 and 8.8.4.4 are in the United States, 81.2.69.160 in the United
Kingdom, 193.0.6.139 in the Netherlands; 127.0.0.1 is in no country, so
that pageview is not in the table.
--- more_headers eval
["X-Forwarded-For: 8.8.8.8", "X-Forwarded-For: 81.2.69.160",
 "X-Forwarded-For: 193.0.6.139", "X-Forwarded-For: 8.8.4.4", ""]
--- request eval
["GET /ct?u=/a", "GET /ct?u=/a", "GET /ct?u=/b", "GET /ct?u=/b",
 "GET /ct?u=/c"]
--- redis_after eval
["", "", "", "", "expect rollup; json /stats?site=localhost today; cmd FLUSHDB"]
--- rollup
ZRANGE clicktrack:stats:{localhost}:<day>:countries 0 -1 WITHSCORES => GB 1 NL 1 US 2
HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 5
--- today
countries => [["US",2],["NL",1],["GB",1]]



=== TEST 2: the event records the country after the built-in fields
--- more_headers
X-Forwarded-For: 81.2.69.160
--- request
GET /ct?u=/a
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"/a","host":"localhost","ip":"81.2.69.160","country":"GB"}



=== TEST 3: an address in no country: no field, nothing in the table
--- request
GET /ct?u=/a
--- redis_after
expect rollup; check
--- rollup
HGET clicktrack:stats:{localhost}:<day>:counts pageviews => 1
EXISTS clicktrack:stats:{localhost}:<day>:countries => 0
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","url":"/a","host":"localhost","ip":"127.0.0.1"}
