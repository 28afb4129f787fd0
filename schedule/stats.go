package schedule

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aegir-hosting/aegir"
)

// DBSizer measures a site's database on its db server.
type DBSizer interface {
	// DatabaseSize returns the bytes of data and indexes of database name
	// on server.
	DatabaseSize(ctx context.Context, server *aegir.Server, name string) (int64, error)
}

// Stats records each site's disk use: the bytes of its files (the site
// directory under its platform) and of its database. The last cron and
// last backup of a site are recorded by the dispatcher as those tasks
// succeed.
type Stats struct {
	Store aegir.Store
	// DB measures databases; nil leaves DiskDB as it is.
	DB DBSizer
	// Interval is the time between passes; zero is an hour.
	Interval time.Duration
	Clock    Clock
	Logger   *slog.Logger
}

// Run updates the statistics at start and every Interval until ctx ends.
func (s *Stats) Run(ctx context.Context) error {
	log := loggerOr(s.Logger).With("scheduler", "stats")
	every := s.Interval
	if every <= 0 {
		every = time.Hour
	}
	return loop(ctx, clockOr(s.Clock), every, log, true, func(ctx context.Context, _ time.Time) error {
		n, err := s.Update(ctx)
		log.Debug("updated site statistics", "sites", n)
		return err
	})
}

// Update measures every site that is not deleted and records what
// changed; it returns how many records it updated. An error on one site
// does not stop the others; the errors are returned together.
func (s *Stats) Update(ctx context.Context) (int, error) {
	platforms := map[string]*aegir.PlatformRecord{}
	servers := map[string]*aegir.ServerRecord{}
	updated := 0
	var errs []error
	for page := 1; ; page++ {
		list, _, err := s.Store.ListSites(ctx, aegir.SiteFilter{Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return updated, errors.Join(append(errs, err)...)
		}
		for _, r := range list {
			if r.Status == aegir.SiteDeleted {
				continue
			}
			ok, err := s.updateSite(ctx, r, platforms, servers)
			if ok {
				updated++
			}
			if err != nil {
				if ctx.Err() != nil {
					return updated, err
				}
				errs = append(errs, fmt.Errorf("@%s: %w", r.Name, err))
			}
		}
		if len(list) < aegir.MaxPerPage {
			return updated, errors.Join(errs...)
		}
	}
}

func (s *Stats) updateSite(ctx context.Context, r *aegir.SiteRecord, platforms map[string]*aegir.PlatformRecord, servers map[string]*aegir.ServerRecord) (bool, error) {
	pname := aegir.ContextName(r.Site.Platform)
	p, ok := platforms[pname]
	if !ok {
		var err error
		if p, err = s.Store.GetPlatform(ctx, pname); err != nil {
			return false, err
		}
		platforms[pname] = p
	}
	files, err := DirSize(filepath.Join(p.Platform.Root, "sites", r.Name))
	if err != nil {
		return false, err
	}
	db := r.DiskDB
	if s.DB != nil && r.Site.DBName != "" {
		sname := aegir.ContextName(r.Site.DBServer)
		if sname == "" {
			sname = aegir.MasterServer
		}
		srv, ok := servers[sname]
		if !ok {
			if srv, err = s.Store.GetServer(ctx, sname); err != nil {
				return false, err
			}
			servers[sname] = srv
		}
		server := srv.Server
		server.Defaults()
		if server.DBServiceType != aegir.ServiceNull {
			if db, err = s.DB.DatabaseSize(ctx, &server, r.Site.DBName); err != nil {
				return false, err
			}
		}
	}
	if files == r.DiskFiles && db == r.DiskDB {
		return false, nil
	}
	// Read the record again just before writing, so that what a task
	// recorded meanwhile is kept.
	fresh, err := s.Store.GetSite(ctx, r.Name)
	if err != nil {
		return false, err
	}
	fresh.DiskFiles, fresh.DiskDB = files, db
	if err := s.Store.UpdateSite(ctx, fresh); err != nil {
		return false, err
	}
	return true, nil
}

// DirSize returns the bytes of the regular files under dir, not following
// symbolic links; a missing dir is 0.
func DirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}
