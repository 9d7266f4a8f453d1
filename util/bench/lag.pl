#!/usr/bin/perl
# Time from beacon to event in Redis, at idle: for each sample, a GET on a
# keepalive connection to nginx, then BLPOP on the list; the time is from
# writing the request to reading BLPOP's answer.  Samples are spaced by a
# random 20-40 ms, so each event meets an empty queue.
#
#   lag.pl NGINX_PORT REDIS_PORT KEY SAMPLES PATH [LIMIT_MS]
# prints: "n=N p50=X ms p90=Y ms p99=Z ms max=M ms over_LIMIT_ms=K lost=L"
# (K: the samples over LIMIT_MS, by default 11: flush 10 ms + 1 ms)

use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my ($nport, $rport, $key, $n, $path, $limit) = @ARGV;
$limit //= 11;

my $http = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$nport")
    or die "nginx: $!\n";
my $redis = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$rport")
    or die "redis: $!\n";
$http->autoflush(1);
$redis->autoflush(1);

my $req = "GET $path HTTP/1.1\r\nHost: bench.example\r\n"
    . "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0\r\n\r\n";
my $blpop = "*3\r\n\$5\r\nBLPOP\r\n\$" . length($key) . "\r\n$key\r\n\$1\r\n2\r\n";

sub read_http {
    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        sysread($http, $buf, 65536, length $buf) or die "nginx closed\n";
    }
    my ($len) = $buf =~ /Content-Length:\s*(\d+)/i;
    $len //= 0;
    my $need = index($buf, "\r\n\r\n") + 4 + $len;
    while (length $buf < $need) {
        sysread($http, $buf, 65536, length $buf) or die "nginx closed\n";
    }
    return $buf;
}

sub read_line {
    my $line = '';
    my $c;
    while (sysread($redis, $c, 1)) {
        $line .= $c;
        return $line if $line =~ /\r\n$/;
    }
    die "redis closed\n";
}

sub read_reply {
    my $l = read_line();
    if ($l =~ /^\*(-?\d+)/) {
        return undef if $1 < 0;
        my @a = map { read_reply() } 1 .. $1;
        return \@a;
    }
    if ($l =~ /^\$(-?\d+)/) {
        return undef if $1 < 0;
        my $want = $1 + 2;
        my $buf = '';
        while (length $buf < $want) {
            sysread($redis, $buf, $want - length $buf, length $buf)
                or die "redis closed\n";
        }
        return substr($buf, 0, $1);
    }
    return $l;
}

my (@lag, $lost);
$lost = 0;
for (1 .. $n) {
    sleep(0.02 + rand(0.02));
    my $t0 = time;
    syswrite($http, $req);
    syswrite($redis, $blpop);
    my $r = read_reply();
    my $t1 = time;
    read_http();
    if (ref $r) { push @lag, ($t1 - $t0) * 1000 } else { $lost++ }
}

@lag = sort { $a <=> $b } @lag;
my $pct = sub { @lag ? $lag[int($_[0] / 100 * $#lag + 0.5)] : 0 };
my $over = grep { $_ > $limit } @lag;
printf "n=%d p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms"
    . " over_%.0f_ms=%d lost=%d\n",
    scalar @lag, $pct->(50), $pct->(90), $pct->(99),
    (@lag ? $lag[-1] : 0), $limit, $over, $lost;
