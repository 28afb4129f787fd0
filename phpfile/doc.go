// Package phpfile handles the settings files of PHP apps: atomic writes with
// owner and mode (Write, WriteKeepingGroup, and WriteIfOurs for a file that
// may be someone else's), and literal values read without
// running PHP: string literals and comments (Quote, StringValue,
// StripComments) and the literal assignments of a settings file
// (Assignments, Lookup).
//
// A settings file being imported is foreign code, so nothing here runs PHP:
// whatever PHP would have to compute is reported as such, never guessed.
//
// It is a leaf package the app drivers (wordpress, mediawiki, drupal,
// phpapp) share. It imports only the standard library; it must not import
// the domain's adapters or anything that runs commands.
package phpfile
