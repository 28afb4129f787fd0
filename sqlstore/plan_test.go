package sqlstore_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir/sqlite"
	"github.com/aegir-hosting/aegir/sqlstore"
)

// TestHotQueriesUseIndexes keeps the queries that run on every claim and
// every page of the site list on indexes, so they stay fast with 10,000
// sites and a long task history.
func TestHotQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hosting.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"UPDATE tasks SET status = 'processing' WHERE id = (" + s.ClaimQuery() + ")",
		"SELECT " + sqlstore.SiteCols + " FROM sites WHERE platform = 'p' ORDER BY name LIMIT 50 OFFSET 100",
		"SELECT count(*) FROM sites WHERE platform = 'p'",
		"SELECT " + sqlstore.SiteCols + " FROM sites WHERE client = 'c' ORDER BY name LIMIT 50 OFFSET 100",
		"SELECT " + sqlstore.SiteCols + " FROM sites WHERE status = 'enabled' ORDER BY name LIMIT 50",
		"SELECT " + sqlstore.SiteCols + " FROM sites WHERE name = 'a.example'",
		"SELECT site FROM aliases WHERE alias = 'a.example' AND site <> 'b.example'",
		"SELECT alias, site FROM aliases WHERE site <> 'b.example' AND alias IN ('a.example', 'www.a.example')",
		"SELECT " + sqlstore.TaskCols + " FROM tasks WHERE object = 'a.example' ORDER BY id DESC LIMIT 50",
		"SELECT " + sqlstore.TaskCols + " FROM tasks WHERE status = 'queued' ORDER BY id DESC LIMIT 50",
		"SELECT count(*) FROM sites WHERE db_server = 's' AND status <> 'deleted'",
		"DELETE FROM task_logs WHERE task_id IN (SELECT id FROM tasks WHERE finished_at < 'x')",
		"SELECT " + sqlstore.BackupCols + " FROM backups WHERE site = 'a.example' ORDER BY created_at DESC, id DESC",
	} {
		plan := explain(t, db, q)
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") || strings.Contains(step, "TEMP B-TREE FOR ORDER BY") {
				t.Errorf("%s\nhas a full scan or sort:\n  %s", q, strings.Join(plan, "\n  "))
			}
		}
	}
	// The dashboard's counts and disk use read every site in scope: they
	// read an index alone, in its order (no sort), never the rows.
	for _, q := range []string{
		"SELECT status, health, count(*) FROM sites GROUP BY status, health",
		"SELECT platform, db_server, CAST(sum(disk_files) AS bigint), CAST(sum(disk_db) AS bigint), count(*) FROM sites WHERE status <> 'deleted' GROUP BY platform, db_server",
	} {
		plan := explain(t, db, q)
		if p := strings.Join(plan, "\n  "); !strings.Contains(p, "COVERING INDEX") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s\nreads the rows or sorts:\n  %s", q, p)
		}
	}
}

// explain returns the steps of SQLite's plan of q.
func explain(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}
