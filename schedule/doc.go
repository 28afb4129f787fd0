// Package schedule holds the front end's schedulers: cron for every enabled
// site spread over a period, backups and their retention by policy, disk
// use statistics of sites, certificate renewals, and the pruning of old
// task logs. Schedulers only enqueue ordinary tasks (the dispatcher runs
// them) or update records; each has a Run(ctx) driven by a ticker of an
// injectable Clock, and a one-pass method that tests call with the time
// they choose.
//
// It imports the domain package and the back end's task names
// (provision); it reaches db servers through the domain's DBService only.
// It must not import a store driver, a db driver, the dispatcher or the
// HTTP layer.
package schedule
