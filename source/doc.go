// Package source builds a platform's codebase from its source: a Drush
// make file (.make or .make.yml, with drupal.org releases resolved through
// their release-history XML), a git repository at a ref, or a composer
// project. Builder implements aegir.PlatformBuilder; provision's verify
// calls it to fill a temporary directory that it then moves into place.
//
// It imports the domain package and tarball (safe extraction) only; every
// command (git, patch, composer, cp) runs through the aegir.Runner as an
// argument vector.
package source
