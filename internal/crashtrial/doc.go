// Package crashtrial runs kill -9 trials (issue 13, crash safety): a
// WordPress site on a real nginx, php-fpm and MariaDB, a task that changes
// it started through the aegir binary and killed, with its children, at a
// random moment of its measured duration, then the recovery the product
// documents (docs/tasks.md: a verify of the site, of the new name too after
// a migrate under a new name or a clone, a delete run again), then checks:
// the site serves its marker content from its database and its files, its
// database is there and not empty, no copy of it is left where it could be
// served or taken for a site, the contexts agree with the disk and the
// databases. Each trial is counted by task: killed or finished before the
// kill, content lost, stray copies, failed recoveries, and the leftovers
// the documentation says to remove by hand.
//
// One implementation serves both runs: test/e2e runs a few trials of each
// task in make test, bench runs hundreds and writes the figures into
// docs/benchmarks.md. The random moments come from a seeded generator; the
// seed is logged, and AEGIR_CRASH_SEED replays a run (the kill points are
// the same fractions of each task's duration, measured again).
//
// Only tests import it. It drives the aegir binary and reads what it
// leaves (contexts, files, databases); it imports the domain, contextfile
// to read contexts, and teststack.
package crashtrial
