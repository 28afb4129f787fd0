// Package storetest is the conformance suite of aegir.Store: every store
// driver (sqlite, postgres) runs Exercise from its own tests and so proves
// it keeps the same rules: CRUD with ENOTFOUND and ECONFLICT, Aegir's
// uniqueness of site names and aliases, pagination and filters, one
// transaction per change, and the task queue's ordering and exclusion.
//
// It imports the domain package and the standard library's testing only;
// it must not import a store driver.
package storetest
