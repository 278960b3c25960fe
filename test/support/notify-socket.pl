# A stand-in for systemd's notify socket: receives datagrams on the unix socket named by its
# argument and prints each as one JSON-free line, its fields joined by "|", then "--".
# Perl because Node cannot receive unix datagrams; perl-base is on every Debian system.
use strict;
use IO::Socket::UNIX;
use Socket;
my $path = shift or die "usage: notify-socket.pl PATH\n";
unlink $path;
my $socket = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "socket $path: $!\n";
$| = 1;
print "listening\n";
while (1) {
  my $message;
  defined($socket->recv($message, 65536)) or die "recv: $!\n";
  $message =~ s/\n+$//;
  $message =~ s/\n/|/g;
  print "$message\n";
}
