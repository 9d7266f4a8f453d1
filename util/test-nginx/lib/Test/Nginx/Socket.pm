package Test::Nginx::Socket;

# A stand-in for openresty's Test::Nginx::Socket: it runs t/*.t files
# written in that format when the real module is not installed.  Written
# from scratch for clicktrack; util/test-nginx/README.md says what it
# supports and where it differs from the real one.

use strict;
use warnings;

# The code of "eval" section filters runs here, in package main and before
# any of this file's lexicals exist, so it sees what the test file sees.
sub eval_in_main { package main; return eval $_[0] }

use Exporter ();
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(min shuffle sum);
use POSIX qw(WNOHANG);
use Scalar::Util qw(openhandle);
use Time::HiRes qw(sleep time);
use Test::More import => [qw(ok is isnt like unlike is_deeply cmp_ok skip
                             todo_skip pass fail diag plan)];

our $VERSION = '0.01';
our @ISA = qw(Exporter);
our @EXPORT = qw(
    ok is isnt like unlike is_deeply cmp_ok skip todo_skip pass fail diag plan
    blocks run_tests repeat_each no_shuffle add_block_preprocessor
    add_response_body_check master_on master_off workers worker_connections
    log_level no_long_string no_root_location env_to_nginx is_str
    config_preamble server_name server_addr server_port server_root html_dir
    timeout bail_out
);

# Sections the real module acts on but this runner does not: a test that
# uses one must not pass by having it ignored.
my @UNSUPPORTED_SECTIONS = qw(
    access_log charset curl_error curl_options curl_protocol
    error_log_file grep_error_log grep_error_log_out http09 http2 http3
    ignore_response init no_access_log post_main_config
    post_setup_server_root quic_max_idle_timeout raw_request_middle_delay
    raw_response_headers_like raw_response_headers_unlike reload_fails
    request_eval response_body_eval response_body_filters
    response_body_json_sort server_addr_for_client server_name shutdown
    skip_eval skip_nginx skip_nginx2 skip_openssl skip_slave stap stap_out
    stap_out_like stap_out_unlike tcp_listen tcp_no_close tcp_query
    tcp_query_auto_timeout tcp_query_len tcp_reply tcp_reply_delay
    tcp_shutdown tcp_shutdown_delay todo todo_nginx udp_listen udp_query
    udp_reply udp_reply_delay write_resp_body_file
);

my $RepeatEach        = 1;
my $NoShuffle         = $ENV{TEST_NGINX_NO_SHUFFLE};
my $MasterProcess     = 'off';
my $Workers           = 1;
my $WorkerConnections = 64;
my $LogLevel          = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
my $NoRootLocation    = 0;
my $NoLongString      = 0;
my $ConfigPreamble    = '';
my $ServerName        = 'localhost';
my $ServerAddr        = '127.0.0.1';
my $ServerPort        = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                        || 1984;
my $Timeout           = $ENV{TEST_NGINX_TIMEOUT} || 3;
my $Sleep             = $ENV{TEST_NGINX_SLEEP} || 0.015;
my $Valgrind          = $ENV{TEST_NGINX_USE_VALGRIND};
my $NoClean           = $ENV{TEST_NGINX_NO_CLEAN};
my (@EnvToNginx, @BlockPreprocessors, @ResponseBodyChecks);

my $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
my $HtmlDir  = "$ServRoot/html";
my $LogDir   = "$ServRoot/logs";
my $ErrorLog = "$LogDir/error.log";
my $PidFile  = "$LogDir/nginx.pid";
my $ConfFile = "$ServRoot/conf/nginx.conf";

my $Blocks;          # parsed from the test file's __DATA__ on first use
my $Binary;          # the nginx executable, found on first use
my $BuildInfo;       # its "nginx -V" output
my $Launched;        # an nginx was started by this process
my $Foreground;      # pid of our nginx child when it does not daemonize
my $ErrorLogPos = 0; # how much of error.log the checks have read

sub import {
    my ($class, @plan) = @_;
    plan(@plan) if @plan;
    $class->export_to_level(1, $class);
}

sub repeat_each        { $RepeatEach = shift if @_; $RepeatEach }
sub workers            { $Workers = shift if @_; $Workers }
sub worker_connections { $WorkerConnections = shift if @_; $WorkerConnections }
sub log_level          { $LogLevel = shift if @_; $LogLevel }
sub server_name        { $ServerName = shift if @_; $ServerName }
sub server_addr        { $ServerAddr = shift if @_; $ServerAddr }
sub server_port        { $ServerPort = shift if @_; $ServerPort }
sub timeout            { $Timeout = shift if @_; $Timeout }
sub config_preamble    { $ConfigPreamble = shift }
sub master_on          { $MasterProcess = 'on' }
sub master_off         { $MasterProcess = 'off' }
sub no_shuffle         { $NoShuffle = 1 }
sub no_root_location   { $NoRootLocation = 1 }
sub no_long_string     { $NoLongString = 1 }
sub html_dir           { $HtmlDir }
sub server_root        { $ServRoot }

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_response_body_check    { push @ResponseBodyChecks, shift }

sub env_to_nginx {
    for (@_) {
        die "env_to_nginx: bad argument '$_'\n" if !/^[A-Za-z_]/ || /\n/;
        push @EnvToNginx, $_;
    }
}

sub bail_out {
    stop_nginx();
    Test::More::BAIL_OUT(join '', @_);
}

# Compares strings.  Unless no_long_string() was called, a mismatch shows
# where the strings part rather than both in full.
sub is_str {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    return like($got, $expected, $desc) if ref $expected eq 'Regexp';
    return is($got, $expected, $desc) if $NoLongString || !defined $got
                                         || !defined $expected;
    return ok(1, $desc) if $got eq $expected;

    my $at = 0;
    $at++ while substr($got, $at, 1) eq substr($expected, $at, 1);
    my $from = $at > 30 ? $at - 30 : 0;
    my @show = map { my $s = substr $_, $from, 70;
                     $s =~ s/([^\x20-\x7e])/sprintf '\\x{%02x}', ord $1/ge;
                     qq{"$s", length } . length($_) } $got, $expected;

    ok(0, $desc);
    diag("strings differ from char " . ($at + 1) . " (line "
         . (1 + (substr($got, 0, $at) =~ tr/\n//)) . "), shown from char "
         . ($from + 1) . ":\n         got: $show[0]\n    expected: $show[1]");
    return 0;
}

# The test data: Test::Base's "=== name" blocks of "--- section" parts.

sub blocks {
    if (!$Blocks) {
        no warnings 'once';
        my $fh = openhandle(\*main::DATA);
        $Blocks = [parse_spec($fh ? do { local $/; <$fh> } : '')];
    }

    return scalar @$Blocks unless wantarray;
    $_->_filter for @$Blocks;
    return @$Blocks;
}

sub parse_spec {
    my ($spec) = @_;
    my @blocks;

    for my $hunk ($spec =~ /^(===.*?)(?=^===|\z)/msg) {
        my $block = parse_block($hunk);

        if (exists $block->{ONLY}) {
            diag("I found ONLY: maybe you're debugging?");
            return $block;
        }

        next if exists $block->{SKIP};
        push @blocks, $block;
        last if exists $block->{LAST};
    }

    return @blocks;
}

sub parse_block {
    my ($hunk) = @_;
    $hunk =~ s/\A===[ \t]*(.*)\s*//;
    my $block = bless { name => [$1], _order => [], _filters => {} },
                      'Test::Nginx::Socket::Block';
    my (undef, @parts) = split /^--- +\(?(\w+)\)? *(.*)?\n/m, $hunk;

    while (my ($section, $filters, $value) = splice @parts, 0, 3) {
        ($filters, $value) = ($filters // '', $value // '');

        if ($filters =~ /:(?:\s|\z)/) {    # "--- section: value"
            die "$block->{name}[0]: --- $section has an inline value and "
                . "more lines\n" if $value =~ /\S/;
            ($filters, $value) = split /\s*:(?:\s+|\z)/, $filters, 2;
            ($value //= '') =~ s/^\s+|\s+$//g;
        }

        $block->{$section} = [$value];
        $block->{_filters}{$section} = $filters;
        push @{ $block->{_order} }, $section;
    }

    return $block;
}

sub run_tests {
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;
    $ENV{TEST_NGINX_SERVROOT} = $ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
    $ENV{TEST_NGINX_HTML_DIR} = $HtmlDir;

    my @blocks = blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $i (0 .. $#blocks) {
        my $block = $blocks[$i];

        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);

        my @unsupported = grep { exists $block->{$_} } @UNSUPPORTED_SECTIONS;
        die $block->name, ": this fallback runner does not support --- ",
            join(', --- ', @unsupported), "\n" if @unsupported;

        for my $section (grep { !/^_/ && $_ ne 'name' } keys %$block) {
            $_ = expand_env($_, $block->name) for @{ $block->{$section} };
        }

        run_block($block, $i == $#blocks);
    }

    Test::More::done_testing() unless Test::More->builder->has_plan;
}

# $TEST_NGINX_* made the environment's values, in strings and arrays.
sub expand_env {
    my ($value, $name) = @_;
    return [map { expand_env($_, $name) } @$value] if ref $value eq 'ARRAY';
    return $value if !defined $value || ref $value;

    $value =~ s{\$(TEST_NGINX_[A-Z0-9_]+)}{
        $ENV{$1} // bail_out("$name - No environment $1 defined.\n")
    }ge;
    return $value;
}

sub run_block {
    my ($block, $is_last) = @_;
    my $valgrind = $Valgrind && !defined $block->must_die;

    stop_nginx();
    setup_servroot($block, $valgrind);
    $ErrorLogPos = 0;

    return expect_death($block) if defined $block->must_die;

    my $up = start_nginx($block, $valgrind);

    for my $rep (0 .. $RepeatEach - 1) {
        write_user_files($block) if $rep > 0;
        run_requests($block, $rep, $up);
    }

    my $shutdown_checks = () = (log_patterns($block->shutdown_error_log),
                                log_patterns($block->no_shutdown_error_log));

    if ($NoClean && $is_last) {
        SKIP: {
            skip($block->name . ' - TEST_NGINX_NO_CLEAN leaves nginx running',
                 $shutdown_checks) if $shutdown_checks;
        }
        return;
    }

    stop_nginx();
    check_log($block, 'shutdown_error_log', 'no_shutdown_error_log',
              'error.log at shutdown') if $shutdown_checks;
    check_valgrind($block) if $valgrind;
}

# "--- must_die": nginx must refuse to start (with the given exit code).
sub expect_death {
    my ($block) = @_;
    my ($name, $code) = ($block->name, $block->must_die);

    for my $rep (0 .. $RepeatEach - 1) {
        my $status = launch_nginx(0);

        if ($code =~ /^\d+$/) {
            is($status >> 8, $code, "$name - nginx exits with code $code");
        } else {
            isnt($status, 0, "$name - nginx fails to start as expected");
        }

        check_log($block, 'error_log', 'no_error_log', "error.log (req $rep)");
        stop_nginx() if $status == 0;
    }
}

# The server root (conf/, html/, logs/, *_temp/), made anew for every block.

sub setup_servroot {
    my ($block, $valgrind) = @_;

    # Only what this runner creates goes, in case TEST_NGINX_SERVROOT
    # points at something precious.
    remove_tree("$ServRoot/conf", $HtmlDir, $LogDir, glob "$ServRoot/*_temp");
    make_path("$ServRoot/conf", $HtmlDir, $LogDir);

    write_file("$HtmlDir/index.html", '<html><head><title>It works!</title>'
               . '</head><body>It works!</body></html>');
    write_user_files($block);
    write_file($ConfFile, nginx_conf($block, $valgrind));
}

# "--- user_files": ">>> path [touch -t date]" lines, each followed by the
# file's content, or (eval) an array of [path, content, date].
sub write_user_files {
    my ($block) = @_;
    my $files = $block->user_files // return;

    if (!ref $files) {
        my @list;
        for (split /^/, $files) {
            if (/^>>> (\S+)(?:\s+(\S+))?/) {
                push @list, [$1, '', $2];
            } elsif (@list) {
                $list[-1][1] .= $_;
            }
        }
        $files = \@list;
    }

    for (@$files) {
        my ($path, $content, $date) = @$_;

        $path = "$HtmlDir/$path" unless $path =~ m{^/};
        make_path(dirname($path));
        write_file($path, $content // '');

        if (defined $date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or bail_out($block->name, " - cannot touch $path to $date");
        }
    }
}

sub write_file {
    my ($path, $content) = @_;
    open my $fh, '>:raw', $path or bail_out("cannot write $path: $!");
    print $fh $content;
    close $fh or bail_out("cannot write $path: $!");
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    return scalar <$fh>;
}

sub nginx_conf {
    my ($block, $valgrind) = @_;
    my $modules = join '', map { "load_module $_;\n" }
                           split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $env = join '', map { /\s/ ? "env '$_';\n" : "env $_;\n" } @EnvToNginx;
    my $user = $> == 0 ? "user root;\n" : '';
    my $daemon = $valgrind ? 'off' : 'on';
    my $log_level = $block->log_level // $LogLevel;
    my $main_config = $block->main_config // '';
    my $http_config = $block->http_config // '';
    my $config = $block->config // '';

    my $temp_paths = '';
    for my $kind (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $http_config =~ /\b${kind}_temp_path\b/
                || nginx_build_info() =~ /--without-http_${kind}_module/;
        $temp_paths .= "    ${kind}_temp_path $ServRoot/${kind}_temp;\n";
    }

    my $root = $NoRootLocation ? '' : <<"EOC";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
EOC

    return <<"EOC";
# written by the clicktrack Test::Nginx::Socket stand-in for
# ${\ $block->name }
$modules
daemon $daemon;
master_process $MasterProcess;
worker_processes $Workers;
error_log $ErrorLog $log_level;
pid $PidFile;
$user$env
$main_config

events {
    accept_mutex off;
    worker_connections $WorkerConnections;
}

http {
    access_log $LogDir/access.log;
    default_type text/plain;
    keepalive_timeout 68;
$temp_paths
$http_config

    server {
        listen $ServerPort;
        server_name '$ServerName';
        client_max_body_size 30M;

$ConfigPreamble
$config

$root    }
}
EOC
}

sub nginx_binary {
    return $Binary //= $ENV{TEST_NGINX_BINARY}
        || (grep { -f && -x } map { "$_/nginx" }
                split(/:/, $ENV{PATH} // ''), '/usr/sbin')[0]
        || bail_out('cannot find nginx; set TEST_NGINX_BINARY');
}

sub nginx_build_info {
    return $BuildInfo //= qx{\Q${\ nginx_binary() }\E -V 2>&1};
}

# The nginx process.

# Starts nginx; true once it is up, else a failing test and false.
sub start_nginx {
    my ($block, $valgrind) = @_;
    my $status = launch_nginx($valgrind);
    return 1 if $status == 0;

    fail($block->name . " - nginx failed to start (status $status)");
    diag(read_file("$LogDir/nginx.stderr") || "no output; see $ErrorLog");
    return 0;
}

# Runs nginx on the server root's configuration.  Returns its exit status:
# 0 once it serves (its pid file exists), -1 if it does not get there.
sub launch_nginx {
    my ($valgrind) = @_;
    my @cmd = (nginx_binary(), '-p', "$ServRoot/", '-c', $ConfFile,
               '-e', $ErrorLog);
    unshift @cmd, valgrind_command() if $valgrind;

    $Launched = 1;
    my $pid = fork // bail_out("fork failed: $!");

    if ($pid == 0) {
        setpgrp;    # a process group of its own, for stop_nginx
        open STDOUT, '>>', "$LogDir/nginx.stderr" or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    if ($valgrind) {
        $Foreground = $pid;
    } elsif (waitpid($pid, 0) && $?) {    # nginx forks its daemon and exits
        return $?;
    }

    my $deadline = time + ($valgrind ? 60 : 10);

    until (-s $PidFile) {
        if ($Foreground && waitpid($Foreground, WNOHANG) == $Foreground) {
            undef $Foreground;
            return $? || -1;
        }

        if (time > $deadline) {
            stop_nginx();
            return -1;
        }

        sleep 0.01;
    }

    return 0;
}

sub valgrind_command {
    my @opts = $Valgrind =~ /^\d+$/
        ? qw(--tool=memcheck --leak-check=full --show-possibly-lost=no
             --num-callers=100 --gen-suppressions=all)
        : split ' ', $Valgrind;

    push @opts, '--suppressions=' . File::Spec->rel2abs('valgrind.suppress')
        if -f 'valgrind.suppress';

    return ('valgrind', '-q', "--log-file=$LogDir/valgrind.%p.log", @opts);
}

# Stops the server root's nginx, if one runs: QUIT, then KILL to its
# process group if it is still there after the timeout.
sub stop_nginx {
    my $pid = read_file($PidFile) =~ /(\d+)/ ? $1 : $Foreground;

    if ($pid && running($pid)) {
        kill 'QUIT', $pid;

        my $deadline = time + ($Foreground ? 60 : $Timeout);
        sleep 0.01 while running($pid) && time < $deadline;

        if (running($pid)) {
            warn "WARNING: nginx $pid did not quit in time; killing it\n";
            kill 'KILL', -$pid;
            kill 'KILL', $pid;
        }
    }

    if ($Foreground) {
        waitpid $Foreground, 0;
        undef $Foreground;
    }
}

sub running {
    my ($pid) = @_;
    return waitpid($pid, WNOHANG) == 0 if $Foreground && $pid == $Foreground;

    # A daemon that has exited stays a zombie until init reaps it.
    return kill(0, $pid) && read_file("/proc/$pid/stat") !~ /^\d+ \(.*\) Z/s;
}

END {
    local $?;
    stop_nginx() if $Launched && !$NoClean;
}

# Requests and responses.

sub run_requests {
    my ($block, $rep, $up) = @_;
    my $name = $block->name;
    my @requests = requests_of($block);
    my $timeout = parse_time($block->timeout) // $Timeout;
    my $wait = parse_time($block->wait);
    my $total = sum map { scalar @{ $_->{heads} } } @requests;
    my $idx = 0;

    for my $req (@requests) {
        my $reply = $up ? exchange($block, $req, $timeout)
                        : { data => '', failed => 1 };
        my $data = $reply->{data};

        for my $head (@{ $req->{heads} }) {
            my ($res, $problem);
            ($res, $data, $problem) = parse_response($data, $head, 1);

            fail("$name - bad response: $problem")
                if $problem && !$reply->{failed};
            check_response($block, $res, $idx, $rep, $total > 1);

            if (++$idx < $total) {
                sleep $wait if $wait;
                check_log($block, 'error_log', 'no_error_log',
                          "error.log (req $rep)");
            }
        }
    }

    sleep $wait if $wait;
    check_log($block, 'error_log', 'no_error_log', "error.log (req $rep)");
}

# What to send: { bytes => ..., heads => [is_head, ...] } for each
# connection, with an entry in heads per response expected on it.
sub requests_of {
    my ($block) = @_;
    my $name = $block->name;
    my $more = $block->more_headers // '';
    my $headers = sub {
        return $more unless ref $more eq 'ARRAY';
        return $more->[$_[0]]
               // bail_out("$name - --- more_headers lacks request $_[0]");
    };

    if (defined(my $raw = $block->raw_request)) {
        bail_out("$name - --- raw_request must be a string") if ref $raw;
        return { bytes => $raw, heads => [$raw =~ /^\s*HEAD\s/ ? 1 : 0] };
    }

    if (defined(my $list = $block->pipelined_requests)) {
        bail_out("$name - --- pipelined_requests must be an array (eval)")
            unless ref $list eq 'ARRAY';

        my @reqs = map {
            [build_request($name, $list->[$_], $headers->($_),
                           $_ == $#$list ? 'close' : 'keep-alive')]
        } 0 .. $#$list;

        return { bytes => join('', map { $_->[0] } @reqs),
                 heads => [map { $_->[1] } @reqs] };
    }

    my $request = $block->request
        // bail_out("$name - no --- request, --- raw_request or "
                    . "--- pipelined_requests");
    my @list = ref $request eq 'ARRAY' ? @$request : ($request);

    return map {
        my ($bytes, $head) = build_request($name, $list[$_], $headers->($_),
                                           'close');
        { bytes => $bytes, heads => [$head] };
    } 0 .. $#list;
}

# "METHOD [URI [VERSION]]", an optional body and more_headers lines made an
# HTTP request.  Returns it and whether it is a HEAD request.
sub build_request {
    my ($name, $request, $more_headers, $connection) = @_;
    bail_out("$name - packet lists in --- request are not supported")
        if ref $request;

    1 while $request =~ s/\A\s*#[^\n]*\n//;
    $request =~ s/\A\s+//;

    my ($line, $body) = split /\n/, $request, 2;
    my ($method, $uri, $version) = split ' ', $line // '';
    bail_out("$name - the request line is empty") unless defined $method;

    my ($headers, $chunked) = ('', 0);
    for (split /\n+/, $more_headers) {
        next if /^\s*#/ || !/\S/;
        my ($key, $value) = split /:\s*/, $_, 2;
        $value //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $value eq 'chunked';
        $headers .= "$key: $value\r\n";
    }

    $headers = "Connection: $connection\r\n$headers"
        unless $headers =~ /^Connection:/mi;
    $headers = "Host: $ServerName\r\n$headers" unless $headers =~ /^Host:/mi;

    $body //= '';
    if ($body ne '' && !$chunked && $headers !~ /^Content-Length:/mi) {
        $body =~ s/^\s+|\s+$//g;
        $headers .= 'Content-Length: ' . length($body) . "\r\n";
    }

    return ("$method " . ($uri // '/') . ' ' . ($version // 'HTTP/1.1')
            . "\r\n$headers\r\n$body", $method eq 'HEAD');
}

# Sends a request and reads what comes back until the server closes the
# connection, a lone keep-alive response is complete, or time is up.
sub exchange {
    my ($block, $req, $timeout) = @_;
    my $name = $block->name;
    my $deadline = time + $timeout;
    my $left = sub { my $t = $deadline - time; $t > 0 ? $t : 0 };
    local $SIG{PIPE} = 'IGNORE';

    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                     PeerPort => $ServerPort,
                                     Proto => 'tcp', Timeout => $timeout);
    if (!$sock) {
        fail("$name - Can't connect to $ServerAddr:$ServerPort: $!");
        return { data => '', failed => 1 };
    }

    $sock->blocking(0);
    my $select = IO::Select->new($sock);
    my ($bytes, $data, $timed_out) = ($req->{bytes}, '', 0);

    while (length $bytes) {
        $timed_out = !$select->can_write($left->()) and last;
        my $n = syswrite $sock, $bytes;
        next if !defined $n && $!{EAGAIN};
        last unless $n;    # the server closed: read its answer
        substr($bytes, 0, $n) = '';
    }

    while (!$timed_out) {
        $timed_out = !$select->can_read($left->()) and last;
        my $n = sysread $sock, $data, 65536, length $data;
        next if !defined $n && $!{EAGAIN};
        last unless $n;

        if (@{ $req->{heads} } == 1) {
            my ($res) = parse_response($data, $req->{heads}[0], 0);
            last if $res && (header($res, 'Connection') // '') !~ /close/i;
        }
    }

    close $sock;
    fail("ERROR: client socket timed out - $name")
        if $timed_out && !defined $block->abort;
    return { data => $data, failed => $timed_out };
}

# Takes a response off the front of $data: returns it, the bytes after it
# and, when $final (no more bytes will come), what is wrong with an
# incomplete one.  Returns nothing when more bytes are needed.
sub parse_response {
    my ($data, $head, $final) = @_;
    my $end = index $data, "\r\n\r\n";
    if ($end < 0) {
        return unless $final;
        return (undef, '', $data eq '' ? 'no response'
                                       : 'incomplete response header');
    }

    my ($status, @lines) = split /\r\n/, substr $data, 0, $end;
    my $res = {
        code        => $status =~ m{^HTTP/\d\.\d +(\d{3})\b} ? $1 : '',
        headers     => [map { /^([^:]+):[ \t]*(.*?)[ \t]*$/ ? [$1, $2] : () }
                        @lines],
        body        => '',
    };
    my $rest = substr $data, $end + 4;
    my $length = header($res, 'Content-Length');

    return ($res, $rest) if $head || $res->{code} =~ /^(?:1\d\d|204|304)$/;

    if ((header($res, 'Transfer-Encoding') // '') =~ /chunked/i) {
        while ($rest =~ /\A([0-9A-Fa-f]+)[^\r\n]*\r\n/) {
            my ($size, $start) = (hex $1, $+[0]);

            if ($size == 0) {    # the last chunk, trailers, an empty line
                last unless substr($rest, $start) =~ /\A(?:[^\r\n]+\r\n)*\r\n/;
                return ($res, substr $rest, $start + $+[0]);
            }

            last if length $rest < $start + $size + 2;
            $res->{body} .= substr $rest, $start, $size;
            substr($rest, 0, $start + $size + 2) = '';
        }

        return $final ? ($res, '', 'incomplete chunked body') : ();
    }

    if (defined $length) {
        if (length $rest < $length) {
            return unless $final;
            $res->{body} = $rest;
            return ($res, '', "body truncated: $length bytes expected, "
                              . length($rest) . ' received');
        }

        $res->{body} = substr $rest, 0, $length;
        return ($res, substr $rest, $length);
    }

    return unless $final;    # the body ends with the connection
    $res->{body} = $rest;
    return ($res, '');
}

sub header {
    my ($res, $name) = @_;
    my @values = map { $_->[1] } grep { lc $_->[0] eq lc $name }
                 @{ $res->{headers} };
    return @values ? join(', ', @values) : undef;
}

# Checks.

sub check_response {
    my ($block, $res, $idx, $rep, $multi) = @_;
    my $name = $block->name;
    my $expect = sub { expected($block, $_[0], $idx, $multi) };
    my $body = $res ? $res->{body} : undef;
    my $which = "(repeated req $rep, req $idx)";

    # error_code_like: a pattern, as the real runner takes it (qr/$ec/)
    my $code_like = $expect->('error_code_like');

    if (defined $code_like && !defined $block->error_code) {
        like($res ? $res->{code} : '', qr/$code_like/,
             "$name - status code ok");

    } else {
        is($res ? $res->{code} : '', $expect->('error_code') // 200,
           "$name - status code ok");
    }

    if (defined(my $spec = $expect->('response_headers'))) {
        for (header_spec($spec)) {
            my ($key, $want) = @$_;
            my $got = $res ? header($res, $key) : undef;

            if (defined $want) {
                is($got // '', with_port($want), "$name - header $key ok");
            } else {
                ok(!defined $got, "$name - header $key not present")
                    or diag("got $key: $got");
            }
        }

    } elsif (defined(my $like = $expect->('response_headers_like'))) {
        for (header_spec($like)) {
            my ($key, $pat) = @$_;
            like(($res ? header($res, $key) : undef) // '', qr/^$pat$/,
                 "$name - header $key like ok");
        }
    }

    if (defined(my $want = $expect->('response_body'))) {
        is_str($body, with_port($want),
               "$name - response_body - response is expected $which");

    } elsif (defined(my $pat = $expect->('response_body_like'))) {
        like($body // '', qr/${\ with_port($pat) }/s,
             "$name - response_body_like - response is expected $which");

    } elsif (defined(my $unpat = $expect->('response_body_unlike'))) {
        unlike($body // '', qr/${\ with_port($unpat) }/s,
               "$name - response_body_unlike - response is expected $which");
    }

    $_->($block, $body, $idx, $rep, 0) for @ResponseBodyChecks;
}

# A section's expectation for request $idx; several requests need an array
# of them, one per request.
sub expected {
    my ($block, $section, $idx, $multi) = @_;
    my $value = $block->$section;

    return $multi ? $value->[$idx] : $value->[0] if ref $value eq 'ARRAY';
    bail_out($block->name, " - several requests need an array in "
             . "--- $section (use eval)") if $multi && defined $value;
    return $value;
}

sub with_port {
    my ($s) = @_;
    $s =~ s/\$ServerPort\b/$ServerPort/g unless ref $s;
    return $s;
}

# "Name: value" lines; "!Name" says the header must be absent.
sub header_spec {
    my ($spec) = @_;
    my @headers;

    for (split /\n/, $spec) {
        s/^\s+|\s+$//g;
        next if $_ eq '';
        push @headers, s/^!\s*// ? [$_, undef] : [split /\s*:\s*/, $_, 2];
    }

    return @headers;
}

# Checks the error.log lines written since the last check against the
# patterns that must, and must not, match one of them.
sub check_log {
    my ($block, $wanted, $unwanted, $where) = @_;
    my $name = $block->name;
    my $lines = new_log_lines();
    my @wanted = log_patterns($block->$wanted);
    my @unwanted = log_patterns($block->$unwanted);

    for my $pat (@wanted) {
        ok(scalar(grep { log_match($_, $pat) } @$lines),
           "$name - pattern \"$pat\" matches a line in $where");
    }

    for my $pat (@unwanted) {
        my @hits = grep { log_match($_, $pat) } @$lines;
        next if ok(!@hits,
                   "$name - pattern \"$pat\" does not match a line in $where");
        diag("matching line: $_") for @hits[0 .. min(4, $#hits)];
    }

    # Like the real module, point out serious messages nobody asked about.
    my $mentioned = join "\n", @wanted, @unwanted;
    for (@$lines) {
        warn "WARNING: $name - $_"
            if /\[(alert|crit|emerg)\]/ && index($mentioned, "[$1") < 0;
    }
}

sub new_log_lines {
    sleep $Sleep * 3;    # let nginx finish its log phase

    open my $fh, '<', $ErrorLog or return [];
    seek $fh, $ErrorLogPos, 0;
    my @lines = <$fh>;
    $ErrorLogPos = tell $fh;
    return \@lines;
}

# Log patterns: lines of substrings, or (eval) a regex or an array of
# regexes and substrings.
sub log_patterns {
    my ($value) = @_;
    return () unless defined $value;
    return $value if ref $value eq 'Regexp';
    return grep { defined } @$value if ref $value eq 'ARRAY';
    return grep { $_ ne '' } split /\n+/, $value;
}

sub log_match {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

# Valgrind's error records (a headline and a stack) in the logs of the
# block's nginx processes, reported as one failing test.
sub check_valgrind {
    my ($block) = @_;
    my ($report, $errors) = ('', 0);

    for (glob "$LogDir/valgrind.*.log") {
        my $log = read_file($_);
        $errors++ while $log =~ /^==(\d+)== \S[^\n]*\n==\1== +(?:at|by) 0x/mg;
        $report .= $log;
    }

    return unless $errors;
    fail($block->name . " - valgrind reports $errors error(s)");
    diag($report);
}

sub parse_time {
    my ($t) = @_;
    return $t unless defined $t && $t =~ /^\s*([\d.]+)\s*(ms|s)?\s*$/;
    return ($2 // '') eq 'ms' ? $1 / 1000 : $1;
}

package Test::Nginx::Socket::Block;

# A test block: $block->SECTION gives a section's value (its first one in
# scalar context), whatever the section's name.

our $AUTOLOAD;

sub AUTOLOAD {
    my $self = shift;

    (my $section = $AUTOLOAD) =~ s/.*:://;
    my $values = $self->{$section} or return;
    return wantarray ? @$values : $values->[0];
}

sub DESTROY { }

sub set_value {
    my ($self, $section, @values) = @_;
    $self->{$section} = \@values;
}

# Test::Base's filters: "norm" and "trim" for every section, then those
# named after it ("eval", "chomp", "chop").
sub _filter {
    my ($self) = @_;
    return if $self->{_filtered}++;

    for my $section (@{ $self->{_order} }) {
        my @values = @{ $self->{$section} };

        for (grep { defined && !ref } @values) {
            s/\r\n?/\n/g;
            s/\A(?:[ \t]*\n)+//;
            s/(?<=\n)\s*\z//;
        }

        for my $filter (split ' ', $self->{_filters}{$section}) {
            if ($filter eq 'eval') {
                @values = Test::Nginx::Socket::eval_in_main($values[0]);
                die "$self->{name}[0]: --- $section eval failed: $@" if $@;
            } elsif ($filter eq 'chomp') {
                chomp for grep { defined && !ref } @values;
            } elsif ($filter eq 'chop') {
                chop for grep { defined && !ref } @values;
            } else {
                die "$self->{name}[0]: unknown filter '$filter' in "
                    . "--- $section\n";
            }
        }

        $self->{$section} = \@values;
    }
}

1;
