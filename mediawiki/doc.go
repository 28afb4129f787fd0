// Package mediawiki is the app driver for MediaWiki codebases: it detects a
// MediaWiki platform and its version, lists its extensions and skins, makes
// the platform serve many wikis (a loader LocalSettings.php that picks
// sites/<uri>/LocalSettings.php from the AEGIR_SITE parameter, for any
// entry point the MW_CONFIG_FILE parameter does not reach), installs wikis
// with maintenance/install.php, keeps their settings free of database
// credentials (aegir.settings.php reads them from the web server's cloaked
// parameters) and makes one-time login links. For the rest of a wiki's life
// it lists the extensions and skins its LocalSettings.php loads, runs
// maintenance/update.php after a migrate and maintenance/runJobs.php as its
// cron, and reads a foreign LocalSettings.php for import. It registers
// itself as the "mediawiki" app.
//
// PHP runs only through the aegir.Runner given in aegir.Env, with the
// database credentials in the environment and passwords in 0600 temporary
// files, never on a command line. It imports the domain package, phpfile
// (the settings-file helpers the app drivers share) and the standard
// library only; it must not import other adapters (provision, local, nginx,
// mysql, ...).
package mediawiki
