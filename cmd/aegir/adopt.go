package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
)

// adoptEvery is how often serve looks for contexts the CLI made since.
const adoptEvery = 2 * time.Second

// adopter brings into the front end's store every context made with the
// CLI that the store does not know yet (after `aegir setup`,
// @server_master; a platform saved by hand), at start and whenever the
// contexts directory changes, so the front end knows what the back end
// has. Contexts the store knows are left alone: when the front end is used
// it is the source of truth, and writes them before each task. Nothing is
// queued: a verify is the user's to ask for.
type adopter struct {
	Paths  aegir.Paths
	Store  aegir.Store
	Logger *slog.Logger
}

// Run adopts once, then again each time the contexts directory's
// modification time moves (a context saved or deleted), looking then only
// at the files changed since the last look, until ctx ends.
func (a *adopter) Run(ctx context.Context) error {
	var dirSeen, since time.Time
	tick := time.NewTicker(adoptEvery)
	defer tick.Stop()
	for {
		if st, err := os.Stat(a.Paths.Contexts()); err == nil && !st.ModTime().Equal(dirSeen) {
			start := time.Now()
			if err := a.adopt(ctx, since); err != nil {
				a.Logger.Error("adopt contexts made with the CLI", "err", err)
			} else {
				dirSeen, since = st.ModTime(), start.Add(-time.Second) // mtimes are coarse on some file systems
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// adopt creates the record of each context changed since that time (every
// one when it is zero) that the store lacks: servers, then platforms, then
// sites, so each one's references exist when it is made.
func (a *adopter) adopt(ctx context.Context, since time.Time) error {
	files, err := filepath.Glob(filepath.Join(a.Paths.Contexts(), "*.yml"))
	if err != nil {
		return err
	}
	contexts := contextfile.New(a.Paths)
	byType := map[aegir.ContextType][]*aegir.Context{}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.ModTime().Before(since) {
			continue
		}
		c, err := contexts.Get(ctx, strings.TrimSuffix(filepath.Base(f), ".yml"))
		if err != nil {
			a.Logger.Warn("a context file could not be read", "file", f, "err", err)
			continue
		}
		byType[c.Type] = append(byType[c.Type], c)
	}
	for _, typ := range []aegir.ContextType{aegir.ServerContext, aegir.PlatformContext, aegir.SiteContext} {
		for _, c := range byType[typ] {
			known, err := a.known(ctx, c)
			if err != nil {
				return err
			}
			if known {
				continue
			}
			if _, err := importRecord(ctx, a.Store, c); err != nil {
				a.Logger.Warn("a context made with the CLI could not join the front end", "context", "@"+c.Name, "err", err)
				continue
			}
			a.Logger.Info("adopted a context made with the CLI", "context", "@"+c.Name, "type", string(c.Type))
		}
	}
	return nil
}

// known reports whether the store has a record of c.
func (a *adopter) known(ctx context.Context, c *aegir.Context) (bool, error) {
	var err error
	switch c.Type {
	case aegir.ServerContext:
		_, err = a.Store.GetServer(ctx, c.Name)
	case aegir.PlatformContext:
		_, err = a.Store.GetPlatform(ctx, c.Name)
	default:
		var r *aegir.SiteRecord
		r, err = a.Store.GetSite(ctx, c.Name)
		if err == nil && r.Status == aegir.SiteDeleted {
			return false, nil
		}
	}
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}
