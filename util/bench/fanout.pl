#!/usr/bin/perl
# Stream fan-out: N Server-Sent Events clients on clicktrack_stream while
# beacons arrive at a steady rate.  Reports, per N, the delivery latency
# from the beacon's send to each client's receipt (p50, p99, max), what
# was delivered, and the CPU the nginx workers used.
#
#   util/bench/run fanout [--clients 100,500] [--rate 100] [--seconds 10]
#                         [--workers 2]
#
# It starts its own Redis and nginx (module from build/) on free loopback
# ports in a temporary directory, and stops them at the end.  Perl core
# modules only.  The latency includes the queue's flush delay
# (clicktrack_queue flush=, 10 ms by default): it is what a dashboard sees.

use strict;
use warnings;

use Cwd ();
use FindBin ();
use Getopt::Long;
use IO::Socket::INET;
use IO::Select;
use File::Temp ();
use POSIX ();
use Time::HiRes qw(time sleep);

my ($clients, $rate, $seconds, $workers) = ('100,500', 100, 10, 2);

GetOptions('clients=s' => \$clients, 'rate=i' => \$rate,
           'seconds=i' => \$seconds, 'workers=i' => \$workers)
    or die "usage: $0 [--clients 100,500] [--rate N] [--seconds S] "
           . "[--workers W]\n";

my $top = Cwd::abs_path("$FindBin::Bin/../..");
my $module = "$top/build/ngx_http_clicktrack_module.so";
-f $module or die "$module: build it first (make -f Makefile.local)\n";

my $dir = File::Temp::tempdir('clicktrack-fanout.XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);
my ($redis_port, $nginx_port) = (free_port(), free_port());
my ($redis_pid, $nginx_pid);

$SIG{INT} = $SIG{TERM} = sub { stop(); exit 1 };
END { stop() }

start_redis();
start_nginx();

my ($cores) = `nproc` =~ /(\d+)/;
open my $la, '<', '/proc/loadavg' or die "$!\n";
my @load = (split ' ', <$la>)[0 .. 2];

printf "# %s UTC, %d cores, load average %s before the runs\n",
       scalar(gmtime), $cores, "@load";
printf "# %d workers, %d beacons/s for %d s per run\n", $workers, $rate,
       $seconds;
printf "%8s %10s %10s %10s %10s %12s %10s\n", 'clients', 'delivered',
       'expected', 'p50 ms', 'p99 ms', 'max ms', 'nginx cpu';

for my $n (split /,/, $clients) {
    run($n);
}

exit 0;


sub run {
    my ($n) = @_;

    my @socks;

    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $nginx_port, Timeout => 5)
            or die "connect: $!\n";
        print $s "GET /stream?backlog=0 HTTP/1.0\r\nHost: bench\r\n\r\n";
        push @socks, $s;
    }

    my $sel = IO::Select->new(@socks);
    my %buf;
    my %head;

    # every stream is open (its headers and first comment came) before
    # the first beacon
    my $deadline = time + 10;

    while (keys %head < $n && time < $deadline) {
        for my $s ($sel->can_read(0.5)) {
            sysread($s, $buf{$s}, 65536, length($buf{$s} // '')) or next;
            $head{$s} = 1 if $buf{$s} =~ s/^.*?\r\n\r\n: clicktrack\n\n//s;
        }
    }

    die "only " . keys(%head) . " of $n streams opened\n" if keys %head < $n;

    my $cpu0 = nginx_cpu();
    my $sender = fork // die "fork: $!\n";

    if ($sender == 0) {
        eval { send_beacons(); 1 } or warn $@;
        POSIX::_exit(0);
    }

    my @lat;
    my $end = time + $seconds + 2;

    while (time < $end) {
        for my $s ($sel->can_read(0.2)) {
            my $got = sysread($s, $buf{$s}, 65536, length $buf{$s});

            if (!$got) {
                $sel->remove($s);
                next;
            }

            my $now = time;

            while ($buf{$s} =~ s/^(.*?)\n\n//s) {
                my ($sent) = $1 =~ /"label":"t([\d.]+)"/ or next;
                push @lat, ($now - $sent) * 1000;
            }
        }
    }

    waitpid $sender, 0;

    my $cpu = nginx_cpu() - $cpu0;
    close $_ for @socks;

    @lat = sort { $a <=> $b } @lat;

    printf "%8d %10d %10d %10.1f %10.1f %12.1f %9.0f%%\n", $n, scalar @lat,
           $n * $rate * $seconds, pct(\@lat, 50), pct(\@lat, 99),
           @lat ? $lat[-1] : 0, 100 * $cpu / ($seconds + 2);

    sleep 1;
}


# one keepalive connection, a beacon every 1/rate s, its send time as label

sub send_beacons {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $nginx_port, Timeout => 5)
        or die "connect: $!\n";

    my $t0 = time;

    for my $i (0 .. $rate * $seconds - 1) {
        my $at = $t0 + $i / $rate;
        my $wait = $at - time;
        sleep $wait if $wait > 0;

        printf $s "GET /ct?t=bench&l=t%.6f HTTP/1.1\r\nHost: bench\r\n\r\n",
               time;

        # the GIF answer: headers and 43 bytes
        my $resp = '';
        while ($resp !~ /\r\n\r\n.{43}/s) {
            sysread($s, $resp, 4096, length $resp) or die "beacon: $!\n";
        }
    }
}


sub pct {
    my ($v, $p) = @_;
    return 0 unless @$v;
    return $v->[int($#$v * $p / 100)];
}


# user + system seconds of the nginx workers (children of the master)

sub nginx_cpu {
    my $ticks = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
    my $sum = 0;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my @f = split ' ', $line =~ s/^.*\) //r;
        # after "pid (comm) ": state ppid ... utime(12) stime(13)
        next unless $f[1] == $nginx_pid;
        $sum += $f[11] + $f[12];
    }

    return $sum / $ticks;
}


sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!\n";
    return $s->sockport;
}


sub start_redis {
    $redis_pid = fork // die "fork: $!\n";

    if ($redis_pid == 0) {
        exec 'redis-server', '--port', $redis_port, '--bind', '127.0.0.1',
             '--dir', $dir, '--save', '', '--appendonly', 'no',
             '--logfile', "$dir/redis.log";
        die "redis-server: $!\n";
    }

    wait_port($redis_port);
}


sub start_nginx {
    mkdir "$dir/logs";

    open my $fh, '>', "$dir/nginx.conf" or die "$!\n";
    print $fh <<"CONF";
load_module $module;
worker_processes $workers;
worker_rlimit_nofile 8192;
error_log $dir/logs/error.log warn;
pid $dir/logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    clicktrack_redis 127.0.0.1:$redis_port;
    clicktrack_cookie off;
    server {
        listen 127.0.0.1:$nginx_port;
        keepalive_requests 1000000;
        location = /ct { clicktrack_beacon; }
        location = /stream { clicktrack_stream; }
    }
}
CONF
    close $fh;

    system('nginx', '-p', $dir, '-c', "$dir/nginx.conf",
           '-e', "$dir/logs/error.log") == 0
        or die "nginx did not start\n";

    wait_port($nginx_port);

    open my $pf, '<', "$dir/logs/nginx.pid" or die "no nginx pid\n";
    chomp($nginx_pid = <$pf>);
}


sub wait_port {
    my ($port) = @_;

    for (1 .. 100) {
        return if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                        PeerPort => $port);
        sleep 0.05;
    }

    die "nothing listens on $port\n";
}


sub stop {
    if ($nginx_pid) {
        kill 'QUIT', $nginx_pid;
        for (1 .. 100) { last unless kill 0, $nginx_pid; sleep 0.05 }
        $nginx_pid = undef;
    }

    if ($redis_pid) {
        kill 'TERM', $redis_pid;
        waitpid $redis_pid, 0;
        $redis_pid = undef;
    }
}
