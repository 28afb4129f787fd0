// Package apache is the Apache http service driver: it renders the server
// file (with the default virtual host), one file per platform (a
// <Directory> block holding the app's rules, since no .htaccess is read)
// and each site's vhost from embedded templates under $AEGIR_HOME/config,
// links the server file into the system Apache, tests every change with
// the configured test command before a graceful restart, and puts the
// previous files back when a test fails, so a broken file never reaches
// the running Apache. PHP runs in php-fpm through mod_proxy_fcgi, and the
// cloaked site parameters reach it as SetEnv variables.
//
// A site's vhost refuses to load (an Apache configuration error) unless
// the file of its platform is loaded, so platforms are written before
// their sites. The server file listens on the http port itself, except on
// 80 and 443, which the system Apache's ports.conf already listens on.
//
// Changes made at the same time by the tasks of one process are coalesced
// into one configuration test and one graceful restart, by the engine the
// nginx driver uses too (internal/webconf; apply.go is Apache's side).
//
// It registers itself as the "apache" http service type. It imports only
// the domain package, internal/webconf and the standard library; it must
// not import other adapters (nginx, local, provision, contextfile, other
// drivers) or cmd.
package apache
