package sqlstore

import (
	"context"
	"time"

	"github.com/aegir-hosting/aegir"
)

// DiskUsage sums the disk use of sites per server.
func (s *Store) DiskUsage(ctx context.Context, sc aegir.Scope) ([]aegir.DiskUsage, error) {
	c := s.filter().scope("%s", "s.client", sc)
	cond := ""
	if len(c.list) > 0 {
		cond = " AND " + c.list[0] // used twice, with the same placeholders
	}
	return collect(ctx, s.reader(), func(row scanner) (aegir.DiskUsage, error) {
		var d aegir.DiskUsage
		return d, row.Scan(&d.Server, &d.Files, &d.DB, &d.Sites)
	}, `SELECT server, CAST(sum(files) AS bigint), CAST(sum(db) AS bigint), count(DISTINCT site) FROM (
		SELECT p.web_server AS server, s.disk_files AS files, CAST(0 AS bigint) AS db, s.name AS site
			FROM sites s JOIN platforms p ON p.name = s.platform
			WHERE s.status <> 'deleted' AND p.web_server IS NOT NULL`+cond+`
		UNION ALL
		SELECT s.db_server, 0, s.disk_db, s.name FROM sites s
			WHERE s.status <> 'deleted' AND s.db_server IS NOT NULL`+cond+`
	) u GROUP BY server ORDER BY server`, c.args...)
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
