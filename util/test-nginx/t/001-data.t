# The test data format (Test::Base's blocks and sections, filters, ONLY,
# SKIP, LAST), the block objects, and loud failures on what the runner does
# not support.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Test::More;

my $Lib = abs_path(dirname(__FILE__) . '/../lib');

# Runs a sample test file with the runner; returns its exit status, TAP and
# stderr.  (These samples start no nginx.)
sub run_sample {
    my ($code) = @_;

    my $dir = tempdir(CLEANUP => 1);
    open my $fh, '>', "$dir/sample.t" or die "$dir/sample.t: $!";
    print $fh $code;
    close $fh;

    local %ENV = ((map { $_ => $ENV{$_} } grep { !/^TEST_NGINX_/ } keys %ENV),
                  TEST_NGINX_SERVROOT => "$dir/servroot");
    my $tap = qx{cd '$dir' && '$^X' -I'$Lib' sample.t 2>stderr.txt};
    my $status = $?;
    my $stderr = do { local (@ARGV, $/) = "$dir/stderr.txt"; <> };

    return { status => $status, tap => $tap, stderr => $stderr };
}

sub passes {
    my ($run, $tests, $what) = @_;

    ok($run->{status} == 0 && $run->{tap} =~ /^1\.\.$tests$/m
       && $run->{tap} !~ /^not ok/m, $what)
        or diag("status $run->{status}\n$run->{tap}$run->{stderr}");
}

sub dies {
    my ($run, $message, $what) = @_;

    ok($run->{status} != 0 && $run->{stderr} =~ /\Q$message\E/, $what)
        or diag("status $run->{status}\n$run->{tap}$run->{stderr}");
}


(my $sections = <<'EOC') =~ s/<CR>/\r/g;
use Test::Nginx::Socket;

plan tests => 19;

our $Greeting = 'hey';

is(blocks(), 2, 'blocks() in scalar context counts the blocks');

my @blocks = blocks();
my $one = $blocks[0];

is($one->name, 'TEST 1: sections', 'name');
is($one->config, "    location /t {\n        return 200;\n    }\n",
   'a section keeps its last newline, not the blank lines after it');
is($one->error_code, '404', 'inline value');
is($one->response_body, "a\nb", 'chomp filter');
is($one->chopped, "abc", 'chop filter');
is_deeply($one->request, ['GET /a', 'GET /bbb'], 'eval filter');
is($one->inline_eval, 3, 'eval filter on an inline value');
is($one->greeting, 'hey!', 'eval runs in package main, when blocks() is');
is($one->redis_list, "x y\n", 'a section the test file invents');
is($one->crlf, "line\nnext\n", 'CRLF made LF');
is(scalar $one->values, 1, 'a list value gives its first in scalar context');
is_deeply([$one->values], [1, 2, 3], '... and all in list context');
is($one->missing, undef, 'a missing section is undef');
is_deeply([$one->missing], [], '... and an empty list');

$one->set_value(http_config => 'upstream x { server 127.0.0.1; }');
is($one->http_config, 'upstream x { server 127.0.0.1; }', 'set_value');
$one->set_value(another => 1, 2);
is_deeply([$one->another], [1, 2], 'set_value with a list');

is($blocks[1]->name, 'TEST 3: last', 'SKIP drops a block');
is($blocks[1]->request, "GET /last\n", 'LAST ends the blocks');

__DATA__

Text before the first block is not part of any block.

=== TEST 1: sections
A description, ignored.
--- config
    location /t {
        return 200;
    }



--- error_code: 404
--- response_body chomp
a
b
--- chopped chop
abc
--- request eval
["GET /a", "GET /" . "b" x 3]
--- inline_eval eval: 1 + 2
--- greeting eval
$::Greeting . "!"
--- redis_list
x y
--- crlf
line<CR>
next<CR>
--- values eval
(1, 2, 3)



=== TEST 2: skipped
--- SKIP
--- request
GET /skipped



=== TEST 3: last
--- request
GET /last
--- LAST



=== TEST 4: after the last
--- request
GET /after
EOC

passes(run_sample($sections), 19, 'sections, filters and block objects');


my $only = run_sample(<<'EOC');
use Test::Nginx::Socket 'no_plan';

my @blocks = blocks();
is(scalar @blocks, 1, 'ONLY keeps one block');
is($blocks[0]->name, 'TEST 2: this one', '... the one that says ONLY');

__DATA__

=== TEST 1: not this
--- request
GET /1

=== TEST 2: this one
--- ONLY
--- request
GET /2

=== TEST 3: nor this
--- request
GET /3
EOC

passes($only, 2, "ONLY, and use Test::Nginx::Socket 'no_plan'");
like($only->{stderr}, qr/I found ONLY/, 'ONLY is pointed out');


passes(run_sample(<<'EOC'), 1, 'use Test::Nginx::Socket tests => N');
use Test::Nginx::Socket tests => 1;

is(blocks(), 0, 'no __DATA__, no blocks');
EOC


dies(run_sample(<<'EOC'),
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: a section the runner does not do
--- config
--- request
GET /
--- grep_error_log: foo
--- grep_error_log_out
foo
EOC
     'does not support --- grep_error_log',
     'a section of the real module that the runner lacks is an error');

dies(run_sample(<<'EOC'),
use Test::Nginx::Socket 'no_plan';
my @blocks = blocks();

__DATA__

=== TEST 1: unknown filter
--- request base64_decode
R0VUIC8=
EOC
     "unknown filter 'base64_decode'", 'an unknown filter is an error');

dies(run_sample(<<'EOC'),
use Test::Nginx::Socket 'no_plan';
my @blocks = blocks();

__DATA__

=== TEST 1: bad eval
--- request eval
"GET /" .
EOC
     '--- request eval failed', 'Perl that does not compile is an error');

done_testing();
