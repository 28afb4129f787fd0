package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
)

// DiskUsage sums the disk use of sites per server. One grouped pass over
// the sites (an index-only scan of sites_usage) gives the sums per
// platform and db server, which are few; their web servers and the sums
// per server are made here, so the cost does not grow with a join of
// every site.
func (s *Store) DiskUsage(ctx context.Context, sc aegir.Scope) ([]aegir.DiskUsage, error) {
	c := s.filter().scope("%s", "client", sc)
	c.list = append(c.list, "status <> 'deleted'")
	type group struct {
		platform, dbServer string
		files, db          int64
		sites              int
	}
	var groups []group
	var webOf map[string]string
	err := s.read(ctx, func(tx conn) error {
		var err error
		groups, err = collect(ctx, tx, func(row scanner) (group, error) {
			var g group
			var db sql.NullString
			err := row.Scan(&g.platform, &db, &g.files, &g.db, &g.sites)
			g.dbServer = db.String
			return g, err
		}, `SELECT platform, db_server, CAST(sum(disk_files) AS bigint), CAST(sum(disk_db) AS bigint), count(*) FROM sites`+
			c.where()+` GROUP BY platform, db_server`, c.args...)
		if err != nil || len(groups) == 0 {
			return err
		}
		webs, err := collect(ctx, tx, func(row scanner) ([2]string, error) {
			var p [2]string
			var web sql.NullString
			err := row.Scan(&p[0], &web)
			p[1] = web.String
			return p, err
		}, `SELECT name, web_server FROM platforms`)
		webOf = make(map[string]string, len(webs))
		for _, w := range webs {
			webOf[w[0]] = w[1]
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	by := map[string]*aegir.DiskUsage{}
	at := func(server string) *aegir.DiskUsage {
		if by[server] == nil {
			by[server] = &aegir.DiskUsage{Server: server}
		}
		return by[server]
	}
	for _, g := range groups {
		web := webOf[g.platform]
		if web != "" {
			u := at(web)
			u.Files += g.files
			u.Sites += g.sites
		}
		if g.dbServer != "" {
			u := at(g.dbServer)
			u.DB += g.db
			// A site whose files and database are on one server counts once.
			if g.dbServer != web {
				u.Sites += g.sites
			}
		}
	}
	out := make([]aegir.DiskUsage, 0, len(by))
	for _, u := range by {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b aegir.DiskUsage) int { return strings.Compare(a.Server, b.Server) })
	return out, nil
}

// SiteCounts counts the sites in scope by status, and the enabled ones
// down, in one grouped pass (an index-only scan of sites_counts).
func (s *Store) SiteCounts(ctx context.Context, sc aegir.Scope) (aegir.SiteCounts, error) {
	c := s.filter().scope("%s", "client", sc)
	counts := aegir.SiteCounts{ByStatus: map[string]int{}}
	rows, err := collect(ctx, s.reader(), func(row scanner) (struct {
		status, health string
		n              int
	}, error) {
		var r struct {
			status, health string
			n              int
		}
		return r, row.Scan(&r.status, &r.health, &r.n)
	}, `SELECT status, health, count(*) FROM sites`+c.where()+` GROUP BY status, health`, c.args...)
	for _, r := range rows {
		counts.ByStatus[r.status] += r.n
		if r.status != aegir.SiteDeleted {
			counts.Live += r.n
		}
		if r.status == aegir.SiteEnabled && r.health == aegir.HealthDown {
			counts.Down += r.n
		}
	}
	return counts, err
}

// TaskHistory sums up finished tasks per hour.
func (s *Store) TaskHistory(ctx context.Context, since time.Time, f aegir.TaskFilter) ([]aegir.TaskHour, error) {
	c := s.filter()
	c.add("finished_at >= ?", since.UTC().Truncate(time.Hour))
	c.list = append(c.list, "status IN ('success', 'warning', 'failed')")
	c.taskFilter(f)
	return collect(ctx, s.reader(), func(row scanner) (aegir.TaskHour, error) {
		var h aegir.TaskHour
		return h, row.Scan(hourCol{&h.Hour}, &h.Finished, &h.Failed, &h.AvgSeconds, &h.MaxSeconds)
	}, `SELECT hour, count(*), count(*) FILTER (WHERE status = 'failed'), coalesce(avg(dur), 0), coalesce(max(dur), 0) FROM (
		SELECT `+s.d.Hour("finished_at")+` AS hour, status, `+s.d.Seconds("started_at", "finished_at")+` AS dur FROM tasks`+c.where()+`
	) h GROUP BY hour ORDER BY hour`, c.args...)
}
