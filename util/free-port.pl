#!/usr/bin/perl
# Prints a TCP port on 127.0.0.1 that is free now (the kernel's choice).
use strict;
use warnings;
use IO::Socket::INET;

my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                              LocalPort => 0, ReuseAddr => 1)
    or die "util/free-port.pl: no free port: $!\n";
print $s->sockport, "\n";
