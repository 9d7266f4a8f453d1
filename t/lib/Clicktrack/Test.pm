package Clicktrack::Test;

# What the clicktrack suite adds to Test::Nginx::Socket, through its public
# hooks only (add_block_preprocessor, add_response_body_check), so that the
# same .t files run under the real Test::Nginx and the project's fallback.
#
# defaults(SECTION => VALUE, ...) gives a file's blocks the sections they
# do not set themselves.
#
# Sections:
#
#   --- redis_list        the elements expected in a list (default key
#                         clicktrack:events), one per line, in order; a line
#                         "@KEY" switches the key.  Placeholders: <uuid>,
#                         <ts>, <any> (any string content).  An empty section
#                         expects nothing.  Polled until it matches (or
#                         fails after 6 s); then the keys are deleted.
#   --- redis_stream      the same for the recent stream (clicktrack:recent,
#                         field "e"), oldest first.
#   --- redis_count       "KEY N": exactly N elements, all distinct labels.
#   --- redis2            read the second, fault-injection Redis
#                         ($TEST_NGINX_REDIS2_PORT), not the main one.
#   --- redis_db          the database the checks read (SELECT).
#   --- redis_auth        the password the checks send (AUTH).
#   --- redis_setup       actions before nginx starts (see below).
#   --- redis_after       actions after the response, ";"-separated; "check"
#                         runs the checks above (implied last when absent).
#   --- counters          what the action "counters URI" expects of the
#                         status JSON: "name=N", "name>N", "name<N", and
#                         always accepted = pushed + queued + in_flight
#                         + spooled + dropped.  "counters URI SECTION"
#                         reads its expectations from --- SECTION instead.
#
# Actions: start, stop, kill, pause, resume, restart (of the second Redis),
# sleep SECONDS, hup (reload nginx), check, "cmd [-a PASSWORD] COMMAND
# ARGS" (a command to the Redis the checks read; $TEST_NGINX_* variables
# in ARGS are replaced), "counters URI [RULE...]" (the rules given, else
# the section's), and
#   load N URI [hup K] [max_ms MS] [conc C]
# which sends N GETs of URI with "&l=load-<i>" appended, sends K reloads
# while it runs, fails if an answer is not 200 or (with max_ms) slower.
#
# Server-Sent Events clients that stay open from one action to the next
# (the stream tests), named by the test:
#   get URI [STATUS [BODY]] one GET, its status must be STATUS (200); BODY:
#                           "count=N,first=LABEL,last=LABEL" of a JSON
#                           array, or "lines=N"
#   sse_open C URI [OPT...] open stream C (HTTP/1.0) and check its SSE
#                           headers.  OPT: Name:Value (a request header),
#                           after=D:K (Last-Event-ID = the id of the K-th
#                           message stream D received), arg=D:K (the same
#                           as "&last_event_id="), port=N, rcvbuf=BYTES
#                           (a small socket buffer), stall (never read),
#                           nowait (send the request only: sse_answer)
#   sse_answer C STATUS WORD  the answer to a nowait open, read to its
#                           end, has STATUS and WORD in its body
#   sse_expect C LABELS     the next messages' labels, in order, within
#                           5 s: "a,b,c", "load-3..7" (load-3 to load-7),
#                           or "-" (none for 0.5 s), then "any" for any
#                           order of them; each message has
#                           id/event/data, ids rise, data is one line of
#                           JSON whose type is the event name
#   sse_ping C              a ": ping" comment came (within 1 s)
#   sse_close C             the client leaves
#   sse_closed C            the server closes C within 10 s
#   proxy start MS|stop     a relay to the main Redis on
#                           $TEST_NGINX_PROXY_PORT that holds back XRANGE
#                           and XREVRANGE by MS milliseconds
#   resp3 start KIND|stop   a fake Redis on $TEST_NGINX_REDIS2_PORT (stop
#                           the second Redis first) that answers every
#                           command with one RESP3 reply: KIND is map,
#                           double, bool or nested (a double in an array)
#   other_worker C N URI    GETs URI (with "&l=elsewhere-<i>") until N
#                           were answered by another worker than C's (by
#                           the X-Pid header the config adds)
#   nginx2 start|stop       a second nginx on the same Redis, /ct a beacon;
#                           "start NAME=VALUE ...": "NAME VALUE;" added to
#                           its http block (a "," in VALUE is a space)
#   nginx2 get URI          a GET to it
# "$TEST_NGINX_..." in an action is replaced by the variable's value.
#
# A client that sends its body slowly, or stops in the middle (named by
# the test, open from one action to the next):
#   post_open C URI LENGTH [BYTES]  a form POST of URI announcing
#                           Content-Length LENGTH: the head and BYTES,
#                           the start of the body (none when absent)
#   post_send C BYTES MS    the next BYTES of the body, one byte every MS
#                           milliseconds
#   post_answer C STATUS MIN MAX  the server answers STATUS, or with
#                           STATUS "none" closes the connection having
#                           sent nothing, MIN to MAX seconds after the
#                           last byte was sent
#
# "log_lines TEXT OP N": the lines of logs/error.log that hold TEXT (one
# word), with OP = < > =.
#
#   --- nginx_may_refuse  (eval, one flag per request) a request that a
#                         newer nginx answers with its own 400 page, before
#                         the module: when that page came, the list is
#                         checked to hold nothing for it, instead of the
#                         block's --- redis_list entry
#
# "kill_worker": SIGKILL to nginx's one worker; waits for the next one.
# For the spool: "quit" (QUIT to nginx, wait until it is gone), "relaunch"
# (start the same nginx again), "spool_files DIR OP N" (the number of
# spool files w.* and r.* under the server root's DIR, with OP = < > =),
# "dir_files DIR PREFIX OP N" (the files whose name starts with PREFIX),
# and "in_order KEY" (the "load-<i>" labels in KEY come in increasing i).
# "consume" runs docs/examples/consumer.sh --once against the Redis the checks read
# and compares its output with "--- consumed" (lines, with placeholders);
# then the list and its processing list must be empty.
# "keepalive SECTION" sends the requests listed in --- SECTION one after
# another on one connection and checks each answer (see keepalive()).
# "expect SECTION" polls Redis (up to 6 s) until every line of --- SECTION,
# "COMMAND ARG ... => WANT", holds; see expect() for the placeholders.
# "json URI SECTION" GETs URI (status 200, a JSON body) and checks each
# line of --- SECTION, "PATH => WANT": PATH is keys and indices with dots
# (totals.visitors, pages.0.1, series.#: the array's length); WANT as in
# expect(), a structure compared as canonical JSON.

use strict;
use warnings;

use IO::Socket::INET;
use Socket ();
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep time);
use JSON::PP ();
use Test::More ();
use File::Temp ();
use File::Spec ();
use List::Util ();
use Exporter 'import';

our @EXPORT = qw(defaults stream_defaults);

my $json = JSON::PP->new->utf8;

my $redis2_pid;
my $redis2_dir = File::Temp::tempdir(CLEANUP => 1);

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
$ENV{TEST_NGINX_REDIS2_PORT} ||= free_port();
$ENV{TEST_NGINX_REDIS_SERVER} ||= 'redis-server';
$ENV{TEST_NGINX_SLOW_PORT} ||= free_port();
$ENV{TEST_NGINX_PROXY_PORT} ||= free_port();

my $last_load;


sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!";
    return $s->sockport;
}


# --- a small RESP client: one connection per call, replies as Perl data

# $target: a port, or [port, [command], ...] with commands (AUTH, SELECT)
# to send first

sub redis {
    my ($target, @args) = @_;

    my ($port, @pre) = ref $target ? @$target : ($target);

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 2)
        or return (undef, "connect to redis :$port: $!");

    my ($buf, $reply) = ('');

    # one at a time: a refused AUTH must stop the command after it
    for my $c (@pre, \@args) {
        my $cmd = '*' . @$c . "\r\n";
        for my $a (@$c) {
            $cmd .= '$' . length($a) . "\r\n$a\r\n";
        }

        print $sock $cmd;
        $reply = read_reply($sock, \$buf);
    }

    close $sock;

    return $reply;
}


sub read_line {
    my ($sock, $buf) = @_;

    while ($$buf !~ /\r\n/) {
        my $sel = IO::Select->new($sock);
        $sel->can_read(3) or die "redis: timeout\n";
        my $n = sysread($sock, $$buf, 65536, length $$buf);
        die "redis: connection closed\n" unless $n;
    }

    $$buf =~ s/^(.*?)\r\n//s;
    return $1;
}


sub read_reply {
    my ($sock, $buf) = @_;

    my $line = read_line($sock, $buf);
    my ($t, $v) = (substr($line, 0, 1), substr($line, 1));

    return $v if $t eq '+' || $t eq ':';
    die "redis error: $v\n" if $t eq '-';

    if ($t eq '$') {
        return undef if $v < 0;
        while (length $$buf < $v + 2) {
            my $sel = IO::Select->new($sock);
            $sel->can_read(3) or die "redis: timeout\n";
            sysread($sock, $$buf, 65536, length $$buf) or die "redis: closed\n";
        }
        my $s = substr($$buf, 0, $v);
        substr($$buf, 0, $v + 2) = '';
        return $s;
    }

    if ($t eq '*') {
        return undef if $v < 0;
        return [ map { read_reply($sock, $buf) } 1 .. $v ];
    }

    die "redis: unexpected reply \"$line\"\n";
}


# --- the second Redis, for the tests that stop, kill or pause it

sub redis2_start {
    return if $redis2_pid && kill 0, $redis2_pid;

    my $port = $ENV{TEST_NGINX_REDIS2_PORT};

    $redis2_pid = fork // die "fork: $!";

    if ($redis2_pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        { exec $ENV{TEST_NGINX_REDIS_SERVER}, '--port', $port,
               '--bind', '127.0.0.1', '--dir', $redis2_dir, '--save', '',
               '--appendonly', 'no' };
        POSIX::_exit(127);
    }

    for (1 .. 100) {
        my $pong = eval { redis($port, 'PING') };
        return if defined $pong && $pong eq 'PONG';
        sleep 0.05;
    }

    die "the second redis did not start on :$port\n";
}


sub redis2_signal {
    my ($sig, $wait) = @_;

    return unless $redis2_pid;

    kill $sig, $redis2_pid;

    if ($wait) {
        waitpid $redis2_pid, 0;
        undef $redis2_pid;
    }
}


END {
    local $?;   # waitpid must not change the test's exit code

    if ($redis2_pid) {
        kill 'CONT', $redis2_pid;
        kill 'KILL', $redis2_pid;
        waitpid $redis2_pid, 0;
    }
}


sub nginx_pid {
    my $root = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
    open my $fh, '<', "$root/logs/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}


sub nginx_port {
    return $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
}


sub http_get {
    my ($uri, $port) = @_;

    $port ||= nginx_port();
    my $t0 = time;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 3)
        or return (0, time - $t0);

    print $sock "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                . "Connection: close\r\n\r\n";

    my $resp = '';
    my $sel = IO::Select->new($sock);

    while ($sel->can_read(5)) {
        my $n = sysread($sock, $resp, 65536, length $resp);
        last unless $n;
    }

    close $sock;

    my ($status) = $resp =~ m{^HTTP/1\.[01] (\d+)};
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;

    return ($status || 0, time - $t0, $body, $head // '');
}


# load N URI [hup K] [max_ms MS]

sub load {
    my ($name, @words) = @_;

    my ($n, $uri, %opt) = @words;
    my $hups = $opt{hup} || 0;
    my ($ok, $slow, $max) = (0, 0, 0);

    for my $i (1 .. $n) {
        if ($hups && $i % int($n / ($hups + 1)) == 0 && $i < $n) {
            my $pid = nginx_pid();
            kill 'HUP', $pid if $pid;
            $hups--;
        }

        my ($status, $took) = http_get("$uri&l=load-$i");
        $ok++ if $status == 200;
        $max = $took if $took > $max;
        $slow++ if $opt{max_ms} && $took * 1000 > $opt{max_ms};
    }

    Test::More::is($ok, $n, "$name - load: every beacon answered 200");

    if ($opt{max_ms}) {
        Test::More::is($slow, 0, sprintf("$name - load: no answer over "
                                         . "%d ms (slowest %.1f ms)",
                                         $opt{max_ms}, $max * 1000));
    }

    $last_load = $ok;
}


# --- stream clients

my %sse;


sub get {
    my ($name, $uri, $want, $body) = @_;

    $want ||= 200;

    my ($status, undef, $got) = http_get($uri);

    Test::More::is($status, $want, "$name - GET $uri answered $want");

    return unless defined $body;

    # count=N,first=LABEL,last=LABEL of a JSON array; lines=N of a text
    my %rule = map { split /=/, $_, 2 } split /,/, $body;

    if (defined $rule{lines}) {
        my $n = () = ($got // '') =~ /\n/g;
        Test::More::is($n, $rule{lines}, "$name - GET $uri: $n lines");
        return;
    }

    my $a = eval { $json->decode($got // '') };

    Test::More::ok(ref $a eq 'ARRAY', "$name - GET $uri: a JSON array")
        or return;
    Test::More::is(scalar @$a, $rule{count}, "$name - GET $uri: count")
        if defined $rule{count};
    Test::More::is($a->[0]{label}, $rule{first}, "$name - GET $uri: first")
        if defined $rule{first};
    Test::More::is($a->[-1]{label}, $rule{last}, "$name - GET $uri: last")
        if defined $rule{last};
}


sub sse_open {
    my ($name, $c, $uri, @opts) = @_;

    my ($port, $rcvbuf, $stall, $nowait) = (nginx_port());
    my @headers;

    for my $o (@opts) {
        if ($o =~ /^port=(\d+)$/) { $port = $1 }
        elsif ($o =~ /^rcvbuf=(\d+)$/) { $rcvbuf = $1 }
        elsif ($o eq 'stall') { $stall = 1 }
        elsif ($o eq 'nowait') { $nowait = 1 }
        elsif ($o =~ /^(after|arg)=(\w+):(\d+)$/) {
            my $id = $sse{$2} && $sse{$2}{ids}[$3 - 1];
            die "$name: stream $2 has no message $3\n" unless defined $id;
            if ($1 eq 'after') { push @headers, "Last-Event-ID: $id" }
            else { $uri .= ($uri =~ /\?/ ? '&' : '?') . "last_event_id=$id" }
        }
        elsif ($o =~ /^([\w-]+):(.*)$/) { push @headers, "$1: $2" }
        else { die "$name: sse_open: unknown option \"$o\"\n" }
    }

    my $sock = IO::Socket::INET->new(Proto => 'tcp')
        or die "$name: socket: $!\n";

    # before connect(2), so that the window the server sees is small
    setsockopt($sock, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), $rcvbuf + 0)
        if $rcvbuf;

    connect($sock, Socket::pack_sockaddr_in($port,
                                            Socket::inet_aton('127.0.0.1')))
        or die "$name: connect to :$port: $!\n";

    print $sock join("\r\n", "GET $uri HTTP/1.0", 'Host: localhost',
                     'Accept: text/event-stream', @headers, '', '');

    my $c_ = { sock => $sock, buf => '', msgs => [], ids => [],
               stall => $stall, eof => 0 };
    $sse{$c} = $c_;

    # the answer is read by sse_answer
    return if $nowait;

    my $deadline = time + 5;

    while ($c_->{buf} !~ /\r\n\r\n/ && time < $deadline && !$c_->{eof}) {
        sse_fill($c_, 0.2);
    }

    my ($head, $rest) = split /\r\n\r\n/, $c_->{buf}, 2;
    $c_->{buf} = $rest // '';
    $c_->{head_done} = 1;
    sse_fill($c_, 0) unless $stall;

    my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d+)};
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () }
            split /\r\n/, $head // '';
    $c_->{headers} = \%h;

    Test::More::is($status, 200, "$name - stream $c: 200")
        or Test::More::diag($head // '(no answer)', "\n", $rest // '');
    Test::More::is($h{'content-type'}, 'text/event-stream',
                   "$name - stream $c: Content-Type");
    Test::More::is($h{'cache-control'}, 'no-cache',
                   "$name - stream $c: Cache-Control");
    Test::More::is($h{'x-accel-buffering'}, 'no',
                   "$name - stream $c: X-Accel-Buffering");
}


# reads what is there (up to $wait seconds for the first bytes)

sub sse_fill {
    my ($c, $wait) = @_;

    my $sel = IO::Select->new($c->{sock});

    while ($sel->can_read($wait)) {
        my $n = sysread($c->{sock}, $c->{buf}, 65536, length $c->{buf});

        if (!$n) {
            $c->{eof} = 1;
            last;
        }

        $wait = 0;
    }

    return unless $c->{head_done};

    # whole messages: comments are kept apart, as the pings
    while ($c->{buf} =~ s/^(.*?)\n\n//s) {
        my %m;

        for my $line (split /\n/, $1) {
            if ($line =~ /^:\s?(.*)$/) { push @{ $c->{comments} }, $1; next }
            my ($k, $v) = $line =~ /^(\w+): ?(.*)$/ or next;
            $m{$k} = defined $m{$k} ? "$m{$k}\n$v" : $v;
        }

        push @{ $c->{msgs} }, \%m if %m;
    }
}


sub sse_labels {
    my ($spec) = @_;

    return () if $spec eq '-';

    return map {
        /^(.*?)(\d+)\.\.(\d+)$/ ? (map { "$1$_" } $2 .. $3) : ($_)
    } split /,/, $spec;
}


sub sse_expect {
    my ($name, $c, $spec, $any) = @_;

    my $s = $sse{$c} or die "$name: no stream \"$c\"\n";
    my @want = sse_labels($spec);

    my $deadline = time + (@want ? 5 : 0.5);

    while (time < $deadline && @{ $s->{msgs} } < (@want || 1)
           && !$s->{eof})
    {
        sse_fill($s, 0.05);
    }

    my @got = splice @{ $s->{msgs} }, 0, scalar @want;
    my @labels;
    my $well_formed = 1;

    for my $m (@got) {
        my $obj = eval { $json->decode($m->{data} // '') };
        push @labels, ref $obj eq 'HASH' ? $obj->{label} // '' : '(bad)';

        $well_formed = 0
            unless ref $obj eq 'HASH' && $m->{data} !~ /\n/
                   && defined $m->{id} && $m->{id} =~ /^(\d+)-(\d+)$/
                   && defined $m->{event} && $m->{event} eq $obj->{type}
                   && (!@{ $s->{ids} }
                       || id_before($s->{ids}[-1], $m->{id}));

        push @{ $s->{ids} }, $m->{id};
    }

    # "any": several workers add to the stream, in no set order
    if (defined $any && $any eq 'any') {
        @labels = sort @labels;
        @want = sort @want;
    }

    Test::More::is(join(',', @labels), join(',', @want),
                   "$name - stream $c: " . (@want ? "received $spec"
                                                  : 'nothing more'))
        or Test::More::diag(scalar(@{ $s->{msgs} }) . " more waiting: ",
                            join ',', map { $_->{data} // '' }
                                      @{ $s->{msgs} }[0 .. 2]);

    if (@want) {
        Test::More::ok($well_formed, "$name - stream $c: each message has "
                       . "a rising id, the type as event, one line of "
                       . "JSON");

    } else {
        Test::More::is(scalar @{ $s->{msgs} }, 0,
                       "$name - stream $c: no message left")
            or Test::More::diag(join ',', map { $_->{data} // '' }
                                          @{ $s->{msgs} });
        splice @{ $s->{msgs} };
    }
}


sub id_before {
    my ($a, $b) = @_;
    my ($am, $as) = split /-/, $a;
    my ($bm, $bs) = split /-/, $b;
    return $am < $bm || ($am == $bm && $as < $bs);
}


# a ": ping" comment arrives (within 1 s)

sub sse_ping {
    my ($name, $c) = @_;

    my $s = $sse{$c} or die "$name: no stream \"$c\"\n";
    my $deadline = time + 1;

    while (time < $deadline && !grep { $_ eq 'ping' } @{ $s->{comments} })
    {
        sse_fill($s, 0.05);
    }

    Test::More::ok((grep { $_ eq 'ping' } @{ $s->{comments} }),
                   "$name - stream $c: a ping comment");
    $s->{comments} = [];
}


sub sse_close {
    my ($name, $c) = @_;

    my $s = $sse{$c} or die "$name: no stream \"$c\"\n";
    close $s->{sock};

    # its ids stay, for after= and arg=
    $sse{$c} = { ids => $s->{ids} };
}


# "sse_answer C STATUS WORD": the answer to a "nowait" open, read to the
# connection's close (10 s at most), has STATUS and WORD in its body

sub sse_answer {
    my ($name, $c, $status, $word) = @_;

    my $s = $sse{$c} or die "$name: no stream \"$c\"\n";
    my $deadline = time + 10;

    sse_fill($s, 0.2) while !$s->{eof} && time < $deadline;

    my ($head, $body) = split /\r\n\r\n/, $s->{buf}, 2;
    my ($got) = ($head // '') =~ m{^HTTP/1\.[01] (\d+)};

    Test::More::is($got, $status, "$name - stream $c: $status")
        or Test::More::diag($head // '(no answer)');
    Test::More::like($body // '', qr/\Q$word\E/,
                     "$name - stream $c: the answer says \"$word\"");

    close $s->{sock};
    delete $sse{$c};
}


sub sse_closed {
    my ($name, $c) = @_;

    my $s = $sse{$c} or die "$name: no stream \"$c\"\n";
    my $deadline = time + 10;

    while (!$s->{eof} && time < $deadline) {
        sse_fill($s, 0.2);
        $s->{buf} = '';
        $s->{msgs} = [];
    }

    Test::More::ok($s->{eof}, "$name - stream $c: the server closed it");

    close $s->{sock};
    $sse{$c} = { ids => $s->{ids} };
}


# GETs until N answers came from another worker than the stream's

sub other_worker {
    my ($name, $c, $n, $uri) = @_;

    my $s = $sse{$c} or die "$name: no stream \"$c\"\n";
    my $pid = $s->{headers}{'x-pid'} // '';
    my ($sent, $elsewhere) = (0, 0);

    while ($elsewhere < $n && $sent < 200) {
        $sent++;
        my (undef, undef, undef, $head) =
            http_get("$uri&l=elsewhere-" . ($elsewhere + 1));
        my ($p) = $head =~ /^X-Pid: (\d+)/mi;

        if (defined $p && $p ne $pid) {
            $elsewhere++;

        } else {
            # same worker: that label is sent again by the next one
            Test::More::fail("$name - other_worker: no X-Pid") unless $p;
            sse_drop_label($s, 'elsewhere-' . ($elsewhere + 1));
        }
    }

    Test::More::is($elsewhere, $n,
                   "$name - $n beacons answered by another worker than "
                   . "stream ${c}'s ($pid)");
}


# a message the same worker produced is not what other_worker proves

sub sse_drop_label {
    my ($s, $label) = @_;

    my $deadline = time + 2;

    while (time < $deadline) {
        sse_fill($s, 0.05);

        for my $i (0 .. $#{ $s->{msgs} }) {
            my $obj = eval { $json->decode($s->{msgs}[$i]{data}) } || {};
            if (($obj->{label} // '') eq $label) {
                splice @{ $s->{msgs} }, $i, 1;
                return;
            }
        }
    }
}


# a second nginx instance on the same Redis

my ($nginx2_dir, $nginx2_port);

sub nginx2 {
    my ($name, $verb, @words) = @_;

    if ($verb eq 'start') {
        my $extra = '';

        for my $w (@words) {
            my ($k, $v) = split /=/, $w, 2;
            $v =~ tr/,/ /;
            $extra .= "    $k $v;\n";
        }

        $nginx2_dir = File::Temp::tempdir(CLEANUP => 1);
        $nginx2_port = free_port();
        mkdir "$nginx2_dir/logs";

        # as both runners do for the suite's nginx: the workers as root
        # too, so that they can write where it does (a sanitizer's report)
        my $user = $> == 0 ? 'user root;' : '';

        open my $fh, '>', "$nginx2_dir/nginx.conf" or die "$!\n";
        print $fh <<"CONF";
$user
load_module $ENV{TEST_NGINX_LOAD_MODULES};
worker_processes 1;
error_log $nginx2_dir/logs/error.log info;
pid $nginx2_dir/logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $nginx2_dir/body;
    clicktrack_redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT};
    clicktrack_cookie off;
$extra    server {
        listen 127.0.0.1:$nginx2_port;
        location = /ct { clicktrack_beacon; add_header X-Instance two; }
    }
}
CONF
        close $fh;

        my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
        system($bin, '-p', $nginx2_dir, '-c', "$nginx2_dir/nginx.conf",
               '-e', "$nginx2_dir/logs/error.log") == 0
            or Test::More::fail("$name - the second nginx started");

        for (1 .. 50) {
            last if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $nginx2_port);
            sleep 0.05;
        }

    } elsif ($verb eq 'get') {
        my ($status) = http_get($words[0], $nginx2_port);
        Test::More::is($status, 200, "$name - the second nginx answered "
                       . "$words[0]");

    } elsif ($verb eq 'stop') {
        nginx2_stop();

    } else {
        die "$name: nginx2: unknown \"$verb\"\n";
    }
}


sub nginx2_stop {
    return unless $nginx2_dir && -f "$nginx2_dir/logs/nginx.pid";

    open my $fh, '<', "$nginx2_dir/logs/nginx.pid" or return;
    my $pid = <$fh>;
    close $fh;
    chomp $pid;

    kill 'QUIT', $pid;

    for (1 .. 50) {
        last unless kill 0, $pid;
        sleep 0.05;
    }

    unlink "$nginx2_dir/logs/nginx.pid";
}


END { nginx2_stop() }


sub action {
    my ($block, $name, $step, $idx) = @_;

    $step =~ s/\$(TEST_NGINX_\w+)/$ENV{$1} \/\/ ''/ge;

    my ($verb, @words) = split ' ', $step;
    return unless defined $verb;

    if ($verb eq 'start')      { redis2_start() }
    elsif ($verb eq 'stop')    { redis2_signal('TERM', 1) }
    elsif ($verb eq 'kill')    { redis2_signal('KILL', 1) }
    elsif ($verb eq 'pause')   { redis2_signal('STOP', 0) }
    elsif ($verb eq 'resume')  { redis2_signal('CONT', 0) }
    elsif ($verb eq 'restart') { redis2_signal('KILL', 1); redis2_start() }
    elsif ($verb eq 'sleep')   { sleep $words[0] }
    elsif ($verb eq 'hup')     { my $pid = nginx_pid(); kill 'HUP', $pid }
    elsif ($verb eq 'load')    { load($name, @words) }
    elsif ($verb eq 'check')   { check($block, $name, $idx // 0) }
    elsif ($verb eq 'cmd')     { command($block, $name, @words) }
    elsif ($verb eq 'counters') { counters($block, $name, $idx // 0, @words) }
    elsif ($verb eq 'get')     { get($name, @words) }
    elsif ($verb eq 'sse_open') { sse_open($name, @words) }
    elsif ($verb eq 'sse_expect') { sse_expect($name, @words) }
    elsif ($verb eq 'sse_close') { sse_close($name, @words) }
    elsif ($verb eq 'sse_ping') { sse_ping($name, @words) }
    elsif ($verb eq 'sse_closed') { sse_closed($name, @words) }
    elsif ($verb eq 'sse_answer') { sse_answer($name, @words) }
    elsif ($verb eq 'proxy')   { proxy($name, @words) }
    elsif ($verb eq 'resp3')   { resp3($name, @words) }
    elsif ($verb eq 'other_worker') { other_worker($name, @words) }
    elsif ($verb eq 'nginx2')  { nginx2($name, @words) }
    elsif ($verb eq 'quit')    { nginx_quit($name) }
    elsif ($verb eq 'relaunch') { nginx_relaunch($name) }
    elsif ($verb eq 'kill_worker') { kill_worker($name) }
    elsif ($verb eq 'spool_files') { spool_files($name, @words) }
    elsif ($verb eq 'dir_files') { dir_files($name, @words) }
    elsif ($verb eq 'in_order') { in_order($block, $name, @words) }
    elsif ($verb eq 'consume') { consume($block, $name) }
    elsif ($verb eq 'post_open') { post_open($name, @words) }
    elsif ($verb eq 'post_send') { post_send($name, @words) }
    elsif ($verb eq 'post_answer') { post_answer($name, @words) }
    elsif ($verb eq 'log_lines') { log_lines($name, @words) }
    elsif ($verb eq 'keepalive') { keepalive($block, $name, @words) }
    elsif ($verb eq 'expect')  { expect($block, $name, @words) }
    elsif ($verb eq 'json')    { json_check($block, $name, @words) }
    else { die "$name: unknown action \"$verb\"\n" }
}


# where the checks read: the main or the second Redis, with
# "--- redis_auth: PASSWORD" and "--- redis_db: N" applied

# a command to the Redis the checks read: authenticated when the block
# names a password, else (before the password is set) as is

sub command {
    my ($block, $name, @words) = @_;

    my $target = port_of($block);

    # "cmd REPLICAOF 127.0.0.1 $TEST_NGINX_REDIS_PORT", as in config;
    # "cmd HSET prefix:{site}:<day-1d>:counts ...", as in expect()
    s/\$(TEST_NGINX_\w+)/$ENV{$1} \/\/ ''/ge for @words;
    $_ = rollup_time($_) for @words;

    if ($words[0] eq '-a') {
        my (undef, $password) = splice @words, 0, 2;
        $target = [ref $target ? $target->[0] : $target,
                   ['AUTH', $password]];
    }

    return if eval { redis($target, @words); 1 };
    return if ref $target && eval { redis($target->[0], @words); 1 };

    Test::More::fail("$name - redis command \"@words\": $@");
}


sub port_of {
    my ($block) = @_;

    my $port = defined $block->redis2 ? $ENV{TEST_NGINX_REDIS2_PORT}
                                      : $ENV{TEST_NGINX_REDIS_PORT};
    my @pre;

    push @pre, ['AUTH', scalar $block->redis_auth]
        if defined $block->redis_auth;
    push @pre, ['SELECT', scalar $block->redis_db]
        if defined $block->redis_db;

    return @pre ? [$port, @pre] : $port;
}


sub template_re {
    my ($t) = @_;

    my %ph = (
        '<uuid>' => '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}'
                    . '-[0-9a-f]{12}',
        '<ts>'   => '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z',
        '<any>'  => '(?:[^"\\\\]|\\\\.)*',
    );

    my $re = join '', map { $ph{$_} // quotemeta $_ }
                      split /(<uuid>|<ts>|<any>)/, $t;
    return qr/^$re$/;
}


# "@key" lines and templates -> { key => [templates] }, keys in order

sub expectations {
    my ($text, $default) = @_;

    my (@keys, %want);
    my $key = $default;

    for my $line (split /\n/, $text // '') {
        next if $line =~ /^\s*$/;

        if ($line =~ /^\@(\S+)\s*$/) {
            $key = $1;
            push @keys, $key unless $want{$key};
            $want{$key} ||= [];
            next;
        }

        push @keys, $key unless $want{$key};
        push @{ $want{$key} }, $line;
    }

    push @keys, $default unless @keys;
    $want{$default} ||= [] if @keys == 1 && $keys[0] eq $default;

    return (\@keys, \%want);
}


sub read_list {
    my ($port, $key) = @_;
    return redis($port, 'LRANGE', $key, 0, -1) || [];
}


sub read_stream {
    my ($port, $key) = @_;
    my $entries = redis($port, 'XRANGE', $key, '-', '+') || [];
    return [ map { my %f = @{ $_->[1] }; $f{e} } @$entries ];
}


sub compare {
    my ($name, $what, $got, $want) = @_;

    my $ok = @$got == @$want;

    for my $i (0 .. $#$want) {
        last unless $ok;
        $ok = defined $got->[$i] && $got->[$i] =~ template_re($want->[$i]);
    }

    return $ok;
}


sub check_kind {
    my ($block, $name, $what, $text, $default, $reader) = @_;

    my $port = port_of($block);
    my ($keys, $want) = expectations($text, $default);

    my $deadline = time + 6;
    my %got;

    while (1) {
        my $all = 1;

        for my $key (@$keys) {
            $got{$key} = eval { $reader->($port, $key) } || [];
            $all = 0 unless compare($name, $what, $got{$key}, $want->{$key});
        }

        # an empty expectation must stay empty a while: give the queue
        # time to flush what it should not have
        if ($all && !grep { @{ $want->{$_} } } @$keys) {
            sleep 0.15;
            for my $key (@$keys) {
                $got{$key} = eval { $reader->($port, $key) } || [];
                $all = 0 if @{ $got{$key} };
            }
        }

        last if $all || time > $deadline;
        sleep 0.02;
    }

    for my $key (@$keys) {
        my $got = $got{$key};
        my $w = $want->{$key};

        Test::More::is(scalar @$got, scalar @$w,
                       "$name - $what $key: element count")
            or Test::More::diag(join "\n", "got:", @$got);

        for my $i (0 .. $#$w) {
            my $g = $got->[$i] // '(none)';
            Test::More::like($g, template_re($w->[$i]),
                             "$name - $what $key: element $i");

            my $obj = eval { $json->decode($g) };
            Test::More::ok(ref $obj eq 'HASH' && $g !~ /\n/,
                           "$name - $what $key: element $i is one line of "
                           . "valid JSON");
        }

        eval { redis($port, 'DEL', $key) };
    }
}


sub check_count {
    my ($block, $name) = @_;

    my ($key, $n) = split ' ', scalar($block->redis_count);
    $n = $last_load if $n eq 'answered';

    my $port = port_of($block);
    my $deadline = time + 8;
    my $got = [];

    while (time < $deadline) {
        $got = read_list($port, $key);
        last if @$got >= $n;
        sleep 0.05;
    }

    my (%labels, %ids);
    for my $e (@$got) {
        my $obj = eval { $json->decode($e) } or next;
        $labels{ $obj->{label} // '' }++;
        $ids{ $obj->{id} // '' }++;
    }

    # a copy sent again keeps its id: consumers de-duplicate on it
    Test::More::is(scalar keys %ids, scalar keys %labels,
                   "$name - $key: one id per event, copies included");

    Test::More::is(scalar keys %labels, $n,
                   "$name - $key: $n distinct events arrived");
    Test::More::cmp_ok(scalar @$got, '>=', $n,
                       "$name - $key: nothing lost (" . @$got . " elements)");

    eval { redis($port, 'DEL', $key) };
}


# set by the body check: nginx answered this request with its own 400
my $nginx_refused;

sub check {
    my ($block, $name, $idx) = @_;

    my $list = per_request(scalar($block->redis_list), $idx);
    $list = '' if $nginx_refused;
    my $stream = per_request(scalar($block->redis_stream), $idx);

    if (defined $list) {
        check_kind($block, $name, 'list', $list, 'clicktrack:events',
                   \&read_list);
    }

    if (defined $stream) {
        check_kind($block, $name, 'stream', $stream, 'clicktrack:recent',
                   \&read_stream);
    }

    if (defined $block->redis_count) {
        check_count($block, $name);
    }
}


# counters URI: fetch the status JSON until it meets "--- counters" (the
# gauges settle a moment after Redis has the events), then check it

sub counters {
    my ($block, $name, $idx, $uri, @words) = @_;

    # "counters URI": the rules of "--- counters"; "counters URI SECTION":
    # those of another section; "counters URI name=N ...": rules inline
    my $want;

    if (@words == 1 && $words[0] =~ /^\w+$/) {
        $want = per_request(scalar($block->${\$words[0]}), $idx) // '';

    } elsif (@words) {
        $want = join("\n", @words);

    } else {
        $want = per_request(scalar($block->counters), $idx) // '';
    }

    my @rules = map { [/^\s*(\w+)\s*([=<>])\s*(\S+)\s*$/] }
                grep { /\S/ } split /\n/, $want;

    my ($status, $c);
    my $deadline = time + 5;

    while (1) {
        (my $s, undef, my $body) = http_get($uri);
        $status = $s;
        $c = eval { $json->decode($body) };

        last if ref $c eq 'HASH'
                && !(grep { !rule_holds($c, @$_) } @rules)
                && sums_up($c);
        last if time > $deadline;
        sleep 0.05;
    }

    Test::More::is($status, 200, "$name - counters: $uri answered");
    Test::More::ok(ref $c eq 'HASH', "$name - counters: the status is JSON")
        or return;

    for my $rule (@rules) {
        my ($key, $op, $value) = @$rule;
        Test::More::ok(rule_holds($c, @$rule),
                       "$name - counters: $key $op $value")
            or Test::More::diag("got $key = " . show($c->{$key}));
    }

    Test::More::ok(sums_up($c),
                   "$name - counters: accepted = pushed + queued + "
                   . "in_flight + spooled + dropped")
        or Test::More::diag(JSON::PP->new->canonical->encode($c));
}


sub show {
    my ($v) = @_;
    return JSON::PP::is_bool($v) ? ($v ? 'true' : 'false') : $v // 'null';
}


sub rule_holds {
    my ($c, $key, $op, $value) = @_;

    my $got = show($c->{$key});

    return $op eq '>' ? $got > $value
         : $op eq '<' ? $got < $value
         : $got eq $value;
}


sub sums_up {
    my ($c) = @_;

    my $sum = 0;
    $sum += $c->{$_} // 0 for qw(pushed queued in_flight spooled dropped);

    return defined $c->{accepted} && $c->{accepted} == $sum;
}


sub per_request {
    my ($value, $idx) = @_;
    return ref $value eq 'ARRAY' ? $value->[$idx] : $value;
}


# defaults(SECTION => VALUE, ...): the sections a block does not set
# itself, for a whole file

sub defaults {
    my (%default) = @_;

    Test::Nginx::Socket::add_block_preprocessor(sub {
        my ($block) = @_;

        for my $section (sort keys %default) {
            $block->set_value($section, $default{$section})
                unless defined scalar $block->$section;
        }
    });
}


# The setup the stream's files share (t/012, t/014, t/033): the suite's
# Redis, records with no cookie and no address, a beacon at /ct and a
# stream at /stream.  "locations" adds to that config; the other sections
# go to defaults() as they are, and a block's own sections still win.

my $stream_http_config = <<'CONF';
    clicktrack_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    clicktrack_cookie off;
    clicktrack_ip off;
CONF

my $stream_config = <<'CONF';
    location = /ct { clicktrack_beacon; }
    location = /stream { clicktrack_stream; }
CONF

sub stream_defaults {
    my (%default) = @_;
    my $more = delete $default{locations} // '';

    defaults(http_config => $stream_http_config,
             config => $stream_config . $more, %default);
}


Test::Nginx::Socket::add_block_preprocessor(sub {
    my ($block) = @_;

    eval { redis($ENV{TEST_NGINX_REDIS_PORT}, 'FLUSHALL') };

    proxy_stop();
    resp3_stop();

    if ($redis2_pid) {
        kill 'CONT', $redis2_pid;
        eval { redis($ENV{TEST_NGINX_REDIS2_PORT}, 'FLUSHALL') };
    }

    if (defined $block->redis_setup) {
        for my $step (split /;/, scalar($block->redis_setup)) {
            action($block, $block->name, $step);
        }
    }
});


Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    return if $dry_run;

    my $name = $block->name;

    $nginx_refused = per_request(scalar($block->nginx_may_refuse), $req_idx)
                     && ($body // '') =~ m{<title>400 Bad Request</title>};

    my $after = per_request(scalar($block->redis_after), $req_idx);
    my @steps = grep { /\S/ } split /;/, $after // '';

    push @steps, 'check' unless grep { /^\s*check\s*$/ } @steps;

    for my $step (@steps) {
        action($block, $name, $step, $req_idx);
    }

    nginx_relaunched_stop();
});


# --- slow request bodies

my %post;


sub post_open {
    my ($name, $c, $uri, $length, $bytes) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => nginx_port(), Timeout => 3)
        or die "$name: connect: $!\n";

    $sock->autoflush(1);

    print $sock "POST $uri HTTP/1.1\r\nHost: localhost\r\n"
                . "Content-Type: application/x-www-form-urlencoded\r\n"
                . "Content-Length: $length\r\n\r\n" . ($bytes // '');

    $post{$c} = { sock => $sock, sent => time };
}


sub post_send {
    my ($name, $c, $bytes, $ms) = @_;

    my $p = $post{$c} or die "$name: no client \"$c\"\n";
    local $SIG{PIPE} = 'IGNORE';

    for my $byte (split //, $bytes) {
        sleep $ms / 1000;
        print { $p->{sock} } $byte;
        $p->{sent} = time;
    }
}


sub post_answer {
    my ($name, $c, $want, $min, $max) = @_;

    my $p = delete $post{$c} or die "$name: no client \"$c\"\n";
    my $sel = IO::Select->new($p->{sock});
    my $got = '';

    # until the server closes, or an answer's head has come
    while ($sel->can_read(List::Util::max(0, $p->{sent} + $max + 1 - time)))
    {
        my $n = sysread($p->{sock}, $got, 65536, length $got);
        last if !$n || $got =~ /\r\n\r\n/;
    }

    my $took = time - $p->{sent};
    close $p->{sock};

    my ($status) = $got =~ m{^HTTP/1\.[01] (\d+)};

    Test::More::is($status // 'none', $want,
                   "$name - client $c: answered $want")
        or Test::More::diag("got: " . substr($got, 0, 200));
    Test::More::ok($took >= $min && $took <= $max,
                   sprintf("$name - client $c: after %.2f s, within "
                           . "$min..$max s", $took));
}


sub log_lines {
    my ($name, $text, $op, $n) = @_;

    my $log = servroot() . '/logs/error.log';
    open my $fh, '<', $log or die "$name: $log: $!\n";
    my $got = grep { index($_, $text) >= 0 } <$fh>;
    close $fh;

    Test::More::ok(rule_holds({ n => $got }, 'n', $op, $n),
                   "$name - error.log: lines with \"$text\" $op $n")
        or Test::More::diag("got $got");
}


# --- requests one after another on one keep-alive connection

# keepalive SECTION: the block's SECTION is a list of [REQUEST,
# CONTENT_TYPE, STATUS, BODY_RE], REQUEST in Test::Nginx's shorthand
# ("METHOD URI", then an optional body after a newline).  Each is sent
# when the answer to the one before has come, with the answer read by its
# Content-Length (none for 204 and 304): the real Test::Nginx reads a 204
# in --- pipelined_requests until the connection closes.

sub keepalive {
    my ($block, $name, $section) = @_;

    my $list = $block->$section;
    die "$name: no --- $section list\n" unless ref $list eq 'ARRAY';

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => nginx_port(), Timeout => 3)
        or die "$name: connect: $!\n";

    my $sel = IO::Select->new($sock);
    my ($i, $bad, $buf) = (0, 0, '');

    for my $r (@$list) {
        my ($req, $type, $want, $re) = @$r;
        my ($line, $body) = split /\n/, $req, 2;

        $i++;
        print $sock "$line HTTP/1.1\r\nHost: localhost\r\n"
                    . ($type ? "Content-Type: $type\r\n" : '')
                    . (defined $body
                       ? "Content-Length: " . length($body) . "\r\n" : '')
                    . "\r\n" . ($body // '');

        my ($status, $got) = keepalive_answer($sock, $sel, \$buf);

        next if defined $status && $status == $want && $got =~ $re;

        $bad++;
        Test::More::diag("$name - request $i ($line): got "
                         . ($status // 'no answer') . " \"$got\"");
        last unless defined $status;
    }

    close $sock;

    Test::More::is($bad, 0, "$name - keepalive: " . scalar(@$list)
                   . " requests on one connection, each answered as"
                   . " expected");
}


sub keepalive_answer {
    my ($sock, $sel, $buf) = @_;

    my $fill = sub {
        return 0 unless $sel->can_read(5);
        return sysread($sock, $$buf, 65536, length $$buf);
    };

    while ($$buf !~ /\r\n\r\n/) {
        $fill->() or return;
    }

    my $end = index($$buf, "\r\n\r\n") + 4;
    my $head = substr($$buf, 0, $end);
    my ($status) = $head =~ m{^HTTP/1\.[01] (\d+)};
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;

    $len = 0 if !defined $len || $status == 204 || $status == 304;

    while (length($$buf) < $end + $len) {
        $fill->() or return;
    }

    my $body = substr($$buf, $end, $len);
    substr($$buf, 0, $end + $len) = '';

    return ($status, $body);
}


# --- the spool: stop and start nginx within a block, look at the files

sub servroot {
    return $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
}


sub nginx_quit {
    my ($name) = @_;

    my $pid = nginx_pid();
    Test::More::ok($pid, "$name - quit: nginx runs") or return;

    kill 'QUIT', $pid;

    my $deadline = time + 15;
    sleep 0.05 while kill(0, $pid) && waitpid($pid, POSIX::WNOHANG()) <= 0
                     && time < $deadline;

    Test::More::ok(!kill(0, $pid), "$name - quit: nginx has exited");
}


# "proxy start MS": a TCP relay on $TEST_NGINX_PROXY_PORT to the main
# Redis that holds back, by MS milliseconds, what a client sends that
# holds XRANGE or XREVRANGE (and what it sends after, in order); "proxy
# stop".  A block's start stops one left running.

my $proxy;

sub proxy {
    my ($name, $verb, $ms) = @_;

    server_stop(\$proxy);
    return if $verb eq 'stop';

    $proxy = server_start($name, 'proxy', $ENV{TEST_NGINX_PROXY_PORT},
                          sub { proxy_serve($_[0], ($ms // 0) / 1000) });
}


sub proxy_stop { server_stop(\$proxy) }


# waitpid sets $?, which is the test's exit code in an END block
END { local $?; proxy_stop() }


# a fake server of the tests, listening on PORT and forked to run SERVE
# with the listening socket; [pid, the test process that forked it]

sub server_start {
    my ($name, $what, $port, $serve) = @_;

    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => $port,
                                       Listen => 64, ReuseAddr => 1)
        or die "$name: $what: listen: $!\n";

    my $pid = fork // die "$name: $what: fork: $!\n";

    if ($pid == 0) {
        $serve->($listen);
        POSIX::_exit(0);
    }

    close $listen;
    return [$pid, $$];
}


# only the process that started it stops it (not a forked child)

sub server_stop {
    my ($server) = @_;

    return unless $$server && $$server->[1] == $$;

    kill 'KILL', $$server->[0];
    waitpid $$server->[0], 0;
    undef $$server;
}


sub proxy_serve {
    my ($listen, $delay) = @_;

    my $sel = IO::Select->new($listen);
    my (%to, %held, @later);

    while (1) {
        my $wait = @later ? List::Util::max(0, $later[0][0] - time) : undef;

        for my $s ($sel->can_read($wait)) {
            if ($s == $listen) {
                my $client = $listen->accept or next;
                my $redis = IO::Socket::INET->new(
                                PeerAddr => '127.0.0.1',
                                PeerPort => $ENV{TEST_NGINX_REDIS_PORT})
                    or do { close $client; next };

                $to{fileno $client} = [$redis, 1];
                $to{fileno $redis} = [$client, 0];
                $sel->add($client, $redis);
                next;
            }

            my ($peer, $from_client) = @{ $to{fileno $s} // next };
            my $n = sysread($s, my $buf, 65536);

            if (!$n) {
                delete $to{fileno $_} for $s, $peer;
                $sel->remove($s, $peer);
                close $_ for $s, $peer;
                next;
            }

            if ($from_client
                && ($held{fileno $peer} || $buf =~ /X(?:REV)?RANGE/))
            {
                $held{fileno $peer}++;
                push @later, [time + $delay, $peer, $buf];
                next;
            }

            proxy_write($peer, $buf);
        }

        while (@later && $later[0][0] <= time) {
            my ($when, $peer, $buf) = @{ shift @later };
            $held{fileno $peer}-- if defined fileno $peer;
            proxy_write($peer, $buf);
        }
    }
}


sub proxy_write {
    my ($sock, $buf) = @_;

    while (length $buf && defined fileno $sock) {
        my $n = syswrite($sock, $buf) or return;
        substr($buf, 0, $n, '');
    }
}


# "resp3 start KIND": a fake Redis on $TEST_NGINX_REDIS2_PORT that reads
# commands (RESP arrays of bulk strings, as hiredis sends them) and answers
# each with one RESP3 reply of KIND; "resp3 stop".  The module speaks RESP2
# only, so it must take none of them for an answer (t/034-resp3.t).

my %resp3_reply = (
    map    => "%1\r\n+a\r\n+b\r\n",
    double => ",1.5\r\n",
    bool   => "#t\r\n",
    nested => "*2\r\n+a\r\n,1.5\r\n",
);

my $resp3;

sub resp3 {
    my ($name, $verb, $kind) = @_;

    resp3_stop();
    return if $verb eq 'stop';

    my $reply = $resp3_reply{$kind // ''}
        // die "$name: resp3: no reply kind \"" . ($kind // '') . "\"\n";

    $resp3 = server_start($name, 'resp3', $ENV{TEST_NGINX_REDIS2_PORT},
                          sub { resp3_serve($_[0], $reply) });
}


sub resp3_stop { server_stop(\$resp3) }


END { local $?; resp3_stop() }


sub resp3_serve {
    my ($listen, $reply) = @_;

    my $sel = IO::Select->new($listen);
    my %buf;

    while (1) {
        for my $s ($sel->can_read) {
            if ($s == $listen) {
                my $client = $listen->accept or next;
                $buf{fileno $client} = '';
                $sel->add($client);
                next;
            }

            my $n = sysread($s, $buf{fileno $s}, 65536,
                            length $buf{fileno $s});

            if (!$n) {
                delete $buf{fileno $s};
                $sel->remove($s);
                close $s;
                next;
            }

            # one reply for each whole command
            proxy_write($s, $reply) while resp3_command(\$buf{fileno $s});
        }
    }
}


# takes one whole command off the buffer; false while it is not all there

sub resp3_command {
    my ($buf) = @_;

    pos($$buf) = 0;
    $$buf =~ /\G\*(\d+)\r\n/gc or return 0;
    my $args = $1;

    for (1 .. $args) {
        $$buf =~ /\G\$(\d+)\r\n/gc or return 0;
        my $end = pos($$buf) + $1 + 2;
        return 0 if length $$buf < $end;
        pos($$buf) = $end;
    }

    substr($$buf, 0, pos($$buf), '');
    return 1;
}


# "kill_worker": SIGKILL to nginx's one worker, then wait until the master
# has started the next one

sub kill_worker {
    my ($name) = @_;

    my $master = nginx_pid();
    my @old = nginx_workers($master);

    Test::More::is(scalar @old, 1, "$name - kill_worker: one worker")
        or return;

    kill 'KILL', $old[0];

    my (@new, $deadline);
    $deadline = time + 10;

    while (time < $deadline) {
        @new = grep { $_ != $old[0] } nginx_workers($master);
        last if @new;
        sleep 0.05;
    }

    Test::More::ok(@new && !kill(0, $old[0]),
                   "$name - kill_worker: $old[0] killed, a new worker runs")
        or return;

    # the new worker has run init_process once it answers
    http_get('/status');
}


# nginx's workers: the master's children that run the master's program.
# Found by their parent in /proc, not by their title, which nginx under
# valgrind has not ("memcheck-amd64-", like its master); the same for
# both runners, which write the master's pid to logs/nginx.pid.

sub nginx_workers {
    my ($master) = @_;
    my @pids;

    return () unless $master;

    my ($own) = proc_stat($master) or return ();

    for my $stat (glob '/proc/[0-9]*/stat') {
        my ($pid) = $stat =~ m{/proc/(\d+)/};
        my ($comm, $ppid) = proc_stat($pid) or next;
        push @pids, $pid if $ppid == $master && $comm eq $own;
    }

    return @pids;
}


# a process's command name and parent from /proc/PID/stat
sub proc_stat {
    my ($pid) = @_;

    open my $fh, '<', "/proc/$pid/stat" or return;
    my $line = <$fh> // return;
    my ($comm, $ppid) = $line =~ /^\d+ \((.*)\) \S+ (\d+)/ or return;

    return ($comm, $ppid);
}


# With TEST_NGINX_USE_VALGRIND both runners write "daemon off" and run
# nginx under valgrind in the foreground; "relaunch" then does the same,
# in a child of this process, and stops it (QUIT, waiting for valgrind to
# write its report to logs/valgrind.PID.log) once the actions after that
# request are done.  Without it, nginx forks its daemon and the exit is awaited.

my $relaunched;

sub nginx_relaunch {
    my ($name) = @_;

    my $root = File::Spec->rel2abs(servroot());
    my @cmd = ($ENV{TEST_NGINX_BINARY} || 'nginx', '-p', "$root/",
               '-c', "$root/conf/nginx.conf");

    open my $fh, '<', "$root/conf/nginx.conf" or die "$name: conf: $!\n";
    my $foreground = grep { /^\s*daemon\s+off\s*;/ } <$fh>;
    close $fh;

    if (!$foreground) {
        my $rc = system(@cmd);
        Test::More::is($rc, 0, "$name - relaunch: nginx started again");

    } else {
        if ($ENV{TEST_NGINX_USE_VALGRIND}) {
            my $supp = File::Spec->rel2abs('valgrind.suppress');
            unshift @cmd, 'valgrind', '-q', '--leak-check=full',
                          '--show-possibly-lost=no',
                          "--log-file=$root/logs/valgrind.%p.log",
                          -f $supp ? "--suppressions=$supp" : ();
        }

        $relaunched = fork;
        die "$name: fork: $!\n" unless defined $relaunched;

        if ($relaunched == 0) {
            setpgrp;
            open STDOUT, '>>', "$root/logs/nginx.stderr";
            open STDERR, '>&', \*STDOUT;
            exec { $cmd[0] } @cmd or POSIX::_exit(127);
        }

        Test::More::pass("$name - relaunch: nginx started again");
    }

    my $deadline = time + ($ENV{TEST_NGINX_USE_VALGRIND} ? 60 : 5);

    while (time < $deadline) {
        last if nginx_pid() && (http_get('/'))[0];
        sleep 0.05;
    }
}


sub nginx_relaunched_stop {
    return unless $relaunched;

    kill 'QUIT', $relaunched;

    my $deadline = time + 60;
    sleep 0.05 while waitpid($relaunched, POSIX::WNOHANG()) == 0
                     && time < $deadline;

    if (kill 0, $relaunched) {
        kill 'KILL', -$relaunched;
        waitpid $relaunched, 0;
    }

    undef $relaunched;
}


sub spool_files {
    my ($name, $dir, $op, $n) = @_;

    count_files($name, $dir, $op, $n, "spool files in $dir",
                sub { $_[0] =~ /^[wr]\./ && -s $_[1] });
}


sub dir_files {
    my ($name, $dir, $prefix, $op, $n) = @_;

    count_files($name, $dir, $op, $n, "files $prefix* in $dir",
                sub { index($_[0], $prefix) == 0 });
}


# waits up to 6 s for the number of files under the server root's DIR
# that WANTED(name, path) accepts to be OP N

sub count_files {
    my ($name, $dir, $op, $n, $what, $wanted) = @_;

    my $path = servroot() . "/$dir";
    my $got;
    my $deadline = time + 6;

    while (1) {
        opendir my $dh, $path or die "$name: opendir $path: $!\n";
        $got = grep { $wanted->($_, "$path/$_") } readdir $dh;
        closedir $dh;

        last if rule_holds({ n => $got }, 'n', $op, $n) || time > $deadline;
        sleep 0.05;
    }

    Test::More::ok(rule_holds({ n => $got }, 'n', $op, $n),
                   "$name - $what $op $n")
        or Test::More::diag("got $got");
}


sub in_order {
    my ($block, $name, $key) = @_;

    my $list = redis(port_of($block), 'LRANGE', $key, 0, -1);
    my @seq = map { /"label":"load-(\d+)"/ ? $1 : () } @$list;
    my @bad = grep { $seq[$_] <= $seq[$_ - 1] } 1 .. $#seq;

    Test::More::ok(@seq && !@bad, "$name - in_order: " . scalar(@seq)
                                  . " load labels in $key in order")
        or Test::More::diag(@bad ? "load-$seq[$bad[0]] after "
                                   . "load-$seq[$bad[0] - 1]" : "no labels");
}


# "--- SECTION" lines "COMMAND ARG ... => WANT" for the rollups: a reply
# (an array's elements joined by one space, nil "(nil)") must be WANT
# exactly, or "~N" (a number within 2% of N), ">N" or "<N".  In ARGs and
# WANT, <day> is today in UTC (YYYY-MM-DD), <day+HH:MM> / <day-HH:MM> in
# that offset, <day-Nd> N days ago, <hour> the UTC hour (HH), <minute>
# YYYY-MM-DDTHH:MM (UTC).

sub expect {
    my ($block, $name, $section) = @_;

    my @lines = grep { /\S/ } split /\n/, $block->$section // '';
    my $deadline = time + 6;
    my ($line, $got, $want);

    while (1) {
        my @bad;

        for my $l (@lines) {
            my ($cmd, $w) = split /\s+=>\s*/, $l, 2;
            $cmd = rollup_time($cmd);
            $w = rollup_time($w // '');

            my $r = eval { redis(port_of($block), split ' ', $cmd) };
            $r = "error: $@" if $@;
            $r = join ' ', map { $_ // '(nil)' } @$r if ref $r eq 'ARRAY';
            $r = '(nil)' unless defined $r;

            push @bad, [$cmd, $r, $w] unless reply_is($r, $w);
        }

        if (!@bad || time > $deadline) {
            Test::More::ok(!@bad, "$name - expect $section: "
                                  . @lines . " rollup check(s)")
                or Test::More::diag(join "\n", map { "$_->[0]: got "
                                   . "\"$_->[1]\", want \"$_->[2]\"" } @bad);
            return;
        }

        sleep 0.1;
    }
}


sub json_check {
    my ($block, $name, $uri, $section) = @_;

    $uri = rollup_time($uri);

    my ($status, undef, $body) = http_get($uri);
    $body //= '';

    Test::More::is($status, 200, "$name - json $uri: 200")
        or Test::More::diag($body);

    my $doc = eval { $json->decode($body) };
    Test::More::ok($doc, "$name - json $uri: a JSON body")
        or return Test::More::diag($body);

    my $canon = JSON::PP->new->canonical->allow_nonref;

    for my $l (grep { /\S/ } split /\n/, $block->$section // '') {
        my ($path, $want) = split /\s+=>\s*/, $l, 2;
        $path = rollup_time($path);
        $want = rollup_time($want // '');

        my $v = $doc;

        for my $k (split /\./, $path) {
            if ($k eq '#') {
                $v = ref $v eq 'ARRAY' ? scalar @$v : undef;
            } elsif (ref $v eq 'ARRAY') {
                $v = $v->[$k];
            } elsif (ref $v eq 'HASH') {
                $v = $v->{$k};
            } else {
                undef $v;
            }
        }

        my $got = ref $v ? $canon->encode($v)
                         : defined $v ? (JSON::PP::is_bool($v) ? "$v" : $v)
                                      : 'null';

        Test::More::ok(reply_is($got, $want), "$name - json $path")
            or Test::More::diag("$path: got $got, want $want");
    }
}


sub reply_is {
    my ($got, $want) = @_;

    my ($op, $n) = $want =~ /^([~<>])(-?\d+)$/;

    return $got eq $want unless defined $op;
    return 0 unless $got =~ /^-?\d+$/;

    return abs($got - $n) <= 0.02 * $n if $op eq '~';
    return $op eq '>' ? $got > $n : $got < $n;
}


sub rollup_time {
    my ($s) = @_;

    my $now = time;

    my $day = sub {
        my ($sign, $hh, $mm) = @_;
        my $off = ($sign eq '-' ? -1 : 1) * ($hh * 3600 + $mm * 60);
        return POSIX::strftime('%Y-%m-%d', gmtime($now + $off));
    };

    $s =~ s/<day([+-])(\d\d):(\d\d)>/$day->($1, $2, $3)/ge;
    $s =~ s/<day-(\d+)d>/POSIX::strftime('%Y-%m-%d',
                                          gmtime($now - 86400 * $1))/ge;
    $s =~ s/<day>/POSIX::strftime('%Y-%m-%d', gmtime $now)/ge;
    $s =~ s/<hour>/POSIX::strftime('%H', gmtime $now)/ge;
    $s =~ s/<minute>/POSIX::strftime('%Y-%m-%dT%H:%M', gmtime $now)/ge;

    return $s;
}


sub consume {
    my ($block, $name) = @_;

    my $port = port_of($block);
    $port = $port->[0] if ref $port;

    local $ENV{REDIS_PORT} = $port;
    my @got = `docs/examples/consumer.sh --once`;
    Test::More::is($?, 0, "$name - consume: docs/examples/consumer.sh succeeded");
    chomp @got;

    my @want = grep { /\S/ } split /\n/, $block->consumed // '';
    Test::More::is(scalar @got, scalar @want,
                   "$name - consume: " . @want . " event(s) handled")
        or Test::More::diag(join "\n", @got);

    for my $i (0 .. $#want) {
        Test::More::like($got[$i] // '(none)', template_re($want[$i]),
                         "$name - consume: event $i");
    }

    for my $key ('clicktrack:events', 'clicktrack:events:processing') {
        Test::More::is(redis($port, 'LLEN', $key), 0,
                       "$name - consume: $key is empty");
    }
}


1;
