# The nginx the runner manages: one start per block whatever repeat_each,
# master and workers, must_die, modules, log levels, the root location,
# environment, user files, and stopping nginx when a test dies.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);

my $Lib = abs_path(dirname(__FILE__) . '/../lib');

# Runs a sample test file with the runner, in a directory and on a port of
# its own; returns its exit status, TAP, stderr, failed test names, port and
# server root.
sub run_sample {
    my ($code, %env) = @_;

    my $dir = tempdir(CLEANUP => 1);
    my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Listen => 1)
        or die "no free port: $!";
    my $port = $probe->sockport;
    close $probe;

    open my $fh, '>', "$dir/sample.t" or die "$dir/sample.t: $!";
    print $fh $code;
    close $fh;

    local %ENV = ((map { $_ => $ENV{$_} } grep { !/^TEST_NGINX_/ } keys %ENV),
                  TEST_NGINX_SERVER_PORT => $port,
                  TEST_NGINX_SERVROOT    => "$dir/servroot", %env);
    my $tap = qx{cd '$dir' && '$^X' -I'$Lib' sample.t 2>stderr.txt};

    return { status => $?, tap => $tap, port => $port,
             servroot => "$dir/servroot", stderr => slurp("$dir/stderr.txt"),
             failed => [$tap =~ /^not ok \d+ - (?:sample\.t )?(.*)/mg] };
}

sub slurp {
    my ($path) = @_;

    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

sub passes {
    my ($run, $tests, $what) = @_;

    ok($run->{status} == 0 && $run->{tap} =~ /^1\.\.$tests$/m
       && !@{ $run->{failed} }, $what)
        or diag("status $run->{status}\n$run->{tap}$run->{stderr}");
}

sub listening {
    my ($port) = @_;

    return defined IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $port, Proto => 'tcp');
}


my $repeat = run_sample(<<'EOC');
use Test::Nginx::Socket;

repeat_each(3);
plan tests => repeat_each() * (blocks() * 3);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: each repetition checks its own error.log lines
--- config
--- request
GET /nope
--- error_code: 404
--- response_body_like: Not Found
--- error_log
open()



=== TEST 2: repeated requests to one nginx
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]
EOC

passes($repeat, 18, 'repeat_each: plan tests => repeat_each() * blocks() * 3');
my $log = slurp("$repeat->{servroot}/logs/error.log");
is(scalar(() = $log =~ /using the "epoll" event method/g), 1,
   'repeat_each: nginx is started once for the repeated requests');
is(scalar(() = slurp("$repeat->{servroot}/logs/access.log") =~ /^/mg), 3,
   'repeat_each: the request is sent repeat_each() times');
ok(!listening($repeat->{port}), 'nginx is stopped after the tests');


my $master = run_sample(<<'EOC');
use Test::Nginx::Socket;

master_on();
workers(2);
plan tests => blocks() * 2;
run_tests();

__DATA__

=== TEST 1: master and workers
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
EOC

passes($master, 2, 'master_on, workers(2): the request is answered');
$log = slurp("$master->{servroot}/logs/error.log");
is(scalar(() = $log =~ /start worker process \d+/g), 2,
   'master_on, workers(2): nginx starts 2 worker processes');
like($log, qr/worker process \d+ exited with code 0/,
     'master_on: the workers quit when nginx is stopped');


passes(run_sample(<<'EOC'), 4, 'must_die: nginx refuses a bad configuration');
use Test::Nginx::Socket;

plan tests => blocks() * 2;
run_tests();

__DATA__

=== TEST 1: any failure
--- config
    no_such_directive;
--- must_die
--- error_log
unknown directive "no_such_directive"



=== TEST 2: exit code
--- config
    location = /t { return bad; }
--- must_die: 1
--- error_log
invalid return code "bad"
EOC


my $logs = run_sample(<<'EOC');
use Test::Nginx::Socket;

log_level('info');
no_shuffle();
plan tests => blocks() * 2;
run_tests();

__DATA__

=== TEST 1: log_level()
--- config
--- request
GET /
--- no_error_log
[debug]



=== TEST 2: --- log_level
--- config
--- log_level: debug
--- request
GET /
--- error_log
[debug]
EOC
passes($logs, 4, 'log_level() and --- log_level');


my $root = run_sample(<<'EOC');
use Test::Nginx::Socket;

no_root_location();
env_to_nginx('CLICKTRACK_TEST=1');
plan tests => blocks() * 2;
run_tests();

__DATA__

=== TEST 1: a location / of the test's own
--- config
    location / { return 200 "mine\n"; }
--- request
GET /index.html
--- response_body
mine
EOC
passes($root, 2, 'no_root_location(): the test may have its own location /');
like(slurp("$root->{servroot}/conf/nginx.conf"),
     qr/^env CLICKTRACK_TEST=1;$/m, 'env_to_nginx()');


passes(run_sample(<<'EOC'), 5, 'the root location and dated user_files');
use Test::Nginx::Socket;

plan tests => 5;
no_shuffle();
run_tests();

__DATA__

=== TEST 1: html/index.html
--- config
--- request
GET /
--- response_body_like: It works!



=== TEST 2: user_files with a date
--- config
--- user_files
>>> dated.txt 201103291200
old
--- request
GET /dated.txt
--- response_headers
Last-Modified: Tue, 29 Mar 2011 12:00:00 GMT
--- response_body
old
EOC


my $missing = run_sample(<<'EOC');
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: an undefined variable
--- config
    location = /t { return 200 "$TEST_NGINX_NO_SUCH_VARIABLE"; }
--- request
GET /t
EOC
ok($missing->{status} != 0 && $missing->{tap}
       =~ /Bail out!.*No environment TEST_NGINX_NO_SUCH_VARIABLE defined/,
   'an undefined $TEST_NGINX_ variable stops the run')
    or diag($missing->{tap}, $missing->{stderr});


SKIP: {
    my $echo = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
    skip("$echo is not installed", 1) unless -f $echo;

    passes(run_sample(<<'EOC', TEST_NGINX_LOAD_MODULES => $echo), 2,
use Test::Nginx::Socket;

plan tests => 2;
run_tests();

__DATA__

=== TEST 1: a directive of a loaded module
--- config
    location = /t { echo "from echo"; }
--- request
GET /t
--- response_body
from echo
EOC
           'TEST_NGINX_LOAD_MODULES');
}


my $died = run_sample(<<'EOC');
use Test::Nginx::Socket 'no_plan';

add_response_body_check(sub { die "the test dies\n" });
run_tests();

__DATA__

=== TEST 1: the test dies while nginx runs
--- config
--- request
GET /
EOC
like($died->{stderr}, qr/the test dies/, 'a sample that dies mid-block');
ok(!listening($died->{port}), '... leaves no nginx running');


my $kept = run_sample(<<'EOC', TEST_NGINX_NO_CLEAN => 1);
use Test::Nginx::Socket;

plan tests => 2;
run_tests();

__DATA__

=== TEST 1: the last nginx is left running
--- config
--- request
GET /
--- shutdown_error_log
exit
EOC
passes($kept, 2, 'TEST_NGINX_NO_CLEAN: the shutdown check is skipped');
ok(listening($kept->{port}), 'TEST_NGINX_NO_CLEAN: nginx is left running');

if (slurp("$kept->{servroot}/logs/nginx.pid") =~ /(\d+)/) {
    kill 'QUIT', $1;
    sleep 0.05 for grep { listening($kept->{port}) } 1 .. 100;
}

done_testing();
