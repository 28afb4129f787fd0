// Package provision is the back end's task layer: verify, install and the
// other tasks, each a list of aegir.Steps with undo, built from the
// contexts and the drivers registered for their services and apps.
//
// It depends only on the domain package; drivers arrive through the
// registries, so the same code runs from the CLI and from the front end.
package provision
