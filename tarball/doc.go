// Package tarball writes and reads site backups: one tar archive of a site
// directory (with its database.sql dump inside), compressed with gzip or
// zstd, laid out as Aegir 3 lays them out (entries "./settings.php",
// "./files/...", "./database.sql"), so Aegir 3 backups restore too.
//
// Create streams a directory into an archive that appears under its real
// name only once complete, with a sha256sum-style checksum file beside it.
// Extract validates every entry of an archive before it writes anything, so
// an archive that would reach outside its destination touches nothing.
// Everything is done in Go; no external command is run.
//
// It imports only the domain package and the compression libraries; it must
// not import other adapters.
package tarball
