# perl: a hash of 100k words, regexes, sort, a large string grown by
# appends (realloc -> mremap), a forked child that builds its own hash, and
# a pipe open of a child command.
use strict;
use warnings;

my %count;
my $text = '';
for my $i (1 .. 100_000) {
  my $w = sprintf('w%05d', ($i * 7919) % 50_000);
  $count{$w}++;
  $text .= "$w " if $i % 4 == 0;
}
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 4];
my $matches = () = $text =~ /w0[0-4]\d{3}/g;
my $pid = fork();
if ($pid == 0) {
  my %h = map { $_ => length $_ } 1 .. 50_000;
  exit(scalar(keys %h) == 50_000 ? 0 : 1);
}
waitpid($pid, 0);
open(my $fh, '-|', 'ls', '/usr/lib') or die;
my @lines = <$fh>;
close $fh;
print "@top $matches ", scalar(@lines), " ", length($text), "\n";
