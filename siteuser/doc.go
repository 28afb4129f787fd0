// Package siteuser manages the Unix users sites' PHP runs as, when a
// server gives each site its own php-fpm pool (aegir.SiteUsers): it
// creates and removes them and gives a site's directory to its user's
// group.
//
// Those need root. Local does them in this process, which must be root:
// it is what "aegir site-user", the privileged helper the aegir user runs
// through sudo, calls after checking its arguments, and what a back end
// running as root (tests, containers) uses directly. Sudo runs that helper
// for a back end running as aegir. Local touches only users named
// aegir.SiteUserPrefix and 12 hex digits, and only directories named
// sites/<uri> owned by the user who called the helper.
//
// It imports only the domain package and the standard library.
package siteuser
