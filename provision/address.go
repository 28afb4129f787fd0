package provision

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// followAddress moves the site's data to the site's URL when its app keeps
// the site's address in it (aegir.AddressReader) and it holds one of the
// site's names at another scheme or port, or another of the site's names
// than the URL's (a redirection added or changed): the rewrite of a
// rename, from that address. Its undo rewrites the data back (with it what
// held the new address before, which a rewrite cannot tell apart). An address
// of another host is left alone with a warning: it is not this site's (a
// rename is a migrate). So is one that cannot be read, since serving the
// site does not depend on it.
func (t *run) followAddress(ctx context.Context, s *siteEnv) (aegir.Undo, error) {
	reader, ok := s.platform.app.(aegir.AddressReader)
	if !ok {
		return nil, nil
	}
	stored, err := reader.SiteAddress(ctx, s.appSite())
	if err != nil {
		t.log.Warnf("cannot read the address the site's data holds, left as it is: %v", err)
		return nil, nil
	}
	if stored == "" {
		return nil, nil
	}
	current := s.url()
	switch addressOf(stored, current, s.site) {
	case addressCurrent:
		return nil, nil
	case addressForeign:
		t.log.Warnf("the site's data holds the address %s, which is not the root of one of the site's names: left as it is, the site is at %s (a rename is a migrate)", stored, current)
		return nil, nil
	}
	t.log.Infof("the site's data holds the address %s: moving it to %s", stored, current)
	if err := s.platform.app.RewriteURI(ctx, s.appSite(), s.site.URI, stored); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		back := s.appSite()
		back.URL = stored
		if err := s.platform.app.RewriteURI(ctx, back, s.site.URI, current); err != nil {
			return err
		}
		t.log.Infof("moved the site's data back to %s", stored)
		return nil
	}, nil
}

// addressKind is what an address a site's data holds is to the site.
type addressKind int

const (
	// addressCurrent is the site's URL itself.
	addressCurrent addressKind = iota
	// addressMoved is one of the site's names at another scheme or port,
	// or another of its names than the URL's.
	addressMoved
	// addressForeign is another host, a path below a host, or no address.
	addressForeign
)

// addressOf tells what stored is to site, whose URL is current: hosts
// compare without case, and a default port written out is the same as
// none.
func addressOf(stored, current string, site *aegir.Site) addressKind {
	have, ok := parseAddress(stored)
	if !ok || have.path != "" {
		return addressForeign
	}
	want, ok := parseAddress(current)
	if !ok {
		return addressForeign
	}
	if have == want {
		return addressCurrent
	}
	if have.host == strings.ToLower(site.URI) || slices.ContainsFunc(site.Aliases, func(a string) bool {
		return strings.EqualFold(a, have.host)
	}) {
		return addressMoved
	}
	return addressForeign
}

// address is an http or https address, its parts normalised.
type address struct {
	scheme, host, port, path string
}

func parseAddress(raw string) (address, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return address{}, false
	}
	a := address{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port(), path: strings.TrimRight(u.Path, "/")}
	switch {
	case a.scheme == "http" && a.port == "":
		a.port = "80"
	case a.scheme == "https" && a.port == "":
		a.port = "443"
	case a.scheme != "http" && a.scheme != "https":
		return address{}, false
	}
	return a, true
}
