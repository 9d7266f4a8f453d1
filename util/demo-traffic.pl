#!/usr/bin/perl
#
# A little varied traffic for the demo, so that its dashboard's overview
# is full at once: pages, referrers, UTM links, browsers and devices,
# countries (addresses in X-Forwarded-For, which the demo's realip
# trusts from 127.0.0.1), clicks, outbound links, downloads and engage
# times.
#
# Today's visits go through the beacon, as a browser's would.  The days
# before are written into Redis as the rollups write a day (the keys of
# docs/stats.md), since the module only counts an event on the day it
# arrives: their counts hash, HyperLogLogs, tables and sites.
#
#   util/demo-traffic.pl [--days N] [--prefix P] [--site HOST] HTTP_PORT
#                        REDIS_PORT
#
# The same seed every run: the demo looks the same each time.

use strict;
use warnings;

use Getopt::Long;
use IO::Socket::INET;
use POSIX qw(strftime);

my $days = 30;
my $prefix = 'clicktrack:stats';
my $site = '127.0.0.1';
my $retention = 400 * 86400;

GetOptions('days=i' => \$days, 'prefix=s' => \$prefix, 'site=s' => \$site)
    and @ARGV == 2
    or die "usage: $0 [--days N] [--prefix P] [--site HOST] HTTP_PORT "
           . "REDIS_PORT\n";

my ($port, $redis_port) = @ARGV;

$port =~ /^\d+$/ && $redis_port =~ /^\d+$/
    or die "demo-traffic: the ports are numbers\n";

srand(20261207);

my @pages = ('/', '/', '/', '/products.html', '/products.html',
             '/app.html', '/app.html/settings', '/app.html/reports',
             '/pricing', '/blog/', '/blog/nginx-analytics',
             '/blog/redis-rollups', '/docs/', '/docs/install', '/about');

my @referrers = (('') x 8, 'https://news.ycombinator.com/item?id=1',
    'https://www.google.com/', 'https://www.google.com/',
    'https://duckduckgo.com/', 'https://github.com/clicktrack',
    'https://www.reddit.com/r/nginx/', 'https://lobste.rs/',
    'https://t.co/abc', 'https://www.bing.com/');

my @utm = (['newsletter', 'email', 'december', 'header', ''],
           ['twitter', 'social', 'launch', '', ''],
           ['google', 'cpc', 'analytics', 'ad-1', 'nginx analytics']);

# User-Agent, and what the module's classifier makes of it
my @agents = (
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 '
     . '(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
     'Chrome', 'Windows', 'desktop', 5],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 '
     . '(KHTML, like Gecko) Version/17.1 Safari/605.1.15',
     'Safari', 'macOS', 'desktop', 3],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 '
     . 'Firefox/121.0', 'Firefox', 'Linux', 'desktop', 2],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 '
     . '(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0',
     'Edge', 'Windows', 'desktop', 1],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) '
     . 'AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 '
     . 'Mobile/15E148 Safari/604.1', 'Safari', 'iOS', 'mobile', 4],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 '
     . '(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
     'Chrome', 'Android', 'mobile', 3],
    ['Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 '
     . '(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
     'Safari', 'iPadOS', 'tablet', 1],
);

# an address in each of a few countries (Debian's GeoIP.dat)
my @addresses = (['8.8.8.8', 'US', 6], ['81.2.69.160', 'GB', 3],
                 ['85.214.132.117', 'DE', 3], ['195.154.1.1', 'FR', 2],
                 ['133.242.0.1', 'JP', 1], ['200.147.67.142', 'BR', 1],
                 ['1.1.1.1', 'AU', 1], ['91.198.174.192', 'NL', 1]);

my @labels = ('Buy now', 'Sign up', 'Add to cart', 'Open menu', 'Search');
my @outbound = ('https://github.com/clicktrack', 'https://nginx.org/',
                'https://redis.io/docs/');
my @downloads = ('/files/clicktrack.tar.gz', '/files/guide.pdf');

sub pick { return $_[int rand @_] }

sub weighted {
    my $sum = 0;
    $sum += $_->[-1] for @_;
    my $r = rand $sum;
    for (@_) {
        return $_ if ($r -= $_->[-1]) < 0;
    }
    return $_[-1];
}

# a visit: its events, each [type, url path, query, referrer, label,
# category, engage ms]
sub visit {
    my @events;
    my $n = 1 + int(rand 4 ** rand 1.2);
    my $page = pick(@pages);
    my $ref = pick(@referrers);
    my $query = '';

    if (rand() < 0.1) {
        my @u = @{ pick(@utm) };
        my @names = qw(utm_source utm_medium utm_campaign utm_content
                       utm_term);
        $query = join '&', map { "$names[$_]=" . esc($u[$_]) }
                           grep { $u[$_] ne '' } 0 .. 4;
    }

    for my $i (1 .. $n) {
        push @events, ['pageview', $page, $i == 1 ? $query : '',
                       $i == 1 ? $ref : '', '', '', 0];
        my $r = rand;
        if ($r < 0.25) {
            push @events, ['click', $page, '', '', pick(@labels), '', 0];
        } elsif ($r < 0.32) {
            push @events, ['click', $page, '', '', pick(@outbound),
                           'outbound', 0];
        } elsif ($r < 0.36) {
            push @events, ['click', $page, '', '', pick(@downloads),
                           'download', 0];
        }
        push @events, ['engage', $page, '', '', '', '',
                       int(2000 + rand 90000)];
        $page = pick(@pages);
    }

    return @events;
}

sub esc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}


# today: through the beacon

my $sent = 0;

for my $v (1 .. 40) {
    my $visitor = sprintf 'demo-visitor-%03d', int rand 300;
    my $session = sprintf 'demo-session-t%03d', $v;
    my $agent = weighted(@agents);
    my $addr = weighted(@addresses);

    for my $e (visit()) {
        my ($type, $path, $q, $ref, $label, $cat, $ms) = @$e;
        my $url = "http://$site:$port$path" . ($q ne '' ? "?$q" : '');
        my $args = "t=$type&u=" . esc($url) . "&v=$visitor&s=$session";
        $args .= '&r=' . esc($ref) if $ref ne '';
        $args .= '&l=' . esc($label) if $label ne '';
        $args .= "&c=$cat" if $cat ne '';
        $args .= "&p.time=$ms" if $type eq 'engage';
        beacon($args, $agent->[0], $addr->[0]);
        $sent++;
    }
}

sub beacon {
    my ($args, $agent, $addr) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 5)
        or die "demo-traffic: nginx on port $port: $!\n";
    print $s "GET /ct?$args HTTP/1.0\r\nHost: $site:$port\r\n"
             . "User-Agent: $agent\r\nX-Forwarded-For: $addr\r\n\r\n";
    my $status = <$s> // '';
    close $s;
    $status =~ m{^HTTP/1\.\d 200 }
        or die "demo-traffic: the beacon answered $status";
}


# the days before: their rollups, written as the module writes a day

# redis-cli --pipe prints its tally; it exits non-zero on an error reply
open my $redis, '|-', "redis-cli -p $redis_port --pipe > /dev/null"
    or die "demo-traffic: redis-cli: $!\n";

sub command {
    my @a = @_;
    print $redis '*' . @a . "\r\n";
    print $redis '$' . length($_) . "\r\n$_\r\n" for @a;
}

for my $d (1 .. $days) {
    my $day = strftime('%Y-%m-%d', gmtime(time - $d * 86400));
    my $wday = (gmtime(time - $d * 86400))[6];
    my $k = "$prefix:{$site}:$day";
    my (%counts, %tables, %visitors, %visits, %hour_v, %hour_s);

    # fewer visits long ago and at weekends
    my $visits = int((30 + 25 * ($days - $d) / $days)
                     * ($wday == 0 || $wday == 6 ? 0.6 : 1)
                     * (0.8 + rand 0.4));

    for my $v (1 .. $visits) {
        my $visitor = sprintf 'demo-visitor-%03d', int rand 300;
        my $session = sprintf 'demo-session-%s-%03d', $day, $v;
        my $agent = weighted(@agents);
        my $addr = weighted(@addresses);
        my $hour = sprintf '%02d', (8 + int(rand 8) + int(rand 8)) % 24;
        my $views = 0;

        $visitors{$visitor} = $visits{$session} = 1;
        $hour_v{$hour}{$visitor} = $hour_s{$hour}{$session} = 1;

        for my $e (visit()) {
            my ($type, $path, $q, $ref, $label, $cat, $ms) = @$e;

            $counts{events}++;
            $counts{"events:$hour"}++;
            $tables{events}{$type}++;

            if ($type eq 'pageview') {
                $views++;
                $counts{pageviews}++;
                $counts{"pageviews:$hour"}++;
                $tables{pages}{$path}++;
                my ($host) = $ref =~ m{^https?://([^/:]+)};
                $tables{referrers}{$host // '(direct)'}++;
                for (split /&/, $q) {
                    my ($n, $val) = split /=/;
                    $val =~ s/%([0-9A-F]{2})/chr hex $1/ge;
                    $tables{$n}{$val}++;
                }
                $tables{countries}{$addr->[1]}++;
                $tables{browsers}{$agent->[1]}++;
                $tables{os}{$agent->[2]}++;
                $tables{devices}{$agent->[3]}++;
            } elsif ($type eq 'click') {
                $tables{labels}{$label}++;
                $tables{outbound}{$label}++ if $cat eq 'outbound';
                $tables{downloads}{$label}++ if $cat eq 'download';
            } elsif ($type eq 'engage') {
                $counts{engaged_ms} += $ms;
            }
        }

        $counts{visits_viewed}++;
        $counts{visits_multi}++ if $views > 1;
    }

    command('HSET', "$k:counts", %counts);
    command('PFADD', "$k:visitors", keys %visitors);
    command('PFADD', "$k:visits", keys %visits);
    for my $h (keys %hour_v) {
        command('PFADD', "${k}T$h:visitors", keys %{ $hour_v{$h} });
        command('PFADD', "${k}T$h:visits", keys %{ $hour_s{$h} });
        command('EXPIRE', "${k}T$h:$_", $retention) for qw(visitors visits);
    }
    for my $t (keys %tables) {
        command('ZADD', "$k:$t", map { ($tables{$t}{$_}, $_) }
                                 keys %{ $tables{$t} });
        command('EXPIRE', "$k:$t", $retention);
    }
    command('EXPIRE', "$k:$_", $retention) for qw(counts visitors visits);
    command('ZADD', "$prefix:sites:$day", $counts{events}, $site);
    command('EXPIRE', "$prefix:sites:$day", $retention);
}

close $redis or die "demo-traffic: redis-cli --pipe failed\n";

print "demo traffic: $sent events today through the beacon, "
      . "$days days before written to the rollups\n";
