package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/jackc/pgx/v5"
)

const taskCols = "id, type, object_type, object, platform, exclusive, args, status, creator, created_at, started_at, finished_at, worker, data"

func scanTask(row pgx.Row) (*aegir.Task, error) {
	var t aegir.Task
	var args, data []byte
	if err := row.Scan(&t.ID, &t.Type, &t.ObjectType, &t.Object, &t.Platform, &t.Exclusive, &args, &t.Status,
		&t.Creator, &t.CreatedAt, &t.StartedAt, &t.FinishedAt, &t.Worker, &data); err != nil {
		return nil, err
	}
	if len(args) > 0 {
		if err := json.Unmarshal(args, &t.Args); err != nil {
			return nil, err
		}
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &t.Data); err != nil {
			return nil, err
		}
	}
	if len(t.Args) == 0 {
		t.Args = nil
	}
	if len(t.Data) == 0 {
		t.Data = nil
	}
	return &t, nil
}

// jsonArg encodes a map for a jsonb column: NULL when empty.
func jsonArg[M ~map[K]V, K comparable, V any](m M) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "task data: %v", err)
	}
	return b, nil
}

func taskNotFound(id int64) error { return aegir.Errorf(aegir.ENOTFOUND, "task %d does not exist", id) }

// lockTask locks a task's row in tx and returns its status, or ENOTFOUND.
func lockTask(ctx context.Context, tx pgx.Tx, id int64) (string, error) {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM tasks WHERE id = $1 FOR UPDATE`, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", taskNotFound(id)
	}
	return status, err
}

func insertTask(ctx context.Context, tx pgx.Tx, t *aegir.Task) error {
	args, err := jsonArg(t.Args)
	if err != nil {
		return err
	}
	// Enqueues share the claim lock that ClaimTask takes alone: a claim
	// waits for every enqueue in flight, so it never sees task 11 of an
	// object committed while task 10 of the same object is not yet, and
	// tasks of one object run in creation (ID) order.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, claimLock); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `INSERT INTO tasks (type, object_type, object, platform, exclusive, args, status, creator, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, clock_timestamp()) RETURNING id, created_at`,
		t.Type, t.ObjectType, t.Object, t.Platform, t.Exclusive, args, t.Creator).Scan(&t.ID, &t.CreatedAt); err != nil {
		return err
	}
	t.Status, t.StartedAt, t.FinishedAt, t.Worker, t.Data = aegir.StatusQueued, nil, nil, "", nil
	return notifyTx(ctx, tx)
}

// EnqueueTask stores a queued task and notifies every listener.
func (s *Store) EnqueueTask(ctx context.Context, t *aegir.Task) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error { return insertTask(ctx, tx, t) })
}

// claimQuery picks the oldest runnable queued task; see aegir.TaskQueue.
const claimQuery = `
	SELECT t.id FROM tasks t
	WHERE t.status = 'queued'
	  AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.status = 'processing' AND o.object = t.object)
	  AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.status = 'queued' AND o.object = t.object AND o.id < t.id)
	  AND (t.platform = '' OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'processing' AND p.platform = t.platform AND p.exclusive))
	  AND (t.platform = '' OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'queued' AND p.platform = t.platform AND p.exclusive AND p.id < t.id))
	  AND (NOT t.exclusive OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'processing' AND p.platform = t.platform))
	  AND (NOT t.exclusive OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'queued' AND p.platform = t.platform AND p.id < t.id))
	ORDER BY t.id LIMIT 1
	FOR UPDATE OF t SKIP LOCKED`

// ClaimTask marks the oldest runnable task processing for worker. The
// transaction first takes an advisory lock, so the claims of every process
// sharing the database run one after another and each sees the ones before
// it; FOR UPDATE SKIP LOCKED passes over rows that another transaction
// (a cancel) is changing.
func (s *Store) ClaimTask(ctx context.Context, worker string) (*aegir.Task, error) {
	if err := aegir.ValidateWorker(worker); err != nil {
		return nil, err
	}
	var t *aegir.Task
	err := s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, claimLock); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, claimQuery).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		var err error
		t, err = scanTask(tx.QueryRow(ctx, `UPDATE tasks SET status = 'processing', started_at = clock_timestamp(), worker = $2
			WHERE id = $1 RETURNING `+taskCols, id, worker))
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// GetTask returns a task.
func (s *Store) GetTask(ctx context.Context, id int64) (*aegir.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, "SELECT "+taskCols+" FROM tasks WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, taskNotFound(id)
	}
	return t, err
}

// ListTasks returns one page of tasks, newest first.
func (s *Store) ListTasks(ctx context.Context, f aegir.TaskFilter) ([]*aegir.Task, int, error) {
	c := &conds{}
	for _, f := range []struct{ col, v string }{{"status", f.Status}, {"object", aegir.ContextName(f.Object)}, {"type", f.Type}} {
		if f.v != "" {
			c.add(f.col+" = ?", f.v)
		}
	}
	c.taskFilter(f)
	limit, offset := aegir.Paginate(f.Page, f.PerPage)
	var list []*aegir.Task
	total, err := s.page(ctx, "tasks", c, taskCols, "id DESC", limit, offset, func(rows pgx.Rows) error {
		t, err := scanTask(rows)
		list = append(list, t)
		return err
	})
	return list, total, err
}

var logLevels = []string{aegir.LevelInfo, aegir.LevelSuccess, aegir.LevelWarning, aegir.LevelError}

func appendLog(ctx context.Context, tx pgx.Tx, id int64, entries []aegir.LogEntry) error {
	// The counter's row lock numbers the entries of concurrent appends apart.
	var last int64
	err := tx.QueryRow(ctx, `UPDATE tasks SET log_seq = log_seq + $1 WHERE id = $2 RETURNING log_seq`, len(entries), id).Scan(&last)
	if errors.Is(err, pgx.ErrNoRows) {
		return taskNotFound(id)
	} else if err != nil {
		return err
	}
	batch := &pgx.Batch{}
	seq := last - int64(len(entries))
	for _, e := range entries {
		seq++
		var at any
		if !e.Time.IsZero() {
			at = e.Time.UTC()
		}
		batch.Queue(`INSERT INTO task_logs (task_id, seq, level, message, time) VALUES ($1, $2, $3, $4, coalesce($5, clock_timestamp()))`,
			id, seq, e.Level, e.Message, at)
	}
	return tx.SendBatch(ctx, batch).Close()
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
		if ok, err := exists(ctx, s.pool, `SELECT 1 FROM tasks WHERE id = $1`, id); err != nil {
			return err
		} else if !ok {
			return taskNotFound(id)
		}
		return nil
	}
	return s.write(ctx, func(tx pgx.Tx) error { return appendLog(ctx, tx, id, entries) })
}

// TaskLog returns the log entries after seq afterSeq.
func (s *Store) TaskLog(ctx context.Context, id int64, afterSeq int64) ([]aegir.TaskLogEntry, error) {
	var list []aegir.TaskLogEntry
	err := s.read(ctx, func(tx pgx.Tx) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM tasks WHERE id = $1`, id); err != nil {
			return err
		} else if !ok {
			return taskNotFound(id)
		}
		rows, err := tx.Query(ctx, `SELECT task_id, seq, level, message, time FROM task_logs WHERE task_id = $1 AND seq > $2 ORDER BY seq`, id, afterSeq)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e aegir.TaskLogEntry
			if err := rows.Scan(&e.TaskID, &e.Seq, &e.Level, &e.Message, &e.Time); err != nil {
				return err
			}
			list = append(list, e)
		}
		return rows.Err()
	})
	return list, err
}

// FinishTask records the end of a processing task and notifies the
// listeners: tasks it held back may run now.
func (s *Store) FinishTask(ctx context.Context, id int64, status string, data map[string]any) error {
	if err := aegir.ValidateTaskResult(status); err != nil {
		return err
	}
	d, err := jsonArg(data)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if cur, err := lockTask(ctx, tx, id); err != nil {
			return err
		} else if cur != aegir.StatusProcessing {
			return aegir.Errorf(aegir.ECONFLICT, "task %d is %s, not processing", id, cur)
		}
		if _, err := tx.Exec(ctx, `UPDATE tasks SET status = $1, finished_at = clock_timestamp(), data = $2 WHERE id = $3`, status, d, id); err != nil {
			return err
		}
		return notifyTx(ctx, tx)
	})
}

// CancelTask cancels a queued task.
func (s *Store) CancelTask(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if cur, err := lockTask(ctx, tx, id); err != nil {
			return err
		} else if cur != aegir.StatusQueued {
			return aegir.Errorf(aegir.ECONFLICT, "task %d is %s: only a queued task can be cancelled", id, cur)
		}
		if _, err := tx.Exec(ctx, `UPDATE tasks SET status = 'cancelled', finished_at = clock_timestamp() WHERE id = $1`, id); err != nil {
			return err
		}
		return notifyTx(ctx, tx)
	})
}

// RetryTask queues a copy of a failed task.
func (s *Store) RetryTask(ctx context.Context, id int64) (*aegir.Task, error) {
	var t *aegir.Task
	err := s.write(ctx, func(tx pgx.Tx) error {
		old, err := scanTask(tx.QueryRow(ctx, "SELECT "+taskCols+" FROM tasks WHERE id = $1", id))
		if errors.Is(err, pgx.ErrNoRows) {
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
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// FailOrphanedTasks fails the tasks a dead process left processing.
func (s *Store) FailOrphanedTasks(ctx context.Context, worker, message string) ([]int64, error) {
	var ids []int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE tasks SET status = 'failed', finished_at = clock_timestamp()
			WHERE status = 'processing' AND ($1 = '' OR worker = $1 OR worker LIKE $2 ESCAPE '\') RETURNING id, finished_at`,
			worker, likePrefix(worker+"/"))
		if err != nil {
			return err
		}
		type orphan struct {
			id int64
			at time.Time
		}
		var orphans []orphan
		for rows.Next() {
			var o orphan
			if err := rows.Scan(&o.id, &o.at); err != nil {
				rows.Close()
				return err
			}
			orphans = append(orphans, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, o := range orphans {
			if err := appendLog(ctx, tx, o.id, []aegir.LogEntry{{Level: aegir.LevelError, Message: message, Time: o.at}}); err != nil {
				return err
			}
		}
		for _, o := range orphans {
			ids = append(ids, o.id)
		}
		if len(ids) == 0 {
			return nil
		}
		return notifyTx(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// likePrefix is a LIKE pattern (with ESCAPE '\') matching what starts with p.
func likePrefix(p string) string {
	return likeContains(p)[1:]
}

// PruneTaskLogs deletes the log lines of tasks finished before olderThan.
func (s *Store) PruneTaskLogs(ctx context.Context, olderThan time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM task_logs WHERE task_id IN (SELECT id FROM tasks WHERE finished_at < $1)`, olderThan.UTC())
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// PruneTasks deletes the tasks finished before olderThan, with their logs.
func (s *Store) PruneTasks(ctx context.Context, olderThan time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM tasks WHERE finished_at < $1 AND status IN ('success', 'warning', 'failed', 'cancelled')`, olderThan.UTC())
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// Heartbeat records that worker is alive now, by the database's clock.
func (s *Store) Heartbeat(ctx context.Context, worker string) error {
	if err := aegir.ValidateWorker(worker); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO workers (name, seen_at) VALUES ($1, clock_timestamp())
		ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`, worker)
	return mapError(err)
}

// LapsedWorkers returns the workers not seen for ttl that hold processing
// tasks ("worker/N", or the worker's own name).
func (s *Store) LapsedWorkers(ctx context.Context, ttl time.Duration) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT w.name FROM workers w
		WHERE w.seen_at < clock_timestamp() - make_interval(secs => $1) AND EXISTS (
		SELECT 1 FROM tasks t WHERE t.status = 'processing'
		AND (t.worker = w.name OR substr(t.worker, 1, length(w.name) + 1) = w.name || '/')) ORDER BY w.name`,
		ttl.Seconds())
	if err != nil {
		return nil, mapError(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return names, mapError(err)
}

// Workers returns the workers with their last heartbeats, newest first.
func (s *Store) Workers(ctx context.Context) ([]aegir.WorkerRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, seen_at FROM workers ORDER BY seen_at DESC, name`)
	if err != nil {
		return nil, mapError(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (aegir.WorkerRecord, error) {
		var w aegir.WorkerRecord
		err := r.Scan(&w.Name, &w.SeenAt)
		return w, err
	})
	return list, mapError(err)
}
