// Package provision is the back end's task layer: verify, install and the
// other tasks, each a list of aegir.Steps with undo, built from the
// contexts and the drivers registered for their services and apps.
//
// Each task has a file of its own, <task>.go (migrate.go, backup_delete.go,
// …), whose function checks the task's arguments and returns its named
// steps, their names unique within the task; its doc comment lists each
// step, what it calls and its undo. Pieces several tasks share are named
// step builders in steps_*.go (steps_backup.go, steps_deploy.go,
// steps_move.go, steps_site.go, …). backend.go maps each task to its
// function and runs the steps. testdata/steps.golden lists every task's
// steps as the code builds them. record.go is the record a deploy keeps
// beside its source site while it runs, from which verify's recover step
// undoes or finishes one that died (moved_tables.go moves a migrate's
// tables; strays.go sets aside copies nobody knows of).
//
// It depends only on the domain package; drivers arrive through the
// registries, so the same code runs from the CLI and from the front end.
package provision
