#!/usr/bin/perl
# Turns a file into a C header holding its bytes, for the module to serve:
#
#   util/embed-html.pl NAME FILE > HEADER
#
# defines "static u_char NAME[]" (the bytes, no NUL added) and
# "#define NAME_LEN". The header is committed, so that nginx's own build
# needs nothing but a C compiler; t/016-dashboard.t fails when it is stale.

use strict;
use warnings;

my ($name, $file) = @ARGV;
die "usage: $0 NAME FILE\n" unless defined $file && $name =~ /^\w+$/;

open my $fh, '<:raw', $file or die "$file: $!\n";
my $data = do { local $/; <$fh> };
close $fh;

(my $src = $file) =~ s{^.*?(src/)}{$1};
my $len = length $data;

print "\n/*\n * generated from $src by util/embed-html.pl;\n * do not edit\n */\n\n\n";
print "#define \U$name\E_LEN  $len\n\n";
print "static u_char  $name\[\] = {\n";

for (my $i = 0; $i < $len; $i += 12) {
    my $chunk = substr $data, $i, 12;
    print '    ', join(', ', map { sprintf '0x%02x', ord } split //, $chunk),
          ",\n";
}

print "};\n";
