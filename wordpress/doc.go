// Package wordpress is the app driver for WordPress codebases: it detects a
// WordPress platform and its version, lists its plugins and themes, makes
// the platform serve many sites (a loader wp-config.php that picks
// sites/<uri>/wp-config.php from the AEGIR_SITE parameter, and a must-use
// plugin for one-time login links), writes each site's settings with
// cloaked database credentials, installs sites without wp-cli and makes
// login links. For the rest of a site's life it lists the site's active
// plugins and theme with its database schema (db_version), runs
// wp_upgrade() after a migrate, moves the site's addresses in its database
// after a clone or rename (keeping PHP-serialized values valid), runs its
// cron events from PHP CLI, and reads a foreign wp-config.php for import.
// It registers itself as the "wordpress" app.
//
// PHP runs only through the aegir.Runner given in aegir.Env, with the
// database credentials in the environment and secrets on standard input.
// It imports the domain package, phpfile (the settings-file helpers the app
// drivers share) and the standard library only; it must not import other
// adapters (provision, local, nginx, mysql, ...).
package wordpress
