package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/aegir-hosting/aegir"
)

const taskCols = "id, type, object_type, object, platform, exclusive, args, status, creator, created_at, started_at, finished_at, worker, data"

func scanTask(row scanner) (*aegir.Task, error) {
	var t aegir.Task
	if err := row.Scan(&t.ID, &t.Type, &t.ObjectType, &t.Object, &t.Platform, &t.Exclusive, jsonCol{&t.Args}, &t.Status,
		&t.Creator, timeCol{&t.CreatedAt}, nullTimeCol{&t.StartedAt}, nullTimeCol{&t.FinishedAt}, &t.Worker, jsonCol{&t.Data}); err != nil {
		return nil, err
	}
	if len(t.Args) == 0 {
		t.Args = nil
	}
	if len(t.Data) == 0 {
		t.Data = nil
	}
	return &t, nil
}

// jsonArg encodes a map for a JSON column: NULL when empty.
func jsonArg[M ~map[K]V, K comparable, V any](m M) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "task data: %v", err)
	}
	return string(b), nil
}

func taskNotFound(id int64) error { return aegir.Errorf(aegir.ENOTFOUND, "task %d does not exist", id) }

// taskStatus reads the status of a task in tx, or returns ENOTFOUND.
func taskStatus(ctx context.Context, tx querier, id int64) (string, error) {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM tasks WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", taskNotFound(id)
	}
	return status, err
}

func insertTask(ctx context.Context, tx querier, t *aegir.Task) error {
	args, err := jsonArg(t.Args)
	if err != nil {
		return err
	}
	created := now()
	if err := tx.QueryRowContext(ctx, `INSERT INTO tasks (type, object_type, object, platform, exclusive, args, status, creator, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?) RETURNING id`,
		t.Type, t.ObjectType, t.Object, t.Platform, t.Exclusive, args, t.Creator, fmtTime(created)).Scan(&t.ID); err != nil {
		return err
	}
	t.Status, t.CreatedAt, t.StartedAt, t.FinishedAt, t.Worker, t.Data = aegir.StatusQueued, created, nil, nil, "", nil
	return nil
}

// EnqueueTask stores a queued task and wakes the listeners.
func (s *Store) EnqueueTask(ctx context.Context, t *aegir.Task) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := s.write(ctx, func(ctx context.Context, tx querier) error { return insertTask(ctx, tx, t) }); err != nil {
		return err
	}
	s.notify()
	return nil
}

// claimQuery picks the oldest runnable queued task; see aegir.TaskQueue.
const claimQuery = `
	SELECT t.id FROM tasks t
	WHERE t.status = 'queued'
	  AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.status = 'processing' AND o.object = t.object)
	  AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.status = 'queued' AND o.object = t.object AND o.id < t.id)
	  AND (t.platform = '' OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'processing' AND p.platform = t.platform AND p.exclusive = 1))
	  AND (t.platform = '' OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'queued' AND p.platform = t.platform AND p.exclusive = 1 AND p.id < t.id))
	  AND (t.exclusive = 0 OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'processing' AND p.platform = t.platform))
	  AND (t.exclusive = 0 OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'queued' AND p.platform = t.platform AND p.id < t.id))
	ORDER BY t.id LIMIT 1`

// ClaimTask marks the oldest runnable task processing for worker. The
// single writer connection and BEGIN IMMEDIATE make the check and the
// update one atomic step.
func (s *Store) ClaimTask(ctx context.Context, worker string) (*aegir.Task, error) {
	if err := aegir.ValidateWorker(worker); err != nil {
		return nil, err
	}
	var t *aegir.Task
	err := s.write(ctx, func(ctx context.Context, tx querier) error {
		var err error
		t, err = scanTask(tx.QueryRowContext(ctx, `UPDATE tasks SET status = 'processing', started_at = ?, worker = ?
			WHERE id = (`+claimQuery+`) RETURNING `+taskCols, fmtTime(now()), worker))
		if errors.Is(err, sql.ErrNoRows) {
			t, err = nil, nil
		}
		return err
	})
	return t, err
}

// GetTask returns a task.
func (s *Store) GetTask(ctx context.Context, id int64) (*aegir.Task, error) {
	t, err := scanTask(s.queryRow(ctx, "SELECT "+taskCols+" FROM tasks WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, taskNotFound(id)
	}
	return t, err
}

// ListTasks returns one page of tasks, newest first.
func (s *Store) ListTasks(ctx context.Context, f aegir.TaskFilter) ([]*aegir.Task, int, error) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, v string }{{"status", f.Status}, {"object", aegir.ContextName(f.Object)}, {"type", f.Type}} {
		if c.v != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.v)
		}
	}
	conds, args = taskConds(conds, args, f)
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.Task
	total, err := s.page(ctx, "tasks", conds, args, taskCols, "id DESC", limit, offset, func(rows *sql.Rows) error {
		t, err := scanTask(rows)
		list = append(list, t)
		return err
	})
	return list, total, err
}

var logLevels = []string{aegir.LevelInfo, aegir.LevelSuccess, aegir.LevelWarning, aegir.LevelError}

func appendLog(ctx context.Context, tx querier, id int64, entries []aegir.LogEntry) error {
	var last int64
	err := tx.QueryRowContext(ctx, `UPDATE tasks SET log_seq = log_seq + ? WHERE id = ? RETURNING log_seq`, len(entries), id).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return taskNotFound(id)
	} else if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO task_logs (task_id, seq, level, message, time) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	seq := last - int64(len(entries))
	for _, e := range entries {
		seq++
		at := e.Time
		if at.IsZero() {
			at = now()
		}
		if _, err := stmt.ExecContext(ctx, id, seq, e.Level, e.Message, fmtTime(at)); err != nil {
			return err
		}
	}
	return nil
}

func validateLog(entries []aegir.LogEntry) error {
	for _, e := range entries {
		if !slices.Contains(logLevels, e.Level) {
			return aegir.FieldErrorf("level", "%q is not one of info, success, warning, error", e.Level)
		}
	}
	return nil
}

// AppendTaskLog adds entries to a task's log.
func (s *Store) AppendTaskLog(ctx context.Context, id int64, entries ...aegir.LogEntry) error {
	if err := validateLog(entries); err != nil {
		return err
	}
	if len(entries) == 0 {
		return s.read(ctx, func(tx *sql.Tx) error { _, err := taskStatus(ctx, tx, id); return err })
	}
	return s.write(ctx, func(ctx context.Context, tx querier) error { return appendLog(ctx, tx, id, entries) })
}

// TaskLog returns the log entries after seq afterSeq.
func (s *Store) TaskLog(ctx context.Context, id int64, afterSeq int64) ([]aegir.TaskLogEntry, error) {
	var list []aegir.TaskLogEntry
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := taskStatus(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT task_id, seq, level, message, time FROM task_logs WHERE task_id = ? AND seq > ? ORDER BY seq`, id, afterSeq)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e aegir.TaskLogEntry
			if err := rows.Scan(&e.TaskID, &e.Seq, &e.Level, &e.Message, timeCol{&e.Time}); err != nil {
				return err
			}
			list = append(list, e)
		}
		return rows.Err()
	})
	return list, err
}

// FinishTask records the end of a processing task.
func (s *Store) FinishTask(ctx context.Context, id int64, status string, data map[string]any) error {
	if err := aegir.ValidateTaskResult(status); err != nil {
		return err
	}
	d, err := jsonArg(data)
	if err != nil {
		return err
	}
	if err := s.write(ctx, func(ctx context.Context, tx querier) error {
		if cur, err := taskStatus(ctx, tx, id); err != nil {
			return err
		} else if cur != aegir.StatusProcessing {
			return aegir.Errorf(aegir.ECONFLICT, "task %d is %s, not processing", id, cur)
		}
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET status = ?, finished_at = ?, data = ? WHERE id = ?`, status, fmtTime(now()), d, id)
		return err
	}); err != nil {
		return err
	}
	s.notify()
	return nil
}

// CancelTask cancels a queued task.
func (s *Store) CancelTask(ctx context.Context, id int64) error {
	if err := s.write(ctx, func(ctx context.Context, tx querier) error {
		if cur, err := taskStatus(ctx, tx, id); err != nil {
			return err
		} else if cur != aegir.StatusQueued {
			return aegir.Errorf(aegir.ECONFLICT, "task %d is %s: only a queued task can be cancelled", id, cur)
		}
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET status = 'cancelled', finished_at = ? WHERE id = ?`, fmtTime(now()), id)
		return err
	}); err != nil {
		return err
	}
	s.notify()
	return nil
}

// RetryTask queues a copy of a failed task.
func (s *Store) RetryTask(ctx context.Context, id int64) (*aegir.Task, error) {
	var t *aegir.Task
	if err := s.write(ctx, func(ctx context.Context, tx querier) error {
		old, err := scanTask(tx.QueryRowContext(ctx, "SELECT "+taskCols+" FROM tasks WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return taskNotFound(id)
		} else if err != nil {
			return err
		}
		if old.Status != aegir.StatusFailed {
			return aegir.Errorf(aegir.ECONFLICT, "task %d is %s: only a failed task can be retried", id, old.Status)
		}
		t = &aegir.Task{Type: old.Type, ObjectType: old.ObjectType, Object: old.Object, Platform: old.Platform,
			Exclusive: old.Exclusive, Args: old.Args, Creator: old.Creator}
		return insertTask(ctx, tx, t)
	}); err != nil {
		return nil, err
	}
	s.notify()
	return t, nil
}

// FailOrphanedTasks fails the tasks a dead process left processing.
func (s *Store) FailOrphanedTasks(ctx context.Context, worker, message string) ([]int64, error) {
	var ids []int64
	err := s.write(ctx, func(ctx context.Context, tx querier) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM tasks WHERE status = 'processing' AND (?1 = '' OR worker = ?1 OR worker LIKE ?2 ESCAPE '\')`,
			worker, likePrefix(worker+"/"))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		at := now()
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE tasks SET status = 'failed', finished_at = ? WHERE id = ?`, fmtTime(at), id); err != nil {
				return err
			}
			if err := appendLog(ctx, tx, id, []aegir.LogEntry{{Level: aegir.LevelError, Message: message, Time: at}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		s.notify()
	}
	return ids, nil
}

// likePrefix is a LIKE pattern (with ESCAPE '\') matching what starts with p.
func likePrefix(p string) string {
	q := likeContains(p)
	return q[1:]
}

// PruneTaskLogs deletes the log lines of tasks finished before olderThan.
func (s *Store) PruneTaskLogs(ctx context.Context, olderThan time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM task_logs WHERE task_id IN (SELECT id FROM tasks WHERE finished_at < ?)`, fmtTime(olderThan))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// PruneTasks deletes the tasks finished before olderThan, with their logs.
func (s *Store) PruneTasks(ctx context.Context, olderThan time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tasks WHERE finished_at < ? AND status IN ('success', 'warning', 'failed', 'cancelled')`, fmtTime(olderThan))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// Heartbeat records that worker is alive now.
func (s *Store) Heartbeat(ctx context.Context, worker string) error {
	if err := aegir.ValidateWorker(worker); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO workers (name, seen_at) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`, worker, fmtTime(now()))
		return err
	})
}

// LapsedWorkers returns the workers not seen for ttl that hold processing
// tasks ("worker/N", or the worker's own name).
func (s *Store) LapsedWorkers(ctx context.Context, ttl time.Duration) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT w.name FROM workers w WHERE w.seen_at < ? AND EXISTS (
		SELECT 1 FROM tasks t WHERE t.status = 'processing'
		AND (t.worker = w.name OR substr(t.worker, 1, length(w.name) + 1) = w.name || '/')) ORDER BY w.name`,
		fmtTime(now().Add(-ttl)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// Workers returns the workers with their last heartbeats, newest first.
func (s *Store) Workers(ctx context.Context) ([]aegir.WorkerRecord, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT name, seen_at FROM workers ORDER BY seen_at DESC, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []aegir.WorkerRecord
	for rows.Next() {
		var w aegir.WorkerRecord
		if err := rows.Scan(&w.Name, timeCol{&w.SeenAt}); err != nil {
			return nil, err
		}
		list = append(list, w)
	}
	return list, rows.Err()
}
