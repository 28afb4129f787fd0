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

// Stats records each site's disk use: the bytes of its files (the site
// directory under its platform) and of its database. The last cron and
// last backup of a site are recorded by the dispatcher as those tasks
// succeed.
type Stats struct {
	Store aegir.Store
	// DB builds the db service of a site's db server, as
	// aegir.NewDBService does with the registered drivers; nil leaves
	// DiskDB as it is. Each pass builds one service per server, closed
	// when the pass ends.
	DB aegir.DBFactory
	// Env is given to DB, with a log of each pass whose entries go to
	// Logger at debug level.
	Env aegir.Env
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
func (s *Stats) Update(ctx context.Context) (updated int, err error) {
	p := &statsPass{
		Stats:     s,
		platforms: map[string]*aegir.PlatformRecord{},
		servers:   map[string]*aegir.ServerRecord{},
		dbs:       map[string]dbConn{},
	}
	var errs []error
	defer func() {
		// Errors closing a connection are the pass's too, after the sites'.
		err = errors.Join(append([]error{err}, p.close()...)...)
	}()
	for page := 1; ; page++ {
		list, _, err := s.Store.ListSites(ctx, aegir.SiteFilter{Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return updated, errors.Join(append(errs, err)...)
		}
		for _, r := range list {
			if r.Status == aegir.SiteDeleted {
				continue
			}
			ok, err := p.updateSite(ctx, r)
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

// statsPass is what one Update looks up once and shares between sites.
type statsPass struct {
	*Stats
	platforms map[string]*aegir.PlatformRecord
	servers   map[string]*aegir.ServerRecord
	dbs       map[string]dbConn // by server name
}

// dbConn is the db service of a server, or why there is none: a server
// that cannot be reached is tried once per pass, not once per site.
type dbConn struct {
	svc aegir.DBService
	err error
}

func (p *statsPass) updateSite(ctx context.Context, r *aegir.SiteRecord) (bool, error) {
	pname := aegir.ContextName(r.Site.Platform)
	plat, ok := p.platforms[pname]
	if !ok {
		var err error
		if plat, err = p.Store.GetPlatform(ctx, pname); err != nil {
			return false, err
		}
		p.platforms[pname] = plat
	}
	files, err := DirSize(filepath.Join(plat.Platform.Root, "sites", r.Name))
	if err != nil {
		return false, err
	}
	db := r.DiskDB
	if p.DB != nil && r.Site.DBName != "" {
		svc, err := p.dbService(ctx, r.Site.DBServer)
		if err != nil {
			return false, err
		}
		if svc != nil {
			db, err = svc.DatabaseSize(ctx, r.Site.DBName)
			// A database not created yet, or gone, takes no room.
			if aegir.ErrorCode(err) == aegir.ENOTFOUND {
				db, err = 0, nil
			}
			if err != nil {
				return false, err
			}
		}
	}
	if files == r.DiskFiles && db == r.DiskDB {
		return false, nil
	}
	// Read the record again just before writing, so that what a task
	// recorded meanwhile is kept.
	fresh, err := p.Store.GetSite(ctx, r.Name)
	if err != nil {
		return false, err
	}
	fresh.DiskFiles, fresh.DiskDB = files, db
	if err := p.Store.UpdateSite(ctx, fresh); err != nil {
		return false, err
	}
	return true, nil
}

// dbService returns the db service of the server ref names (the master
// server when empty), built on first use in the pass; nil for a server
// without a database service, whose sites keep the DiskDB they have.
func (p *statsPass) dbService(ctx context.Context, ref string) (aegir.DBService, error) {
	name := aegir.ContextName(ref)
	if name == "" {
		name = aegir.MasterServer
	}
	if c, ok := p.dbs[name]; ok {
		return c.svc, c.err
	}
	srv, ok := p.servers[name]
	if !ok {
		var err error
		if srv, err = p.Store.GetServer(ctx, name); err != nil {
			return nil, err
		}
		p.servers[name] = srv
	}
	server := srv.Server
	server.Defaults()
	var c dbConn
	if server.DBServiceType != aegir.ServiceNull {
		c.svc, c.err = p.DB(&server, p.env())
		if c.err != nil {
			c.svc, c.err = nil, fmt.Errorf("db server @%s: %w", name, c.err)
		}
	}
	p.dbs[name] = c
	return c.svc, c.err
}

// env is Env with a log of the pass's own, so entries do not pile up
// from one pass to the next.
func (p *statsPass) env() aegir.Env {
	env := p.Env
	log := loggerOr(p.Logger).With("scheduler", "stats")
	env.Log = aegir.NewTaskLog(func(e aegir.LogEntry) {
		log.Debug(e.Message, "level", e.Level)
	})
	return env
}

// close closes the db services the pass built.
func (p *statsPass) close() []error {
	var errs []error
	for name, c := range p.dbs {
		if c.svc != nil {
			if err := c.svc.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close db server @%s: %w", name, err))
			}
		}
	}
	return errs
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
