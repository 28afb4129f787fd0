package source

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// releaseHistory is drupal.org's release-history XML of one project and
// core ({update_url}/{project}/{core}).
type releaseHistory struct {
	XMLName   xml.Name  `xml:"project"`
	ShortName string    `xml:"short_name"`
	Type      string    `xml:"type"`
	Releases  []release `xml:"releases>release"`
}

type release struct {
	Name         string `xml:"name"`
	Version      string `xml:"version"`
	Status       string `xml:"status"`
	VersionMajor string `xml:"version_major"`
	VersionPatch string `xml:"version_patch"`
	VersionExtra string `xml:"version_extra"`
	DownloadLink string `xml:"download_link"`
	MDHash       string `xml:"mdhash"`
}

// resolved is a drupal.org release picked for a project.
type resolved struct {
	version string
	url     string
	md5     string
	typ     string // module, theme, core, profile
}

// resolveRelease reads the release history of p and picks the release its
// version asks for: an exact version (3.24, 7.x-3.24, 7.105), the newest
// of a major (3.x) or, with no version, the newest stable release.
func (b *Builder) resolveRelease(ctx context.Context, p *Project, core, updateURL string) (*resolved, error) {
	if core == "" {
		return nil, aegir.Errorf(aegir.EINVALID, "project %s: a drupal.org release needs core (core = 7.x) in the makefile", p.Name)
	}
	loc := updateURL
	if p.Location != "" {
		loc = p.Location
	}
	u := strings.TrimRight(loc, "/") + "/" + url.PathEscape(p.Name) + "/" + url.PathEscape(core)
	data, err := b.readSmall(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("project %s: release history: %w", p.Name, err)
	}
	var h releaseHistory
	if err := xml.Unmarshal(data, &h); err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "project %s: release history %s: %v", p.Name, u, err)
	}
	if len(h.Releases) == 0 {
		return nil, aegir.Errorf(aegir.EINVALID, "project %s: no releases for core %s at %s", p.Name, core, u)
	}
	var best *release
	want := p.Version
	for i := range h.Releases {
		r := &h.Releases[i]
		if r.Status != "" && r.Status != "published" {
			continue
		}
		switch {
		case want == "":
			if r.VersionExtra != "" || strings.HasSuffix(r.Version, "-dev") {
				continue
			}
		case strings.HasSuffix(want, ".x") && !strings.HasSuffix(want, "-dev"):
			if r.VersionMajor != strings.TrimSuffix(want, ".x") || r.VersionExtra != "" {
				continue
			}
		default:
			if r.Version != want && r.Version != core+"-"+want {
				continue
			}
		}
		if best == nil || newer(r, best) {
			best = r
		}
	}
	if best == nil {
		v := want
		if v == "" {
			v = "a stable release"
		}
		return nil, aegir.Errorf(aegir.EINVALID, "project %s: no release %s for core %s at %s", p.Name, v, core, u)
	}
	if best.DownloadLink == "" {
		return nil, aegir.Errorf(aegir.EINVALID, "project %s: release %s has no download_link", p.Name, best.Version)
	}
	if err := aegir.ValidateFetchURL("download_link", best.DownloadLink); err != nil {
		return nil, fmt.Errorf("project %s: %w", p.Name, err)
	}
	typ := strings.TrimPrefix(h.Type, "project_")
	if typ == "distribution" {
		typ = "profile"
	}
	return &resolved{version: best.Version, url: best.DownloadLink, md5: strings.ToLower(best.MDHash), typ: typ}, nil
}

// newer orders releases by major, then patch number.
func newer(a, b *release) bool {
	am, _ := strconv.Atoi(a.VersionMajor)
	bm, _ := strconv.Atoi(b.VersionMajor)
	if am != bm {
		return am > bm
	}
	ap, _ := strconv.Atoi(a.VersionPatch)
	bp, _ := strconv.Atoi(b.VersionPatch)
	return ap > bp
}
