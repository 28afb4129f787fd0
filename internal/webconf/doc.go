// Package webconf is what the web server drivers (nginx, apache) share
// about the configuration files they write: the engine that makes changes
// of those files live (Submit), the atomic file helpers their server
// files use too (WriteFile, Snapshot, Symlink), the lock that serialises
// the changes of one server (Lock), and the checks of the values they
// write into a file (CheckParam, CheckURL, CheckServer).
//
// # Making changes live
//
// Changes to one server's configuration made at the same time in one
// process (the dispatcher runs many tasks at once) are coalesced: they go
// live together, behind one configuration test and one reload, and each
// caller is told its own result. A broken file never reaches the running
// web server:
//
//   - a web server that can test new files on their own (a Pretester:
//     nginx, in a small configuration made of the live server file with
//     only the batch's new vhosts in place of vhost.d) has each new file
//     tested that way first; when that fails, halving the set finds the
//     files that fail alone, and only those are set aside;
//   - the batch is then written and the whole configuration tested, as
//     before any reload; if that still fails (files that only clash with
//     others, or any failure where there is no Pretester), the batch is
//     put back, in reverse, and its changes are applied one by one, in the
//     order they came (an Apache platform file before the vhosts that need
//     it), each tested in the whole configuration, so only the bad ones
//     are rejected, with the web server's message;
//   - files set aside by the first test go through that one-by-one path
//     too, so a file is only ever rejected by the test of the real
//     configuration.
//
// When a batch rewrites most of the configuration (every vhost
// regenerated), the small configuration would be as big as the whole one,
// and testing it first would double the cost of every batch: such a batch
// is tested whole first, and only when that fails are its files tested on
// their own to find the broken ones.
//
// A file is replaced without creating one: its new content is written
// into a spare file beside it (.<name>.conf.spare, which no include
// matches) and synced, then swapped with it in one atomic step
// (renameat2 RENAME_EXCHANGE), and swapped back if the test fails. Making
// a file costs far more than rewriting one on many file systems, and a
// regeneration rewrites every vhost. A rewritten file keeps its spare,
// emptied; a failed task leaves no spare it did not find (cleanSpares),
// and an undo leaves the spares as they were before the change it undoes.
//
// A batch leaves a mark in the directory (.reload-pending) before it
// writes its first file and removes it after the reload. A process killed
// in between leaves files on disk that the running server does not have;
// the next batch finds the mark and tests and reloads even when its own
// files are unchanged, so a verify after the crash makes the site's vhost
// live.
//
// A change that finds the server idle goes at once (after a couple of
// milliseconds in which others may join). When changes keep arriving at
// an idle server, they are gathered for at most as long as the last test
// and reload took, so a flood goes in one or two batches rather than a
// small one first. After that, the changes that arrive while a batch is
// being tested and reloaded make up the next one, which goes at once, as
// a database commits a group. A task waiting for its batch leaves its
// worker slot to another meanwhile (Target.Wait), so that more
// changes join the batch. Across processes, the lock file of the
// configuration directory serialises batches.
//
// What differs between web servers stays in their drivers, behind Server:
// how the configuration is tested, how it is reloaded and how the reload
// is seen to be live (nginx's generation probe and its detection of a
// rejected reload, Apache's graceful restart), and nginx's test of new
// vhosts on their own (Pretester).
//
// It imports only the domain package, the standard library and
// golang.org/x/sys/unix (renameat2); it must not import the drivers or
// any other adapter.
package webconf
