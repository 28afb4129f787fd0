package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// maxIncludes bounds how deep includes[] may nest.
const maxIncludes = 5

// makefile builds the root from the platform's make file.
func (bd *build) makefile(ctx context.Context, p *aegir.Platform) error {
	mf, err := bd.b.loadMakefile(ctx, p.Makefile, 0)
	if err != nil {
		return err
	}
	updateURL := p.UpdateURL
	if updateURL == "" {
		updateURL = aegir.DefaultUpdateURL
	}
	bd.lock.Projects = map[string]*ProjectLock{}
	var core, rest []*Project
	for _, pr := range mf.Projects {
		if pr.Subdir == "" && !pr.Library && pr.Type != "core" && pr.Name != "drupal" {
			pr.Subdir = mf.DefaultSubdir
		}
		if pr.Type == "core" || (pr.Type == "" && pr.Name == "drupal" && pr.Download.Type == "") {
			core = append(core, pr)
		} else {
			rest = append(rest, pr)
		}
	}
	if len(core) > 1 {
		return aegir.FieldErrorf("makefile", "more than one core project: %s and %s", core[0].Name, core[1].Name)
	}
	// Core fills the root first; the others land inside it, in parallel.
	for _, pr := range core {
		if err := bd.project(ctx, pr, mf.Core, updateURL); err != nil {
			return err
		}
	}
	n := bd.b.Parallel
	if n <= 0 {
		n = 6
	}
	sem := make(chan struct{}, n)
	errs := make([]error, len(rest))
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, pr := range sortedProjects(rest) {
		go func() {
			defer func() { done <- struct{}{} }()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if errs[i] = bd.project(ctx, pr, mf.Core, updateURL); errs[i] != nil {
				cancel() // one failure fails the build: stop the others
			}
		}()
	}
	for range rest {
		<-done
	}
	// The first real error, not a cancellation it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// loadMakefile reads and parses a make file and its includes; the file
// including overrides what it includes.
func (b *Builder) loadMakefile(ctx context.Context, u string, depth int) (*Makefile, error) {
	if depth > maxIncludes {
		return nil, aegir.FieldErrorf("makefile", "includes nest deeper than %d files (a loop?) at %s", maxIncludes, u)
	}
	data, err := b.readSmall(ctx, u)
	if err != nil {
		return nil, aegir.FieldErrorf("makefile", "%v", err)
	}
	lower := strings.ToLower(u)
	mf, err := ParseMakefile(data, strings.HasSuffix(lower, ".yml") || strings.HasSuffix(lower, ".yaml"))
	if err != nil {
		return nil, aegir.FieldErrorf("makefile", "%s: %v", u, err)
	}
	if len(mf.Includes) == 0 {
		return mf, nil
	}
	out := &Makefile{}
	seen := map[string]*Project{}
	add := func(m *Makefile) {
		if m.Core != "" {
			out.Core = m.Core
		}
		if m.DefaultSubdir != "" {
			out.DefaultSubdir = m.DefaultSubdir
		}
		for _, p := range m.Projects {
			key := fmt.Sprint(p.Library, p.Name)
			if old, ok := seen[key]; ok {
				merge(old, p)
				continue
			}
			cp := *p
			seen[key] = &cp
			out.Projects = append(out.Projects, &cp)
		}
	}
	for _, inc := range mf.Includes {
		sub, err := b.loadMakefile(ctx, resolveRef(u, inc), depth+1)
		if err != nil {
			return nil, err
		}
		add(sub)
	}
	add(mf)
	return out, nil
}

// project fetches one project, places it and applies its patches.
func (bd *build) project(ctx context.Context, p *Project, core, updateURL string) error {
	key := "projects/" + p.Name
	if p.Library {
		key = "libraries/" + p.Name
	}
	var old *ProjectLock
	if bd.old != nil {
		old = bd.old.Projects[key]
	}
	lk := &ProjectLock{Type: p.Type}
	var tree string
	d := p.Download
	switch {
	case d.Type == "git":
		locked := ""
		if old != nil && old.URL == d.URL && old.Commit != "" {
			locked = old.Commit
		}
		ref := d.Revision
		if ref == "" {
			ref = d.Tag
		}
		if ref == "" {
			ref = d.Branch
		}
		tree = filepath.Join(bd.work, "git-"+strings.ReplaceAll(key, "/", "-"))
		commit, err := bd.clone(ctx, key+"[download][url]", d.URL, ref, locked, tree)
		if err != nil {
			return fmt.Errorf("project %s: %w", p.Name, err)
		}
		// drush make leaves no .git in what it builds.
		if err := os.RemoveAll(filepath.Join(tree, ".git")); err != nil {
			return err
		}
		lk.URL, lk.Commit = d.URL, commit
		bd.log.Infof("fetched %s from %s at %s (%s)", p.Name, d.URL, orHEAD(ref), commit)
	case d.Type == "copy":
		src, ok := localPath(d.URL)
		if !ok {
			return aegir.Errorf(aegir.EINVALID, "project %s: a copy download needs a local path or file:// URL", p.Name)
		}
		tree = filepath.Join(bd.work, "copy-"+strings.ReplaceAll(key, "/", "-"))
		if _, err := bd.b.Runner.Run(ctx, aegir.Command{Args: []string{"cp", "-a", "--", src, tree}}); err != nil {
			return aegir.Errorf(aegir.EINVALID, "project %s: copy %s: %v", p.Name, src, err)
		}
		lk.URL = d.URL
		bd.log.Infof("copied %s from %s", p.Name, src)
	default: // a file, or a drupal.org release
		url, md5sum, sha := d.URL, d.MD5, d.SHA256
		if d.Type == "" {
			if old != nil && old.SHA256 != "" {
				url, lk.Version = old.URL, old.Version
				if p.Type == "" {
					p.Type = old.Type
				}
			} else {
				r, err := bd.b.resolveRelease(ctx, p, core, updateURL)
				if err != nil {
					return err
				}
				url, md5sum, lk.Version = r.url, r.md5, r.version
				if p.Type == "" {
					p.Type = r.typ
				}
			}
		}
		if old != nil && old.URL == url && old.SHA256 != "" {
			sha = old.SHA256
		}
		f, err := bd.b.fetch(ctx, url, bd.work)
		if err != nil {
			return fmt.Errorf("project %s: %w", p.Name, err)
		}
		if err := f.check("project "+p.Name+" "+url, md5sum, sha); err != nil {
			return err
		}
		if tree, err = bd.unpack(ctx, f.path, p.Name); err != nil {
			return err
		}
		os.Remove(f.path)
		lk.URL, lk.SHA256 = url, f.sha256
		v := lk.Version
		if v == "" {
			v = url
		}
		bd.log.Infof("fetched %s %s (sha256 %s)", p.Name, v, f.sha256)
	}
	if p.Type == "" {
		p.Type = "module"
	}
	lk.Type = p.Type
	rel := destination(p)
	if err := bd.place(tree, rel); err != nil {
		return fmt.Errorf("project %s: %w", p.Name, err)
	}
	for i, pt := range p.Patches {
		var lockedSHA string
		if old != nil && i < len(old.Patches) && old.Patches[i].URL == pt.URL {
			lockedSHA = old.Patches[i].SHA256
		}
		pl, err := bd.patch(ctx, p, pt, lockedSHA, filepath.Join(bd.root, rel))
		if err != nil {
			return err
		}
		lk.Patches = append(lk.Patches, *pl)
	}
	bd.mu.Lock()
	bd.lock.Projects[key] = lk
	bd.mu.Unlock()
	return nil
}

// patch fetches a patch, checks it and applies it in dir with GNU patch
// (-p1, as drupal.org's patches are made).
func (bd *build) patch(ctx context.Context, p *Project, pt Patch, lockedSHA, dir string) (*PatchLock, error) {
	f, err := bd.b.fetch(ctx, pt.URL, bd.work)
	if err != nil {
		return nil, fmt.Errorf("project %s: patch: %w", p.Name, err)
	}
	defer os.Remove(f.path)
	sha := pt.SHA256
	if sha == "" {
		sha = lockedSHA
	}
	if err := f.check("project "+p.Name+" patch "+pt.URL, pt.MD5, sha); err != nil {
		return nil, err
	}
	if _, err := bd.b.Runner.Run(ctx, aegir.Command{Args: []string{"patch", "-p1", "--forward", "--batch", "--silent",
		"--no-backup-if-mismatch", "--reject-file=-", "--input", f.path}, Dir: dir}); err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "project %s: patch %s does not apply: %v", p.Name, pt.URL, err)
	}
	bd.log.Infof("patched %s with %s", p.Name, pt.URL)
	return &PatchLock{URL: pt.URL, SHA256: f.sha256}, nil
}
