package webconf

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
//
// The digest sums the snippets that exist, "" when none does: the vhost
// carries it, so a changed snippet changes the vhost, and a verify tests
// and reloads it (an unchanged vhost is neither), failing when the
// snippet breaks the configuration.
func Snippets(dir, platform, uri string) (patterns []string, digest string, err error) {
	if !IsPath(dir) {
		return nil, "", aegir.FieldErrorf("snippets", "%q must be an absolute path of letters, digits and ._/@+,=:~- only", dir)
	}
	if err := aegir.ValidateURI("uri", uri); err != nil {
		return nil, "", err
	}
	names := []string{"server"}
	if platform != "" {
		if err := aegir.ValidateName("platform", platform); err != nil {
			return nil, "", err
		}
		// Platforms are named platform_<x> by habit: one prefix is enough.
		names = append(names, "platform_"+strings.TrimPrefix(platform, "platform_"))
	}
	names = append(names, "site_"+uri)
	sum := sha256.New()
	found := false
	for _, n := range names {
		path := filepath.Join(dir, n) + ".conf"
		patterns = append(patterns, path[:len(path)-1]+"[f]")
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, "", fmt.Errorf("snippet: %w", err)
		}
		found = true
		fmt.Fprintf(sum, "%s %d\n", n, len(data))
		sum.Write(data)
	}
	if found {
		digest = hex.EncodeToString(sum.Sum(nil))[:16]
	}
	return patterns, digest, nil
}
