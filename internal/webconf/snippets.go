package webconf

import (
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// SnippetsDir is the directory, in a server's configuration directory of
// its web server (config/<server>/nginx or .../apache), of the vhost
// snippets of the user's own: aegir creates it and never writes in it, so
// its files are kept across every verify.
const SnippetsDir = "snippets"

// Snippets returns the include patterns of a site's vhost snippets, in
// the order they are included: the server's (server.conf), its
// platform's (platform_<name>.conf, when platform is set), the site's
// (site_<uri>.conf). Each ends in ".con[f]": a pattern both web servers
// read as a glob, so a snippet that does not exist is skipped rather than
// an error. The names are validated, so no pattern holds a character
// either configuration would read as syntax.
func Snippets(dir, platform, uri string) ([]string, error) {
	if !IsPath(dir) {
		return nil, aegir.FieldErrorf("snippets", "%q must be an absolute path of letters, digits and ._/@+,=:~- only", dir)
	}
	if err := aegir.ValidateURI("uri", uri); err != nil {
		return nil, err
	}
	names := []string{"server"}
	if platform != "" {
		if err := aegir.ValidateName("platform", platform); err != nil {
			return nil, err
		}
		// Platforms are named platform_<x> by habit: one prefix is enough.
		names = append(names, "platform_"+strings.TrimPrefix(platform, "platform_"))
	}
	names = append(names, "site_"+uri)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n) + ".con[f]"
	}
	return out, nil
}
