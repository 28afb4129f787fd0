package sqlstore

import (
	"context"
	"database/sql"
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

func taskNotFound(id int64) error { return aegir.Errorf(aegir.ENOTFOUND, "task %d does not exist", id) }

// lockTask locks a task's row in tx and returns its status, or ENOTFOUND.
func (s *Store) lockTask(ctx context.Context, tx conn, id int64) (string, error) {
	var status string
	err := tx.row(ctx, `SELECT status FROM tasks WHERE id = $1`+s.d.ForUpdate(""), id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", taskNotFound(id)
	}
	return status, err
}

func (s *Store) insertTask(ctx context.Context, tx conn, t *aegir.Task) error {
	args, err := jsonArg(t.Args)
	if err != nil {
		return err
	}
	// Enqueues hold the queue's lock shared, so a claim waits for every
	// enqueue in flight: it never sees task 11 of an object committed while
	// task 10 of the same object is not yet, and tasks of one object run in
	// creation (ID) order.
	if err := s.d.LockQueue(ctx, tx.q, false); err != nil {
		return err
	}
	if err := tx.row(ctx, `INSERT INTO tasks (type, object_type, object, platform, exclusive, args, status, creator, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $clock) RETURNING id, created_at`,
		t.Type, t.ObjectType, t.Object, t.Platform, t.Exclusive, args, t.Creator).Scan(&t.ID, timeCol{&t.CreatedAt}); err != nil {
		return err
	}
	t.Status, t.StartedAt, t.FinishedAt, t.Worker, t.Data = aegir.StatusQueued, nil, nil, "", nil
	return s.d.NotifyTx(ctx, tx.q)
}

// EnqueueTask stores a queued task and wakes the listeners.
func (s *Store) EnqueueTask(ctx context.Context, t *aegir.Task) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error { return s.insertTask(ctx, tx, t) })
}

// claimQuery picks the oldest runnable queued task (see aegir.TaskQueue)
// and locks it, passing over rows another transaction (a cancel) is
// changing.
func claimQuery(d Dialect) string {
	return `
	SELECT t.id FROM tasks t
	WHERE t.status = 'queued'
	  AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.status = 'processing' AND o.object = t.object)
	  AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.status = 'queued' AND o.object = t.object AND o.id < t.id)
	  AND (t.platform = '' OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'processing' AND p.platform = t.platform AND p.exclusive = ` + d.True() + `))
	  AND (t.platform = '' OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'queued' AND p.platform = t.platform AND p.exclusive = ` + d.True() + ` AND p.id < t.id))
	  AND (NOT t.exclusive OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'processing' AND p.platform = t.platform))
	  AND (NOT t.exclusive OR NOT EXISTS (SELECT 1 FROM tasks p
	       WHERE p.status = 'queued' AND p.platform = t.platform AND p.id < t.id))
	ORDER BY t.id LIMIT 1` + d.ForUpdate("OF t SKIP LOCKED")
}

// ClaimTask marks the oldest runnable task processing for worker. The
// queue's lock, taken first, makes the check and the update one step among
// all the processes sharing the database.
func (s *Store) ClaimTask(ctx context.Context, worker string) (*aegir.Task, error) {
	if err := aegir.ValidateWorker(worker); err != nil {
		return nil, err
	}
	var t *aegir.Task
	err := s.write(ctx, func(ctx context.Context, tx conn) error {
		if err := s.d.LockQueue(ctx, tx.q, true); err != nil {
			return err
		}
		var err error
		t, err = scanTask(tx.row(ctx, `UPDATE tasks SET status = 'processing', started_at = $clock, worker = $1
			WHERE id = (`+s.claimQuery+`) RETURNING `+taskCols, worker))
		if errors.Is(err, sql.ErrNoRows) {
			t, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// GetTask returns a task.
func (s *Store) GetTask(ctx context.Context, id int64) (*aegir.Task, error) {
	return get(ctx, s.reader(), scanTask, "SELECT "+taskCols+" FROM tasks WHERE id = $1", id, "task %d does not exist")
}

// taskFilter adds the conditions of a task filter beyond status, object
// and type.
func (c *conds) taskFilter(f aegir.TaskFilter) *conds {
	if len(f.ObjectTypes) > 0 {
		types := make([]string, len(f.ObjectTypes))
		for i, t := range f.ObjectTypes {
			types[i] = string(t)
		}
		c.anyOf("%s", "object_type", types)
	}
	return c.scope(taskScope, "client", f.Scope)
}

// ListTasks returns one page of tasks, newest first.
func (s *Store) ListTasks(ctx context.Context, f aegir.TaskFilter) ([]*aegir.Task, int, error) {
	c := s.filter().equal("status", f.Status).equal("object", aegir.ContextName(f.Object)).equal("type", f.Type).taskFilter(f)
	return listPage(ctx, s, "tasks", c, taskCols, "id DESC", f.Page, f.PerPage, scanTask)
}

var logLevels = []string{aegir.LevelInfo, aegir.LevelSuccess, aegir.LevelWarning, aegir.LevelError}

// appendLog numbers entries on after the task's last and inserts them;
// those without a time take the database's.
func (s *Store) appendLog(ctx context.Context, tx conn, id int64, entries []aegir.LogEntry) error {
	// The counter's row lock numbers the entries of concurrent appends apart.
	var last int64
	var now time.Time
	err := tx.row(ctx, `UPDATE tasks SET log_seq = log_seq + $1 WHERE id = $2 RETURNING log_seq, $clock`, len(entries), id).Scan(&last, timeCol{&now})
	if errors.Is(err, sql.ErrNoRows) {
		return taskNotFound(id)
	} else if err != nil {
		return err
	}
	rows := make([][]any, len(entries))
	seq := last - int64(len(entries))
	for i, e := range entries {
		seq++
		at := now
		if !e.Time.IsZero() {
			at = normalTime(e.Time)
		}
		rows[i] = []any{id, seq, e.Level, e.Message, at}
	}
	return s.insertRows(ctx, tx, "task_logs", []string{"task_id", "seq", "level", "message", "time"}, rows)
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
		if ok, err := exists(ctx, s.reader(), `SELECT 1 FROM tasks WHERE id = $1`, id); err != nil {
			return err
		} else if !ok {
			return taskNotFound(id)
		}
		return nil
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error { return s.appendLog(ctx, tx, id, entries) })
}

// TaskLog returns the log entries after seq afterSeq.
func (s *Store) TaskLog(ctx context.Context, id int64, afterSeq int64) ([]aegir.TaskLogEntry, error) {
	var list []aegir.TaskLogEntry
	err := s.read(ctx, func(tx conn) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM tasks WHERE id = $1`, id); err != nil {
			return err
		} else if !ok {
			return taskNotFound(id)
		}
		var err error
		list, err = collect(ctx, tx, func(rows scanner) (aegir.TaskLogEntry, error) {
			var e aegir.TaskLogEntry
			return e, rows.Scan(&e.TaskID, &e.Seq, &e.Level, &e.Message, timeCol{&e.Time})
		}, `SELECT task_id, seq, level, message, time FROM task_logs WHERE task_id = $1 AND seq > $2 ORDER BY seq`, id, afterSeq)
		return err
	})
	return list, err
}

// FinishTask records the end of a processing task and wakes the
// listeners: tasks it held back may run now.
func (s *Store) FinishTask(ctx context.Context, id int64, status string, data map[string]any) error {
	if err := aegir.ValidateTaskResult(status); err != nil {
		return err
	}
	d, err := jsonArg(data)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if cur, err := s.lockTask(ctx, tx, id); err != nil {
			return err
		} else if cur != aegir.StatusProcessing {
			return aegir.Errorf(aegir.ECONFLICT, "task %d is %s, not processing", id, cur)
		}
		if _, err := tx.exec(ctx, `UPDATE tasks SET status = $1, finished_at = $clock, data = $2 WHERE id = $3`, status, d, id); err != nil {
			return err
		}
		return s.d.NotifyTx(ctx, tx.q)
	})
}

// CancelTask cancels a queued task.
func (s *Store) CancelTask(ctx context.Context, id int64) error {
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		if cur, err := s.lockTask(ctx, tx, id); err != nil {
			return err
		} else if cur != aegir.StatusQueued {
			return aegir.Errorf(aegir.ECONFLICT, "task %d is %s: only a queued task can be cancelled", id, cur)
		}
		if _, err := tx.exec(ctx, `UPDATE tasks SET status = 'cancelled', finished_at = $clock WHERE id = $1`, id); err != nil {
			return err
		}
		return s.d.NotifyTx(ctx, tx.q)
	})
}

// RetryTask queues a copy of a failed task.
func (s *Store) RetryTask(ctx context.Context, id int64) (*aegir.Task, error) {
	var t *aegir.Task
	err := s.write(ctx, func(ctx context.Context, tx conn) error {
		old, err := scanTask(tx.row(ctx, "SELECT "+taskCols+" FROM tasks WHERE id = $1", id))
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
		return s.insertTask(ctx, tx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// FailOrphanedTasks fails the tasks a dead process left processing.
func (s *Store) FailOrphanedTasks(ctx context.Context, worker, message string) ([]int64, error) {
	var ids []int64
	err := s.write(ctx, func(ctx context.Context, tx conn) error {
		type orphan struct {
			id int64
			at time.Time
		}
		orphans, err := collect(ctx, tx, func(rows scanner) (orphan, error) {
			var o orphan
			return o, rows.Scan(&o.id, timeCol{&o.at})
		}, `UPDATE tasks SET status = 'failed', finished_at = $clock
			WHERE status = 'processing' AND ($1 = '' OR worker = $1 OR worker LIKE $2 ESCAPE '\') RETURNING id, finished_at`,
			worker, likePrefix(worker+"/"))
		if err != nil {
			return err
		}
		for _, o := range orphans {
			if err := s.appendLog(ctx, tx, o.id, []aegir.LogEntry{{Level: aegir.LevelError, Message: message, Time: o.at}}); err != nil {
				return err
			}
			ids = append(ids, o.id)
		}
		if len(ids) == 0 {
			return nil
		}
		return s.d.NotifyTx(ctx, tx.q)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// PruneTaskLogs deletes the log lines of tasks finished before olderThan.
func (s *Store) PruneTaskLogs(ctx context.Context, olderThan time.Time) (int64, error) {
	return s.deleteRows(ctx, `DELETE FROM task_logs WHERE task_id IN (SELECT id FROM tasks WHERE finished_at < $1)`, olderThan)
}

// PruneTasks deletes the tasks finished before olderThan, with their logs.
func (s *Store) PruneTasks(ctx context.Context, olderThan time.Time) (int64, error) {
	return s.deleteRows(ctx, `DELETE FROM tasks WHERE finished_at < $1 AND status IN ('success', 'warning', 'failed', 'cancelled')`, olderThan)
}

// deleteRows runs a delete as one write and returns how many rows went.
func (s *Store) deleteRows(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx conn) error {
		res, err := tx.exec(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// Heartbeat records that worker is alive now, by the database's clock.
func (s *Store) Heartbeat(ctx context.Context, worker string) error {
	if err := aegir.ValidateWorker(worker); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx conn) error {
		_, err := tx.exec(ctx, `INSERT INTO workers (name, seen_at) VALUES ($1, $clock)
			ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`, worker)
		return err
	})
}

// LapsedWorkers returns the workers not seen for ttl that hold processing
// tasks ("worker/N", or the worker's own name).
func (s *Store) LapsedWorkers(ctx context.Context, ttl time.Duration) ([]string, error) {
	return collect(ctx, s.reader(), func(rows scanner) (string, error) {
		var n string
		return n, rows.Scan(&n)
	}, `SELECT w.name FROM workers w WHERE `+s.d.Seconds("w.seen_at", "$clock")+` > $1 AND EXISTS (
		SELECT 1 FROM tasks t WHERE t.status = 'processing'
		AND (t.worker = w.name OR substr(t.worker, 1, length(w.name) + 1) = w.name || '/')) ORDER BY w.name`,
		ttl.Seconds())
}

// Workers returns the workers with their last heartbeats, newest first.
func (s *Store) Workers(ctx context.Context) ([]aegir.WorkerRecord, error) {
	return collect(ctx, s.reader(), func(rows scanner) (aegir.WorkerRecord, error) {
		var w aegir.WorkerRecord
		return w, rows.Scan(&w.Name, timeCol{&w.SeenAt})
	}, `SELECT name, seen_at FROM workers ORDER BY seen_at DESC, name`)
}
