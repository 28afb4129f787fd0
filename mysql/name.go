package mysql

import (
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/aegir-hosting/aegir"
)

var (
	databasePattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
	userPattern     = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	hostnamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
)

// systemDatabases and systemUsers belong to the server itself: aegir never
// creates or drops them, whatever a context says.
var (
	systemDatabases = []string{"mysql", "information_schema", "performance_schema", "sys"}
	systemUsers     = []string{"root", "mysql", "mariadb_sys", "debian_sys_maint"}
)

// validateDatabase checks a database name before it reaches SQL.
func validateDatabase(name string) error {
	if !databasePattern.MatchString(name) {
		return aegir.FieldErrorf("db_name", "%q must be 1 to 64 characters of a-z, 0-9 and _", name)
	}
	return nil
}

// validateUser checks a user name before it reaches SQL.
func validateUser(user string) error {
	if !userPattern.MatchString(user) {
		return aegir.FieldErrorf("db_user", "%q must be 1 to 32 characters of a-z, 0-9 and _", user)
	}
	return nil
}

// validateHost checks a host a user may connect from: "%" (any host),
// "localhost", an IP address or a host name.
func validateHost(host string) error {
	switch {
	case host == "%" || host == "localhost":
		return nil
	case net.ParseIP(host) != nil:
		return nil
	case len(host) <= 253 && hostnamePattern.MatchString(host):
		return nil
	}
	return aegir.FieldErrorf("db_host", "%q is not %%, localhost, an IP address or a lowercase host name", host)
}

// validateOwned checks that a database and user may be created or dropped
// by aegir: well formed, and neither the server's own nor the
// administrator's.
func (s *Service) validateOwned(name, user string) error {
	if err := validateDatabase(name); err != nil {
		return err
	}
	if err := validateUser(user); err != nil {
		return err
	}
	if slices.Contains(systemDatabases, name) {
		return aegir.FieldErrorf("db_name", "%q is a system database", name)
	}
	if slices.Contains(systemUsers, user) || user == s.admin {
		return aegir.FieldErrorf("db_user", "%q is a system or administrator user", user)
	}
	return nil
}

// grantTarget returns the database part of a GRANT or REVOKE: the quoted
// name with "_" escaped, since GRANT reads "_" and "%" in a database name as
// wildcards and db_a would otherwise also grant dbXa.
func grantTarget(name string) string {
	return quote(strings.ReplaceAll(name, "_", `\_`))
}

// quote returns an identifier in backticks, a backtick in it doubled, as
// the server reads it. Database and user names are validated before, but
// table names come from the server, where a site's own user may have named
// a table "a` TO `other`.`t": written as it is, that name would move
// another database's table in MoveTables' RENAME.
func quote(ident string) string { return "`" + strings.ReplaceAll(ident, "`", "``") + "`" }
