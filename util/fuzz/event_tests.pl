#!/usr/bin/perl
#
# Runs the event driver (util/fuzz/build.sh) on the beacon key rules of
# SPEC section 3 and the record of section 4, and compares.
#
#   util/fuzz/event_tests.pl              # or: prove util/fuzz/event_tests.pl
#   DRIVER=/tmp/clicktrack-fuzz/event_driver_asan util/fuzz/event_tests.pl
#   VALGRIND=1 util/fuzz/event_tests.pl         # each run under valgrind
#
# Every accepted line is also decoded with JSON::PP, checked for
# well-formed UTF-8 and for the record's key order, apart from the checks
# the driver itself makes.

use strict;
use warnings;

use File::Temp qw(tempfile);
use JSON::PP;
use Test::More;

my $DRIVER = $ENV{DRIVER} || '/tmp/clicktrack-fuzz/event_driver';
my @WRAP = $ENV{VALGRIND}
    ? qw(valgrind -q --error-exitcode=99 --leak-check=full
         --errors-for-leak-kinds=definite)
    : ();

-x $DRIVER or BAIL_OUT("no $DRIVER: run util/fuzz/build.sh first");

my $json = JSON::PP->new->utf8;

my @ORDER = qw(id ts type category label url referrer visitor session
               client_ts host ip ua props country region ab_test);
my %RANK = map { $ORDER[$_] => $_ } 0 .. $#ORDER;

my $VISITOR = '5c469967-1dbe-4214-aa2a-dfa7bb8e1be4';
my $TAIL = '"host":"example.com","ip":"203.0.113.0",'
         . '"ua":"Mozilla/5.0 (X11; Linux x86_64)"';
my $FIELDS = '"country":"FR","ab_test":"b\"\\\\\\u0001"';


# ($stdout, $exit) of the driver on $input

sub run {
    my ($mode, $input, @opt) = @_;

    my ($fh, $file) = tempfile(UNLINK => 1);
    binmode $fh;
    print $fh $input;
    close $fh;

    open(my $out, '-|', @WRAP, $DRIVER, @opt, $mode, $file)
        or die "$DRIVER: $!";
    binmode $out;
    local $/;
    my $text = <$out>;
    close $out;

    return ($text // '', $? >> 8, $? & 127);
}


# the top-level keys of one line, in order (values are flat but for props)

sub keys_in_order {
    my ($line) = @_;
    my $str = qr/"(?:[^"\\]|\\.)*"/s;
    my $scalar = qr/$str|-?\d[\d.eE+-]*|true|false/;
    my @keys;

    $line =~ s/^\{// or return;
    while ($line =~ s/^($str):(?:$scalar|\{(?:$str:$scalar,?)*\}),?//) {
        push @keys, decode_json("[$1]")->[0];
    }
    return $line eq '}' ? @keys : ();
}

sub well_formed_utf8 {
    my ($s) = @_;
    return $s =~ /^(?:[\x00-\x7f]
                     |[\xc2-\xdf][\x80-\xbf]
                     |\xe0[\xa0-\xbf][\x80-\xbf]
                     |[\xe1-\xec\xee\xef][\x80-\xbf]{2}
                     |\xed[\x80-\x9f][\x80-\xbf]
                     |\xf0[\x90-\xbf][\x80-\xbf]{2}
                     |[\xf1-\xf3][\x80-\xbf]{3}
                     |\xf4[\x80-\x8f][\x80-\xbf]{2})*$/x;
}


# checks every line of an accepted run; returns the decoded events

sub records {
    my ($name, $text) = @_;
    my @events;

    for my $line (split /\n/, $text) {
        my $ev = eval { $json->decode($line) };
        if (!$ev) {
            fail("$name: JSON::PP: $@");
            next;
        }

        well_formed_utf8($line) or fail("$name: ill-formed UTF-8: $line");
        $line =~ /[\x00-\x1f\x7f]|\xe2\x80[\xa8\xa9]/
            and fail("$name: raw control or U+2028/9: $line");
        (my $bare = $line) =~ s/"(?:[^"\\]|\\.)*"//gs;
        $bare =~ /\s/ and fail("$name: whitespace outside strings: $line");

        my @keys = keys_in_order($line);
        if (!@keys || @keys != keys %$ev) {
            fail("$name: cannot follow the keys of $line");
        } else {
            for my $i (1 .. $#keys) {
                $RANK{$keys[$i - 1]} < $RANK{$keys[$i]}
                    or fail("$name: $keys[$i - 1] before $keys[$i]");
            }
        }

        grep { !defined } values %$ev and fail("$name: a null value");
        push @events, $ev;
    }

    return @events;
}


# accepted: $want is { field => value | undef (absent) } or [ of them ]

sub accept_ok {
    my ($name, $mode, $input, $want, @opt) = @_;
    my ($text, $rc, $sig) = run($mode, $input, @opt);

    if ($rc != 0 || $sig) {
        fail("$name: exit $rc signal $sig: $text");
        return;
    }

    my @events = records($name, $text);
    my @want = ref $want eq 'ARRAY' ? @$want : ($want);

    is(scalar @events, scalar @want, "$name: events") or return;

    for my $i (0 .. $#want) {
        for my $k (sort keys %{ $want[$i] }) {
            is_deeply($events[$i]{$k}, $want[$i]{$k},
                      "$name: $k" . (@want > 1 ? " of event " . ($i + 1) : ''));
        }
    }

    return @events;
}

sub exact_ok {
    my ($name, $mode, $input, $line, @opt) = @_;
    my ($text, $rc) = run($mode, $input, @opt);

    records($name, $text);
    is($text, "$line\n", $name);
}

sub reject_ok {
    my ($name, $mode, $input, $reason, @opt) = @_;
    my ($text, $rc, $sig) = run($mode, $input, @opt);

    is($rc, 1, "$name: rejected") or diag($text);
    if (ref $reason) {
        like($text, $reason, "$name: reason");
    } else {
        is($text, "error: $reason\n", "$name: reason");
    }
}

sub form_enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}


my $T_ERR = 'invalid "t": 1-32 of [a-z0-9_.:-]';
my $TS_ERR = 'invalid "ts": integer milliseconds, 1 <= ts < 2^53';
my $FFFD = "\x{fffd}";


# the exact record

exact_ok('representative form event', 'form',
    't=Click&c=post&l=354%2Fin&u=https%3A%2F%2Fexample.com%2Frss_reader.html'
    . '&r=https://example.com/&v=k3j4h5g6f7d8-visitor&s=k3j4h5g6f7d8'
    . '&ts=1795350665712&p.plan=pro&p.items=3&_=8123',
    '{"id":"0b6c2a4e-8f0e-4a57-9d43-6f2a4c1d0001",'
    . '"ts":"2026-11-22T12:31:05.720Z","type":"click","category":"post",'
    . '"label":"354/in","url":"https://example.com/rss_reader.html",'
    . '"referrer":"https://example.com/","visitor":"k3j4h5g6f7d8-visitor",'
    . '"session":"k3j4h5g6f7d8","client_ts":1795350665712,' . $TAIL . ','
    . '"props":{"plan":"pro","items":"3"},' . $FIELDS . '}');

exact_ok('representative JSON event', 'json',
    ' {"t":"click","c":"post","l":"354/in",'
    . '"u":"https:\/\/example.com\/rss_reader.html",'
    . '"r":"https://example.com/","s":"k3j4h5g6f7d8","ts":1795350665712,'
    . '"p":{"plan":"pro","items":3,"price":-1.50e+2,"trial":true,'
    . '"paid":false,"coupon":null,"note":""},"_":1} ' . "\n",
    '{"id":"0b6c2a4e-8f0e-4a57-9d43-6f2a4c1d0001",'
    . '"ts":"2026-11-22T12:31:05.720Z","type":"click","category":"post",'
    . '"label":"354/in","url":"https://example.com/rss_reader.html",'
    . '"referrer":"https://example.com/","visitor":"' . $VISITOR . '",'
    . '"session":"k3j4h5g6f7d8","client_ts":1795350665712,' . $TAIL . ','
    . '"props":{"plan":"pro","items":3,"price":-1.50e+2,"trial":true,'
    . '"paid":false},' . $FIELDS . '}');

exact_ok('empty query: a bare pageview', 'form', '',
    '{"id":"0b6c2a4e-8f0e-4a57-9d43-6f2a4c1d0001",'
    . '"ts":"2026-11-22T12:31:05.720Z","type":"pageview",'
    . '"visitor":"' . $VISITOR . '",' . $TAIL . ',' . $FIELDS . '}');

accept_ok('empty JSON object: a bare pageview', 'json', '{}',
    { type => 'pageview', url => undef, props => undef, client_ts => undef,
      region => undef });


# t

for my $mode ('form', 'json') {
    my $ev = $mode eq 'form' ? sub { "t=$_[0]" }
                             : sub { qq({"t":"$_[0]"}) };

    accept_ok("$mode t absent", $mode, $mode eq 'form' ? 'u=x' : '{"u":"x"}',
              { type => 'pageview' });
    accept_ok("$mode t empty", $mode, $ev->(''), { type => 'pageview' });
    accept_ok("$mode t 32 chars", $mode, $ev->('a' x 32),
              { type => 'a' x 32 });
    reject_ok("$mode t 33 chars", $mode, $ev->('a' x 33), $T_ERR);
    accept_ok("$mode t folded", $mode, $ev->('Add_To:Cart.V-2'),
              { type => 'add_to:cart.v-2' });
    reject_ok("$mode t space", $mode, $ev->('a%20b' =~ s/%20/ /r), $T_ERR);
    reject_ok("$mode t slash", $mode, $ev->('a/b'), $T_ERR);
    reject_ok("$mode t duplicate", $mode,
              $mode eq 'form' ? 't=a&t=b' : '{"t":"a","t":"b"}',
              'duplicate key "t"');
}

accept_ok('form t decoded', 'form', 't=%43lick', { type => 'click' });
reject_ok('form t non-ASCII', 'form', 't=%C3%A9', $T_ERR);
reject_ok('form t NUL', 'form', 't=a%00', $T_ERR);
accept_ok('JSON t escaped', 'json', '{"\u0074":"\u0043lick"}',
          { type => 'click' });


# u r l c

for my $k (['u', 'url', 2048], ['r', 'referrer', 2048], ['l', 'label', 1024],
           ['c', 'category', 64])
{
    my ($key, $field, $max) = @$k;

    accept_ok("form $key $max bytes", 'form', "$key=" . ('x' x $max),
              { $field => 'x' x $max });
    reject_ok("form $key " . ($max + 1) . " bytes", 'form',
              "$key=" . ('x' x ($max + 1)), qq("$key" over $max bytes));
    accept_ok("JSON $key $max bytes", 'json',
              qq({"$key":") . ('x' x $max) . '"}', { $field => 'x' x $max });
    reject_ok("JSON $key " . ($max + 1) . " bytes", 'json',
              qq({"$key":") . ('x' x ($max + 1)) . '"}',
              qq("$key" over $max bytes));
    reject_ok("JSON $key a number", 'json', qq({"$key":1}),
              qq("$key" must be a string));
    accept_ok("JSON $key null", 'json', qq({"$key":null}),
              { $field => undef });
    accept_ok("form $key empty", 'form', "$key=", { $field => undef });
}

accept_ok('form u 2048 decoded bytes', 'form', 'u=' . ('%41' x 2048),
          { url => 'A' x 2048 });
reject_ok('form u 2049 decoded bytes', 'form', 'u=' . ('%41' x 2049),
          '"u" over 2048 bytes');
accept_ok('JSON u 2048 decoded bytes', 'json',
          '{"u":"' . ('\u00e9' x 1024) . '"}', { url => "\x{e9}" x 1024 });
reject_ok('JSON u 2049 decoded bytes', 'json',
          '{"u":"' . ('\u00e9' x 1024) . 'x"}', '"u" over 2048 bytes');
accept_ok('form + and %20', 'form', 'l=a+b%20c%2B', { label => 'a b c+' });
accept_ok('form raw bytes kept', 'form', "l=a\x00b\xff", {
          label => "a\x00b$FFFD" });


# v s

for my $k (['v', 'visitor'], ['s', 'session']) {
    my ($key, $field) = @$k;
    my $err = qq(invalid "$key": 8-64 of [A-Za-z0-9_-]);

    reject_ok("form $key 7 chars", 'form', "$key=" . ('a' x 7), $err);
    accept_ok("form $key 8 chars", 'form', "$key=Ab3_-xyz",
              { $field => 'Ab3_-xyz' });
    accept_ok("form $key 64 chars", 'form', "$key=" . ('a' x 64),
              { $field => 'a' x 64 });
    reject_ok("form $key 65 chars", 'form', "$key=" . ('a' x 65), $err);
    reject_ok("form $key bad char", 'form', "$key=abcdefg.", $err);
    reject_ok("JSON $key 7 chars", 'json', qq({"$key":"abcdefg"}), $err);
    accept_ok("JSON $key 64 chars", 'json', qq({"$key":") . ('Z' x 64) . '"}',
              { $field => 'Z' x 64 });
    reject_ok("JSON $key 65 chars", 'json',
              qq({"$key":") . ('Z' x 65) . '"}', $err);
    reject_ok("JSON $key not a string", 'json', qq({"$key":12345678}),
              qq("$key" must be a string));
}

accept_ok('no v: the handler\'s visitor', 'form', 's=abcdefgh',
          { visitor => $VISITOR, session => 'abcdefgh' });


# ts

for my $c (['0', undef], ['1', 1], ['9007199254740991', 9007199254740991],
           ['9007199254740992', undef], ['99999999999999999999999', undef],
           ['1.5', undef], ['-1', undef], ['1e3', undef], ['1E3', undef],
           ['1.0', undef], ['-0', undef])
{
    my ($v, $ok) = @$c;

    for my $mode ('form', 'json') {
        my $in = $mode eq 'form' ? 'ts=' . form_enc($v) : qq({"ts":$v});

        if (defined $ok) {
            accept_ok("$mode ts $v", $mode, $in, { client_ts => $ok });
        } else {
            reject_ok("$mode ts $v", $mode, $in, $TS_ERR);
        }
    }
}

reject_ok('form ts +1', 'form', 'ts=%2B1', $TS_ERR);
reject_ok('form ts space', 'form', 'ts=+1', $TS_ERR);
reject_ok('form ts hex', 'form', 'ts=0x10', $TS_ERR);
accept_ok('form ts leading zeros', 'form', 'ts=' . ('0' x 30) . '7',
          { client_ts => 7 });
accept_ok('form ts empty', 'form', 'ts=', { client_ts => undef });
reject_ok('JSON ts a string', 'json', '{"ts":"123"}', '"ts" must be a number');
reject_ok('JSON ts true', 'json', '{"ts":true}', '"ts" must be a number');
accept_ok('JSON ts null', 'json', '{"ts":null}', { client_ts => undef });
reject_ok('JSON ts 01: the first fault is the value', 'json', '{"ts":01}',
          $TS_ERR);
reject_ok('JSON ts duplicate', 'json', '{"ts":1,"ts":2}',
          'duplicate key "ts"');


# percent-encoding

for my $c (['u=%zz', 'u'], ['u=%4', 'u'], ['u=abc%', 'u'], ['l=%g0', 'l'],
           ['t=%', 't'], ['ts=1%2', 'ts'], ['p.a=%zz', 'p.a'],
           ['v=abcdefgh%0', 'v'])
{
    reject_ok("form $c->[0]", 'form', $c->[0],
              qq(malformed percent-encoding in "$c->[1]"));
}

reject_ok('form bad key', 'form', '%zz=1', 'malformed percent-encoding in key');
reject_ok('form bad unknown key', 'form', 'x%=1',
          'malformed percent-encoding in key');
accept_ok('form unknown key, bad value', 'form', 'x=%zz&t=a',
          { type => 'a' });
accept_ok('form _ bad value', 'form', '_=%zz%', { type => 'pageview' });
accept_ok('form decoded key', 'form', '%75=x&%70%2Ea=1',
          { url => 'x', props => { a => '1' } });
accept_ok('form upper-case key is unknown', 'form', 'U=x&T=click',
          { url => undef, type => 'pageview' });


# duplicates, empty values, segments

reject_ok('form u twice', 'form', 'u=a&u=b', 'duplicate key "u"');
reject_ok('form u twice, encoded key', 'form', 'u=a&%75=b',
          'duplicate key "u"');
accept_ok('form u empty then set', 'form', 'u=&u=b', { url => 'b' });
accept_ok('form unknown twice', 'form', 'x=1&x=2&_=1&_=2', {});
reject_ok('form prop twice', 'form', 'p.a=1&p.a=2', 'duplicate prop "a"');
accept_ok('form prop empty then set', 'form', 'p.a=&p.a=2',
          { props => { a => '2' } });
reject_ok('JSON u twice', 'json', '{"u":"a","u":"b"}', 'duplicate key "u"');
accept_ok('JSON u null then set', 'json', '{"u":null,"u":"b"}',
          { url => 'b' });
accept_ok('JSON unknown twice', 'json', '{"x":1,"x":{"y":2}}', {});
reject_ok('JSON p twice', 'json', '{"p":{},"p":{"a":1}}',
          'duplicate key "p"');
reject_ok('JSON prop twice', 'json', '{"p":{"a":1,"a":"x"}}',
          'duplicate prop "a"');
accept_ok('form empty segments', 'form', '&&u=x&&&l=y&', {
          url => 'x', label => 'y' });
accept_ok('form key without =', 'form', 'u&l=y&t', {
          url => undef, label => 'y', type => 'pageview' });
accept_ok('form empty key', 'form', '=x&==&u==', { url => '=' });


# props

my @p20 = map { "p.k$_=$_" } 1 .. 20;

my ($ev) = accept_ok('form 20 props', 'form', join('&', @p20), {});
is(scalar keys %{ $ev->{props} }, 20, 'form 20 props: all kept');
reject_ok('form 21 props', 'form', join('&', @p20, 'p.k21=1'),
          'too many props (max 20)');
accept_ok('form 20 props and an empty one', 'form',
          join('&', @p20, 'p.k21='), {});
($ev) = accept_ok('JSON 20 props', 'json',
    '{"p":{' . join(',', map { qq("k$_":$_) } 1 .. 20) . '}}', {});
is(scalar keys %{ $ev->{props} }, 20, 'JSON 20 props: all kept');
reject_ok('JSON 21 props', 'json',
    '{"p":{' . join(',', map { qq("k$_":$_) } 1 .. 21) . '}}',
    'too many props (max 20)');
accept_ok('JSON 20 props and nulls', 'json',
    '{"p":{' . join(',', map { qq("k$_":$_,"n$_":null) } 1 .. 20) . '}}', {});
accept_ok('form prop name 64', 'form', 'p.' . ('n' x 64) . '=1',
          { props => { 'n' x 64 => '1' } });
reject_ok('form prop name 65', 'form', 'p.' . ('n' x 65) . '=1',
          'invalid prop name "' . ('n' x 64) . '..."');
accept_ok('prop name charset', 'form', 'p.A-z_0.9=1',
          { props => { 'A-z_0.9' => '1' } });
reject_ok('form prop name empty', 'form', 'p.=1', 'invalid prop name ""');
reject_ok('form prop name bytes', 'form', 'p.a%22%5C%00%FF%20b=1',
          'invalid prop name "a\x22\x5c\x00\xff b"');
reject_ok('JSON prop name bytes', 'json', '{"p":{"a\"\n\u00e9":1}}',
          'invalid prop name "a\x22\x0a\xc3\xa9"');
reject_ok('JSON prop name long', 'json',
          '{"p":{"' . ('\u0001' x 100) . '":1}}',
          'invalid prop name "' . ('\x01' x 64) . '..."');
accept_ok('form prop value 512', 'form', 'p.a=' . ('v' x 512),
          { props => { a => 'v' x 512 } });
reject_ok('form prop value 513', 'form', 'p.a=' . ('v' x 513),
          'prop "a" over 512 bytes');
reject_ok('JSON prop value 513', 'json',
          '{"p":{"a":"' . ('v' x 513) . '"}}', 'prop "a" over 512 bytes');
accept_ok('JSON prop number 512', 'json',
          '{"p":{"a":1' . ('0' x 511) . '}}', {});
reject_ok('JSON prop number 513', 'json',
          '{"p":{"a":1' . ('0' x 512) . '}}', 'prop "a" over 512 bytes');
exact_ok('JSON prop types', 'json',
    '{"p":{"s":"x","i":0,"f":-0.5E-3,"big":123456789012345678901234567890,'
    . '"t":true,"F":false,"n":null,"e":""}}',
    '{"id":"0b6c2a4e-8f0e-4a57-9d43-6f2a4c1d0001",'
    . '"ts":"2026-11-22T12:31:05.720Z","type":"pageview",'
    . '"visitor":"' . $VISITOR . '",' . $TAIL . ','
    . '"props":{"s":"x","i":0,"f":-0.5E-3,'
    . '"big":123456789012345678901234567890,"t":true,"F":false},'
    . $FIELDS . '}');
reject_ok('JSON prop object', 'json', '{"p":{"a":{"b":1}}}',
          'prop "a" must be a string, number or boolean');
reject_ok('JSON prop array', 'json', '{"p":{"a":[]}}',
          'prop "a" must be a string, number or boolean');
reject_ok('JSON prop array, malformed inside', 'json', '{"p":{"a":[1,]}}',
          'malformed JSON at byte 13');
for my $bad (['01', 11], ['1.', 12], ['.5', 10], ['+1', 10], ['-', 11],
             ['1e', 12], ['1e+', 13], ['0x1', 11], ['NaN', 10])
{
    reject_ok("JSON prop number $bad->[0]", 'json',
              qq({"p":{"a":$bad->[0]}}), "malformed JSON at byte $bad->[1]");
}
reject_ok('JSON p a string', 'json', '{"p":"a=1"}', '"p" must be an object');
reject_ok('JSON p an array', 'json', '{"p":[1]}', '"p" must be an object');
accept_ok('JSON p null', 'json', '{"p":null}', { props => undef });
accept_ok('JSON p empty', 'json', '{"p":{}}', { props => undef });
accept_ok('JSON p.x is an unknown key', 'json', '{"p.x":"1"}',
          { props => undef });
accept_ok('form p alone is unknown', 'form', 'p=1', { props => undef });


# wrong JSON types

for my $c (['t', 'true'], ['u', '{}'], ['r', '[]'], ['l', '1.5'],
           ['c', 'false'], ['v', '["abcdefgh"]'], ['s', '0'])
{
    reject_ok("JSON $c->[0] = $c->[1]", 'json', qq({"$c->[0]":$c->[1]}),
              qq("$c->[0]" must be a string));
}
reject_ok('JSON wrong type, malformed', 'json', '{"u":[1,}',
          'malformed JSON at byte 8');


# batches

my $obj = '{"t":"click"}';

accept_ok('batch of 1', 'json', "[$obj]", [{ type => 'click' }]);
my @b50 = accept_ok('batch of 50', 'json', '[' . join(',', ($obj) x 50) . ']',
                    [({ type => 'click' }) x 50]);
my %ids = map { $_->{id} => 1 } @b50;
is(scalar keys %ids, 50, 'batch of 50: distinct ids');
reject_ok('batch of 51', 'json', '[' . join(',', ($obj) x 51) . ']',
          'batch over 50 events');
accept_ok('batch of 3, max 3', 'json', "[$obj,{},$obj]",
          [{ type => 'click' }, { type => 'pageview' }, { type => 'click' }],
          '-b', 3);
reject_ok('batch of 4, max 3', 'json', "[$obj,$obj,$obj,$obj]",
          'batch over 3 events', '-b', 3);
accept_ok('one object, max 1', 'json', $obj, { type => 'click' }, '-b', 1);
reject_ok('empty batch', 'json', '[]', 'empty batch');
reject_ok('empty batch, spaces', 'json', " [ \n ] ", 'empty batch');
reject_ok('batch: a number', 'json', '[1]', 'event 1 is not an object');
reject_ok('batch: a string 2nd', 'json', '[{},"x"]',
          'event 2 is not an object');
reject_ok('batch: an array 2nd', 'json', '[{},[]]', 'event 2 is not an object');
reject_ok('batch: null 3rd', 'json', '[{},{},null]',
          'event 3 is not an object');
reject_ok('batch: bad 3rd event', 'json', '[{},{},{"t":"a b"}]',
          "event 3: $T_ERR");
reject_ok('batch: duplicate in 1st', 'json', '[{"u":"a","u":"b"},{}]',
          'event 1: duplicate key "u"');
reject_ok('batch: malformed in 2nd', 'json', '[{},{"u":1.}]',
          'event 2: malformed JSON at byte 11');
reject_ok('batch: trailing comma', 'json', '[{},]',
          'malformed JSON at byte 4');
reject_ok('batch: no comma', 'json', '[{} {}]', 'malformed JSON at byte 4');
reject_ok('batch: unclosed', 'json', '[{}', 'malformed JSON at byte 3');
reject_ok('batch: nested', 'json', '[[{}]]', 'event 1 is not an object');


# malformed JSON

for my $c (['', 0], ['   ', 3], ['{', 1], ['{"t"', 4], ['{"t":', 5],
           ['{"t":"a"', 8], ['{"t":"a",}', 9], ['{"t":"a"} x', 10],
           ['{"t":"a"}{}', 9], ["{\"t\":'a'}", 5], ["{\"t\":\"a\x01\"}", 7],
           ["{\"t\":\"a\x00\"}", 7], ["{\"l\":\"a\nb\"}", 7],
           ['{"t":"\q"}', 7], ['{"t":"\u12"}', 10], ['{"t":"\u12', 10],
           ['{"t":"\\', 7], ['{t:1}', 1], ['{"a":tru}', 8], ['{"a":nul}', 8],
           ['{"a":01}', 6], ['{"a":1.}', 7], ['{"a":-}', 6], ['{"a":1e}', 7],
           ['{"a":[1,]}', 8], ['{"a":{"b"}}', 9], ['{"a":{"b":1,}}', 12],
           ['{"a":[1}', 7], ['{"a":{]}', 6], ['{"a" 1}', 5],
           ['{"a":1,,"b":2}', 7], ["\xef\xbb\xbf{}", 0], ['x', 0],
           ["{\"a\":\"\x80\"", 8], ['{"a":"\x80"}', 7], ['{"a":1}]', 7],
           ['{"u":"a"' . "\t", 9])
{
    reject_ok('malformed ' . ($c->[0] =~ s/[^\x20-\x7e]/?/gr), 'json',
              $c->[0], "malformed JSON at byte $c->[1]");
}
reject_ok('top-level string', 'json', '"x"',
          'JSON must be an object or an array of objects');
reject_ok('top-level number', 'json', '12',
          'JSON must be an object or an array of objects');
accept_ok('whitespace around', 'json', " \t\r\n{ \"t\" : \"a\" , \"u\" :"
          . " null }\r\n\t ", { type => 'a' });
accept_ok('unknown keys of every kind', 'json',
          '{"a":1,"b":"x","x":[1,{"d":[]},-2.5e3,true,false,null],"e":{},'
          . '"f":{"g":{"h":"\ud800"}},"_":null,"T":1,"t":"x"}',
          { type => 'x' });


# nesting (the top object is depth 1)

sub nest { my ($n) = @_; return ('[' x $n) . (']' x $n) }

accept_ok('31 arrays under the event', 'json',
          '{"x":' . nest(31) . ',"t":"a"}', { type => 'a' });
reject_ok('32 arrays under the event', 'json', '{"x":' . nest(32) . '}',
          'JSON nested too deeply');
accept_ok('30 arrays under a batched event', 'json',
          '[{"x":' . nest(30) . '}]', [{ type => 'pageview' }]);
reject_ok('31 arrays under a batched event', 'json',
          '[{"x":' . nest(31) . '}]', 'event 1: JSON nested too deeply');
accept_ok('31 objects under the event', 'json',
          '{"x":' . ('{"a":' x 30) . '{}' . ('}' x 30) . '}', {});
reject_ok('32 objects under the event', 'json',
          '{"x":' . ('{"a":' x 31) . '{}' . ('}' x 31) . '}',
          'JSON nested too deeply');
reject_ok('100000 arrays, unclosed', 'json', '{"x":' . ('[' x 100000),
          'JSON nested too deeply');
reject_ok('deep in a wrongly typed key', 'json', '{"u":' . nest(40) . '}',
          'JSON nested too deeply');
reject_ok('deep in a prop', 'json', '{"p":{"a":' . nest(40) . '}}',
          'JSON nested too deeply');


# bytes: invalid UTF-8, controls, NUL, surrogates

for my $c (['%FF', $FFFD], ['%C0%AF', $FFFD x 2], ['%ED%A0%80', $FFFD x 3],
           ['%E2%82', $FFFD], ['%E2%82x', "${FFFD}x"],
           ['%F4%90%80%80', $FFFD x 4], ['%F0%9F%98%80', "\x{1f600}"],
           ['%F0%9F%98', $FFFD], ['%80%80', $FFFD x 2],
           ['%C3%A9%E2%80%A8%E2%80%A9', "\x{e9}\x{2028}\x{2029}"],
           ['%00%01%1F%7F', "\x00\x01\x1f\x7f"],
           ['%09%0A%0D%08%0C', "\t\n\r\b\f"],
           ['%22%5C%2F', '"\\/'], ['%F8%88%80%80%80', $FFFD x 5],
           ['%EF%BF%BF%F4%8F%BF%BF', "\x{ffff}\x{10ffff}"],
           ['%E0%80%80', $FFFD x 3], ['%E0%A0%80', "\x{800}"])
{
    accept_ok("form l=$c->[0]", 'form', "l=$c->[0]", { label => $c->[1] });
}

accept_ok('JSON raw invalid UTF-8 kept then replaced', 'json',
          "{\"l\":\"a\xffb\xc3\"}", { label => "a${FFFD}b$FFFD" });
accept_ok('JSON raw DEL', 'json', "{\"l\":\"\x7f\"}", { label => "\x7f" });
for my $c (['\ud83d\ude00', "\x{1f600}"], ['\ud83d', $FFFD],
           ['\ude00', $FFFD], ['\ud83dx', "${FFFD}x"],
           ['\ud83d\u0041', "${FFFD}A"],
           ['\ud83d\ud83d\ude00', "$FFFD\x{1f600}"],
           ['\udbff\udfff', "\x{10ffff}"], ['\ud800\\\\ude00', "$FFFD\\ude00"],
           ['\u0000', "\x00"], ['\u2028\u2029', "\x{2028}\x{2029}"],
           ['\u00E9\u0800\uFFFF', "\x{e9}\x{800}\x{ffff}"],
           ['\"\\\/\b\f\n\r\t', "\"\\/\b\f\n\r\t"])
{
    accept_ok("JSON l $c->[0]", 'json', qq({"l":"$c->[0]"}),
              { label => $c->[1] });
}

# format_ts

for my $c (['0', '7', '1970-01-01T00:00:00.007Z'],
           ['951782400', '0', '2000-02-29T00:00:00.000Z'],
           ['1795350665', '999', '2026-11-22T12:31:05.999Z'],
           ['4102444799', '59', '2099-12-31T23:59:59.059Z'],
           ['253402300799', '1000', '9999-12-31T23:59:59.000Z'])
{
    accept_ok("format_ts $c->[0].$c->[1]", 'form', '', { ts => $c->[2] },
              '-t', $c->[0], $c->[1]);
}

my ($text) = run('form', 'l=%E2%80%A8%00%7F%C0');
like($text, qr/"label":"\\u2028\\u0000\\u007f\xef\xbf\xbd"/,
     'U+2028, NUL, DEL escaped, U+FFFD raw');

done_testing();
