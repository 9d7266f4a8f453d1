# TEST_NGINX_USE_VALGRIND: nginx runs under memcheck, what valgrind reports
# fails the block, and ./valgrind.suppress is used.  Stock nginx leaks its
# environment and cycle when a single process exits: the reports to expect
# without a suppression for them.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More;

plan skip_all => 'valgrind is not installed'
    unless grep { -x "$_/valgrind" } split /:/, $ENV{PATH} // '';

my $Lib = abs_path(dirname(__FILE__) . '/../lib');

# Runs a sample test file with the runner, in a directory and on a port of
# its own, with the given valgrind.suppress; returns its exit status, TAP
# (with the diagnostics) and failed test names.
sub run_sample {
    my ($code, $suppressions) = @_;

    my $dir = tempdir(CLEANUP => 1);
    my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Listen => 1)
        or die "no free port: $!";
    my $port = $probe->sockport;
    close $probe;

    for (['sample.t', $code], ['valgrind.suppress', $suppressions]) {
        my ($file, $content) = @$_;
        next unless defined $content;
        open my $fh, '>', "$dir/$file" or die "$dir/$file: $!";
        print $fh $content;
        close $fh;
    }

    local %ENV = ((map { $_ => $ENV{$_} } grep { !/^TEST_NGINX_/ } keys %ENV),
                  TEST_NGINX_SERVER_PORT  => $port,
                  TEST_NGINX_SERVROOT     => "$dir/servroot",
                  TEST_NGINX_USE_VALGRIND => 1,
                  TEST_NGINX_TIMEOUT      => 10);
    my $tap = qx{cd '$dir' && '$^X' -I'$Lib' sample.t 2>&1};

    return { status => $?, tap => $tap,
             failed => [$tap =~ /^not ok \d+ - (?:sample\.t )?(.*)/mg] };
}

my $sample = <<'EOC';
use Test::Nginx::Socket;

plan tests => 2;
run_tests();

__DATA__

=== TEST 1: under valgrind
--- config
    location = /t { return 200 "hi\n"; }
--- request
GET /t
--- response_body
hi
EOC

my $suppressions = <<'EOC';
{
   nginx-environment-at-exit
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:ngx_alloc
   fun:ngx_set_environment
}
{
   nginx-cycle-at-exit
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:ngx_alloc
   ...
   fun:ngx_single_process_cycle
}
EOC

my $clean = run_sample($sample, $suppressions);
ok($clean->{status} == 0 && !@{ $clean->{failed} }
   && $clean->{tap} =~ /^ok 2 /m,
   'with valgrind.suppress, nothing is reported and the block passes')
    or diag($clean->{tap});

my $leaky = run_sample($sample);
is(scalar @{ $leaky->{failed} }, 1, 'without it, one test fails ...')
    or diag($leaky->{tap});
like($leaky->{failed}[0] // '',
     qr/^TEST 1: under valgrind - valgrind reports \d+ error\(s\)$/,
     '... the one that says valgrind reported errors');
like($leaky->{tap}, qr/^# .*definitely lost.*\n# .* at 0x/m,
     '... and its diagnostics show the report');

done_testing();
