package aegir

import (
	"net/netip"
	"regexp"
	"strings"
)

var (
	// uriPattern is Aegir's site name rule: a lowercase FQDN.
	uriPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	// namePattern is what a context name may be: it becomes a file name and
	// a path component, so it never holds a slash, a quote or "..".
	namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.-]*[a-z0-9])?$`)
)

// ContextName strips the leading "@" of a context reference.
func ContextName(ref string) string {
	return strings.TrimPrefix(ref, "@")
}

// ValidateURI reports why uri is not a valid site name, naming field.
func ValidateURI(field, uri string) error {
	switch {
	case uri == "":
		return FieldErrorf(field, "must not be empty")
	case len(uri) > 253:
		return FieldErrorf(field, "%q is longer than 253 characters", uri)
	case strings.ToLower(uri) != uri:
		return FieldErrorf(field, "%q must be lowercase", uri)
	case !uriPattern.MatchString(uri):
		return FieldErrorf(field, "%q is not a valid domain name (letters, digits, hyphens and dots only)", uri)
	}
	for _, label := range strings.Split(uri, ".") {
		if len(label) > 63 {
			return FieldErrorf(field, "label %q of %q is longer than 63 characters", label, uri)
		}
	}
	return nil
}

// ValidateName reports why name is not a valid context name.
func ValidateName(field, name string) error {
	switch {
	case name == "":
		return FieldErrorf(field, "must not be empty")
	case len(name) > 253:
		return FieldErrorf(field, "%q is longer than 253 characters", name)
	case strings.Contains(name, ".."):
		return FieldErrorf(field, "%q must not contain \"..\"", name)
	case !namePattern.MatchString(name):
		return FieldErrorf(field, "%q may hold only lowercase letters, digits, '.', '_' and '-'", name)
	}
	return nil
}

// unixUserPattern is a user name useradd accepts on Debian by default.
var unixUserPattern = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// ValidateHost reports why host is neither a host name (ValidateURI's rule)
// nor an IP address, naming field. It ends up in SSH, rsync and database
// grant arguments.
func ValidateHost(field, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return FieldErrorf(field, "%q: an address with a zone is not supported", host)
		}
		return nil
	}
	if err := ValidateURI(field, host); err != nil {
		return FieldErrorf(field, "%q is neither a host name nor an IP address", host)
	}
	return nil
}

// ValidateUnixUser reports why name is not a Unix user name, naming field.
func ValidateUnixUser(field, name string) error {
	if !unixUserPattern.MatchString(name) {
		return FieldErrorf(field, "%q is not a Unix user name (lowercase letters, digits, '_' and '-', at most 32)", name)
	}
	return nil
}
