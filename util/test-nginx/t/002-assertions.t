# Every kind of expectation the runner checks: right ones pass, and a wrong
# one of each kind is reported as "not ok" (and nothing else is).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More;

my $Lib = abs_path(dirname(__FILE__) . '/../lib');

# Runs a sample test file with the runner, in a directory and on a port of
# its own; returns its exit status, plan, and passed and failed test names.
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
    my %run = (status => $?, dir => $dir, tap => $tap, passed => [],
               failed => []);

    ($run{plan}) = $tap =~ /^1\.\.(\d+)/m;
    for (split /\n/, $tap) {
        next unless /^(not )?ok \d+ - (?:sample\.t )?(.*)/;
        push @{ $run{$1 ? 'failed' : 'passed'} }, $2;
    }

    return \%run;
}

my $preamble = <<'EOC';
use Test::Nginx::Socket;

my $default_config = <<'EOF';
    location = /t {
        add_header X-Foo bar;
        return 200 "hello\n";
    }
    location = /a { return 200 "a\n"; }
    location = /b { return 200 "b\n"; }
    location = /echo {
        return 200 "$request_method $content_length $http_x_foo $http_x_bar\n";
    }
    location = /chunk.txt {
        root $TEST_NGINX_HTML_DIR;
        sub_filter_types *;
        sub_filter a A;
        sub_filter_once off;
    }
EOF

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(config => $default_config) unless defined $block->config;
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    return unless defined $block->body_length;
    is(length $body, $block->body_length, $block->name . " - body length");
});

no_shuffle();
EOC


my $right = run_sample($preamble . <<'EOC', TEST_NGINX_GREETING => 'hi');
plan tests => 63;
run_tests();

__DATA__

=== TEST 1: headers and body
--- request
GET /t
--- response_headers
X-Foo: bar
!X-Absent
X-Empty:
Content-Type: text/plain
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: header and body patterns
--- request
GET /t
--- response_headers_like
X-Foo: b.r
Server: nginx/[\d.]+
--- response_body_like: ^hel+o$



=== TEST 3: body regex from eval
--- request
GET /t
--- response_body eval
qr/^hello$/m



=== TEST 4: body unlike
--- request
GET /t
--- response_body_unlike: goodbye



=== TEST 5: error_log lines
--- request
GET /nope
--- error_code: 404
--- error_log
open() "
No such file or directory
--- no_error_log eval
[qr/\[(?:alert|crit)\]/, "[emerg]"]



=== TEST 6: error_log regex from eval
--- request
GET /nope
--- error_code: 404
--- error_log eval
qr/open\(\) ".*nope" failed/



=== TEST 7: request body and more_headers
--- request
POST /echo
hello world
--- more_headers
X-Foo: abc
# a comment line
X-Bar: 1
--- response_body
POST 11 abc 1



=== TEST 8: chunked response
--- user_files
>>> chunk.txt
banana
--- request
GET /chunk.txt
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body
bAnAnA



=== TEST 9: HTTP/1.0 response delimited by the close
--- user_files
>>> chunk.txt
banana
--- request
GET /chunk.txt HTTP/1.0
--- response_headers
!Transfer-Encoding
--- response_body
bAnAnA



=== TEST 10: HEAD has no body
--- request
HEAD /t
--- response_headers
Content-Length: 6
--- response_body:



=== TEST 11: keep-alive response, read without waiting for a close
--- request
GET /t
--- more_headers
Connection: keep-alive
--- timeout: 1
--- response_headers
Connection: keep-alive
--- response_body
hello



=== TEST 12: several requests
--- request eval
["GET /a", "GET /nope"]
--- error_code eval
[200, 404]
--- response_body_like eval
["^a\$", "404 Not Found"]
--- no_error_log
[alert]



=== TEST 13: pipelined requests
--- pipelined_requests eval
["GET /a", "GET /b"]
--- response_body eval
["a\n", "b\n"]



=== TEST 14: raw request
--- raw_request eval
"GET /t HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- response_body
hello



=== TEST 15: aborted request that times out
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 300ms
--- abort
--- error_code:



=== TEST 16: shutdown log
--- request
GET /t
--- shutdown_error_log
exit
--- no_shutdown_error_log
[alert]



=== TEST 17: environment variables
--- config
    location = /env {
        return 200 "$server_port $TEST_NGINX_SERVROOT $TEST_NGINX_GREETING\n";
    }
--- request
GET /env
--- response_body
$TEST_NGINX_SERVER_PORT $TEST_NGINX_SERVROOT hi



=== TEST 18: user files under the root location
--- user_files
>>> sub/file.txt
content
--- request
GET /sub/file.txt
--- response_body
content



=== TEST 19: body check callback and a custom section
--- request
GET /t
--- body_length: 6



=== TEST 20: main_config and http_config
--- main_config
worker_rlimit_nofile 1024;
--- http_config
    map $uri $greeting { default "mapped"; }
--- config
    location = /m { return 200 "$greeting\n"; }
--- request
GET /m
--- response_body
mapped



=== TEST 21: a status by pattern, one and several requests
--- request eval
["GET /a", "GET /nope"]
--- error_code_like eval
["^(?:200|204)\$", "^(?:400|404)\$"]
EOC

is($right->{status}, 0, 'right expectations: the sample passes')
    or diag($right->{tap}, `cat $right->{dir}/stderr.txt`);
is($right->{plan}, 63, 'right expectations: planned 63 tests');
is(scalar @{ $right->{passed} }, 63, 'right expectations: 63 tests pass');
is_deeply($right->{failed}, [], 'right expectations: none fails');


my $wrong = run_sample($preamble . <<'EOC');
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: wrong status
--- request
GET /t
--- error_code: 201
--- response_body
hello



=== TEST 2: wrong headers
--- request
GET /t
--- response_headers
X-Foo: baz
!Content-Type
Content-Length:



=== TEST 3: header pattern
--- request
GET /t
--- response_headers_like
X-Foo: ba



=== TEST 4: a header that is not there
--- request
GET /t
--- response_headers
X-Nope: 1



=== TEST 5: wrong body
--- request
GET /t
--- response_body
goodbye



=== TEST 6: body regex from eval
--- request
GET /t
--- response_body eval
qr/goodbye/



=== TEST 7: body like
--- request
GET /t
--- response_body_like: goodbye



=== TEST 8: body unlike
--- request
GET /t
--- response_body_unlike: hel+o



=== TEST 9: error_log line
--- request
GET /t
--- error_log
no such line anywhere



=== TEST 10: error_log eval
--- request
GET /t
--- error_log eval
[qr/no such line/, "nor this one"]



=== TEST 11: no_error_log line
--- request
GET /nope
--- error_code: 404
--- no_error_log
[error]



=== TEST 12: no_error_log eval
--- request
GET /nope
--- error_code: 404
--- no_error_log eval
[qr/open\(\) "[^"]*nope"/, "no such line"]



=== TEST 13: time out
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 0.3



=== TEST 14: shutdown logs
--- request
GET /t
--- shutdown_error_log
no such line
--- no_shutdown_error_log
SIGQUIT



=== TEST 15: body check callback
--- request
GET /t
--- body_length: 3



=== TEST 16: must_die with a valid config
--- config
    location = /x { return 200; }
--- must_die



=== TEST 17: several requests, one wrong
--- request eval
["GET /a", "GET /nope"]
--- error_code eval
[200, 200]



=== TEST 18: nginx that cannot start
--- config
    no_such_directive;
--- request
GET /t
--- response_body
hello



=== TEST 19: a status by pattern that does not match
--- request
GET /a
--- error_code_like: ^(?:400|404)$
EOC

isnt($wrong->{status}, 0, 'wrong expectations: the sample fails');
is_deeply($wrong->{failed}, [
    'TEST 1: wrong status - status code ok',
    'TEST 2: wrong headers - header X-Foo ok',
    'TEST 2: wrong headers - header Content-Type not present',
    'TEST 2: wrong headers - header Content-Length ok',
    'TEST 3: header pattern - header X-Foo like ok',
    'TEST 4: a header that is not there - header X-Nope ok',
    'TEST 5: wrong body - response_body - response is expected '
        . '(repeated req 0, req 0)',
    'TEST 6: body regex from eval - response_body - response is expected '
        . '(repeated req 0, req 0)',
    'TEST 7: body like - response_body_like - response is expected '
        . '(repeated req 0, req 0)',
    'TEST 8: body unlike - response_body_unlike - response is expected '
        . '(repeated req 0, req 0)',
    'TEST 9: error_log line - pattern "no such line anywhere" matches a line '
        . 'in error.log (req 0)',
    'TEST 10: error_log eval - pattern "(?^:no such line)" matches a line '
        . 'in error.log (req 0)',
    'TEST 10: error_log eval - pattern "nor this one" matches a line '
        . 'in error.log (req 0)',
    'TEST 11: no_error_log line - pattern "[error]" does not match a line '
        . 'in error.log (req 0)',
    'TEST 12: no_error_log eval - pattern "(?^:open\(\) "[^"]*nope")" does '
        . 'not match a line in error.log (req 0)',
    'ERROR: client socket timed out - sample.t TEST 13: time out',
    'TEST 13: time out - status code ok',
    'TEST 14: shutdown logs - pattern "no such line" matches a line in '
        . 'error.log at shutdown',
    'TEST 14: shutdown logs - pattern "SIGQUIT" does not match a line in '
        . 'error.log at shutdown',
    'TEST 15: body check callback - body length',
    'TEST 16: must_die with a valid config - nginx fails to start as expected',
    'TEST 17: several requests, one wrong - status code ok',
    'TEST 18: nginx that cannot start - nginx failed to start (status 256)',
    'TEST 18: nginx that cannot start - status code ok',
    'TEST 18: nginx that cannot start - response_body - response is '
        . 'expected (repeated req 0, req 0)',
    'TEST 19: a status by pattern that does not match - status code ok',
], 'wrong expectations: exactly the wrong ones fail') or diag($wrong->{tap});
is(scalar @{ $wrong->{passed} }, 16,
   'wrong expectations: the right ones around them pass')
    or diag($wrong->{tap});

done_testing();
