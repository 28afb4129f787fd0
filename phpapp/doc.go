// Package phpapp is the app driver for any PHP codebase with an index.php
// and no installer aegir knows: it gives each site a database and a
// settings.php under sites/<uri>/ that returns the site's credentials, read
// from the cloaked parameters the web server passes to PHP. The app finds
// its site's settings through the AEGIR_SITE parameter.
//
// It implements aegir.App and registers itself as "php" (the package is not
// named php, which would read badly in Go). It imports only the domain
// package, phpfile (the settings-file helpers the app drivers share) and
// the standard library: never another adapter.
package phpapp
