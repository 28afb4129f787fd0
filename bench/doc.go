// Package bench holds the benchmarks of issue 6 (benchmarks and scale):
// each measures aegir against, in the same run, the naive peer (what
// Aegir 3 does) and the physical floor (what nginx, MariaDB and the disk
// alone take), and prints one line per figure with its target.
//
// The benchmarks are tests that run only when AEGIR_BENCH is "quick" or
// "full" (make bench, make bench-full); otherwise they skip, so go test
// ./... stays fast. At the end of a run they write their table into
// docs/benchmarks.md. AEGIR_BENCH_PROFILE=DIR also writes CPU profiles of
// the slowest in-process part of each benchmark into DIR.
//
// The benchmarks drive real components: a private nginx, php-fpm and the
// machine's MariaDB and PostgreSQL, the dispatcher and stores in-process,
// and the aegir binary where the figure is about a command (backup,
// restore, migrate-platform, serve). The shell scripts the peers run are
// in scripts/. This package holds no code of aegir itself: nothing may
// import it.
package bench
