#!/usr/bin/perl
# Turns a file into a C header holding its bytes, for the module to serve:
#
#   util/embed.pl [--js] NAME FILE > HEADER
#
# defines "static u_char NAME[]" (the bytes, no NUL added) and
# "#define NAME_LEN".  With --js, lines that hold only a "//" comment,
# blank lines and indentation are left out: the readable source stays in
# src/, what browsers download is smaller.  The headers are committed, so
# that nginx's own build needs nothing but a C compiler; t/016-dashboard.t
# and t/017-js.t fail when one is stale.

use strict;
use warnings;

my $js = @ARGV && $ARGV[0] eq '--js' ? shift @ARGV : undef;
my ($name, $file) = @ARGV;
die "usage: $0 [--js] NAME FILE\n" unless defined $file && $name =~ /^\w+$/;

open my $fh, '<:raw', $file or die "$file: $!\n";
my $data = do { local $/; <$fh> };
close $fh;

if ($js) {
    $data = join '', map { s/^\s+//r } grep { !m{^\s*(//.*)?$} }
                     split /^/, $data;
}

(my $src = $file) =~ s{^.*?(src/)}{$1};
my $len = length $data;
my $how = $js ? 'util/embed.pl --js' : 'util/embed.pl';

print "\n/*\n * generated from $src by $how;\n * do not edit\n */\n\n\n";
print "#define \U$name\E_LEN  $len\n\n";
print "static u_char  $name\[\] = {\n";

for (my $i = 0; $i < $len; $i += 12) {
    my $chunk = substr $data, $i, 12;
    print '    ', join(', ', map { sprintf '0x%02x', ord } split //, $chunk),
          ",\n";
}

print "};\n";
