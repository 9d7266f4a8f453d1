# The event record of SPEC 4: key order, server fields, escaping, the
# privacy of the address, and clicktrack_field.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Clicktrack::Test;

repeat_each(1);
no_shuffle();

defaults(
    no_error_log => "[error]\n",
);

run_tests();

__DATA__

=== TEST 1: the exact record of a representative event
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /ct {
        clicktrack_beacon;
        clicktrack_field country $http_x_country;
        clicktrack_field plan_tier "gold";
    }
--- more_headers
Host: Example.COM
User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0
Cookie: ctid=5c469967-1dbe-4214-aa2a-dfa7bb8e1be4
X-Country: FR
--- request
GET /ct?t=click&c=post&l=354%2Fin&u=https%3A%2F%2Fexample.com%2Frss_reader.html&r=https%3A%2F%2Fexample.com%2F&s=k3j4h5g6f7d8&ts=1795350665712&p.plan=pro
--- error_code: 200
--- response_headers
!Set-Cookie
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"click","category":"post","label":"354/in","url":"https://example.com/rss_reader.html","referrer":"https://example.com/","visitor":"5c469967-1dbe-4214-aa2a-dfa7bb8e1be4","session":"k3j4h5g6f7d8","client_ts":1795350665712,"host":"example.com","ip":"127.0.0.0","ua":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","props":{"plan":"pro"},"country":"FR","plan_tier":"gold"}



=== TEST 2: url defaults to the Referer
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
--- config
    location = /ct { clicktrack_beacon; }
--- more_headers
Referer: https://shop.example/cart?x=1
--- request
GET /ct?t=click
--- error_code: 200
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"click","url":"https://shop.example/cart?x=1","host":"localhost","ip":"127.0.0.0"}



=== TEST 3: invalid UTF-8 becomes U+FFFD, control characters are escaped
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- config
    location = /ct { clicktrack_beacon; }
--- request
GET /ct?l=a%FFb%00c%01d%1Fe%7Ff%22g%5Ch%C3%28
--- error_code: 200
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"a�b\u0000c\u0001d\u001fe\u007ff\"g\\h�(","host":"localhost"}



=== TEST 4: clicktrack_ip full keeps the address, off leaves it out
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
--- config
    location = /full { clicktrack_beacon; clicktrack_ip full; }
    location = /off { clicktrack_beacon; clicktrack_ip off; }
--- request eval
["GET /full?l=full", "GET /off?l=off"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"full","host":"localhost","ip":"127.0.0.1"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"off","host":"localhost"}']



=== TEST 5: after realip: anonymize drops IPv4's last octet and all but 48 bits of IPv6, full keeps the address realip set
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
    location = /ct { clicktrack_beacon; }
    location = /full { clicktrack_beacon; clicktrack_ip full; }
--- more_headers eval
["X-Real-IP: 203.0.113.77", "X-Real-IP: 2001:db8:1234:5678:9abc::1", "X-Real-IP: ::ffff:198.51.100.9", "X-Real-IP: 203.0.113.77", "X-Real-IP: 2001:db8:1234:5678:9abc::1"]
--- request eval
["GET /ct?l=v4", "GET /ct?l=v6", "GET /ct?l=mapped", "GET /full?l=v4", "GET /full?l=v6"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"v4","host":"localhost","ip":"203.0.113.0"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"v6","host":"localhost","ip":"2001:db8:1234::"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"mapped","host":"localhost","ip":"::ffff:198.51.100.0"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"v4","host":"localhost","ip":"203.0.113.77"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"v6","host":"localhost","ip":"2001:db8:1234:5678:9abc::1"}']



=== TEST 6: fields come last in configuration order; an empty one is left out; a location's own replace the inherited
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
    clicktrack_field site main;
    clicktrack_field missing $http_x_nothing;
--- config
    location = /inherit { clicktrack_beacon; }
    location = /own { clicktrack_beacon; clicktrack_field zone "b \" c"; }
--- request eval
["GET /inherit?l=1", "GET /own?l=2"]
--- redis_list eval
['{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"1","host":"localhost","site":"main"}', '{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"2","host":"localhost","zone":"b \" c"}']



=== TEST 7: a JSON batch shares the request's fields; each event gets its own id
--- http_config
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
--- config
    location = /ct { clicktrack_beacon; clicktrack_field f x; }
--- more_headers
Content-Type: application/json
--- request
POST /ct
[{"l":"a","v":"visitor-a1"},{"l":"b"}]
--- error_code: 204
--- redis_list
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"a","visitor":"visitor-a1","host":"localhost","f":"x"}
{"id":"<uuid>","ts":"<ts>","type":"pageview","label":"b","host":"localhost","f":"x"}
