// Package teststack is what the integration tests share to run real
// components of their own: a private php-fpm, nginx and Apache started as
// children of the test (StartPHPFPM, StartNginx, StartApache, and ServeSites
// for an app's sites on a free loopback port), an HTTP client that reaches every host name
// through that port (FreePort, HostClient), copies of Debian-packaged
// codebases to use as platforms (CopyTree, LinkTree, SharedPlatform), site
// and web directories the web server's workers can read (WebDir,
// MakeSiteDir, WriteFiles), MariaDB databases with random names
// (RootDB, TempDatabase, RandomHex), and an SMTP server that keeps the mail
// it gets (StartMailSink).
//
// What it starts is stopped, and the directories and databases it makes
// are removed, when the test ends (a SharedPlatform when TestMain says so);
// when the test failed, the servers' output and the tails of their error
// logs are logged, where the reason for a 404 or a 500 usually is. A test is skipped, with the reason, when a program it
// needs is not installed (Require).
//
// Only tests import it. It imports the domain package, the MySQL driver,
// go-smtp (the mail sink's server side) and the standard library; it must not import aegir's adapters, so that
// every adapter's tests can use it.
package teststack
