// Package drupal is the app driver for Drupal codebases: Drupal 7 and Drupal
// 8 and later. It detects a codebase and its version, lists its modules,
// themes and profiles with their schema versions, writes each site's
// settings.php (with the database credentials read from the web server's
// cloaked parameters, never written down) and the aliases in sites/sites.php,
// installs sites without drush on Drupal 7 through an embedded PHP helper,
// and makes one-time login links. Through more helpers (Drupal 7) or the
// platform's own drush (Drupal 8+) it lists what a site has enabled, runs
// its database updates and cron, and rewrites its old address after a
// clone or rename; it reads a foreign site's settings.php for an import
// without running it.
//
// It implements aegir.App and registers itself as "drupal". It imports only
// the domain package, phpfile (the settings-file helpers the app drivers
// share), github.com/go-sql-driver/mysql (user 1's row for a login link)
// and the standard library: never another adapter.
package drupal
