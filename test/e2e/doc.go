// Package e2e holds the end-to-end tests: they build the aegir binary and
// drive it against a private stack started per test (nginx, php-fpm on
// free loopback ports under a temp dir, and MariaDB databases with unique
// names), exactly as a user would from the command line.
package e2e
