package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// This file holds the dispatchers sharing the queue, for administrators:
// each with its last heartbeat, whether its lease is live, and the tasks it
// holds now; the API's list and its page.

// The states of a dispatcher's lease.
const (
	// leaseLive: its last heartbeat is within the lease's TTL.
	leaseLive = "live"
	// leaseLapsed: it stopped, or died, or lost the database; another
	// dispatcher fails the tasks it still holds.
	leaseLapsed = "lapsed"
	// leaseNone: tasks are claimed under a name that never beat (claimed
	// before leases, or by a dispatcher that died before its first beat):
	// no other dispatcher fails them, only that one when it starts again.
	leaseNone = "none"
)

// dispatcher is one dispatcher as the page and the API show it.
type dispatcher struct {
	Name   string
	SeenAt *time.Time // nil when it never beat
	Lease  string
	Tasks  []heldTask
}

// heldTask is a processing task and the slot of its dispatcher it runs in
// (the N its worker name "Name/N" ends with).
type heldTask struct {
	Task *aegir.Task
	Slot string
}

// Badge is the class of the lease's badge.
func (d *dispatcher) Badge() string {
	switch d.Lease {
	case leaseLive:
		return "ok"
	case leaseLapsed:
		return "bad"
	}
	return "warn"
}

// Age says how long ago it last beat, to the second: a beat comes every
// quarter of the TTL, so minutes would hide a lapse.
func (d *dispatcher) Age() string {
	if d.SeenAt == nil {
		return "never"
	}
	return time.Since(*d.SeenAt).Round(time.Second).String() + " ago"
}

// leaseTTL is LeaseTTL or the dispatchers' default.
func (s *Server) leaseTTL() time.Duration {
	if s.LeaseTTL > 0 {
		return s.LeaseTTL
	}
	return aegir.DefaultLeaseTTL
}

// leaseOf says whether a heartbeat seen at seen is still live. It reads
// this process's clock, which on PostgreSQL is not the one that stamped
// the beat: a skew of a second or two moves the verdict by as much.
func (s *Server) leaseOf(seen time.Time) string {
	if time.Since(seen) > s.leaseTTL() {
		return leaseLapsed
	}
	return leaseLive
}

// holderOf splits a task's worker ("name/N") into the dispatcher that
// holds it and the slot: the longest name among known that is the worker
// or its prefix before a "/" (as the store matches them), else the part
// before the last "/".
func holderOf(worker string, known map[string]*dispatcher) (name, slot string) {
	for n := worker; ; {
		if _, ok := known[n]; ok {
			return n, strings.TrimPrefix(strings.TrimPrefix(worker, n), "/")
		}
		i := strings.LastIndex(n, "/")
		if i < 0 {
			break
		}
		n = n[:i]
	}
	if i := strings.LastIndex(worker, "/"); i >= 0 {
		return worker[:i], worker[i+1:]
	}
	return worker, ""
}

// knownDispatchers returns the dispatchers with a heartbeat, newest beat
// first, and the same by name.
func (s *Server) knownDispatchers(ctx context.Context) ([]*dispatcher, map[string]*dispatcher, error) {
	workers, err := s.Store.Workers(ctx)
	if err != nil {
		return nil, nil, err
	}
	list := make([]*dispatcher, 0, len(workers))
	byName := make(map[string]*dispatcher, len(workers))
	for _, w := range workers {
		seen := w.SeenAt
		d := &dispatcher{Name: w.Name, SeenAt: &seen, Lease: s.leaseOf(seen)}
		list = append(list, d)
		byName[d.Name] = d
	}
	return list, byName, nil
}

// dispatchers returns every dispatcher with the tasks it holds: those
// with a heartbeat, then those holding tasks under a name that never beat.
// The processing tasks are read whole, a page of a thousand at a time:
// there are at most as many as the dispatchers' slots.
func (s *Server) dispatchers(ctx context.Context) ([]*dispatcher, error) {
	list, byName, err := s.knownDispatchers(ctx)
	if err != nil {
		return nil, err
	}
	// A task claimed while the pages are read shifts them by one: the
	// next page may repeat a task.
	held := map[int64]bool{}
	for page, seen := 1, 0; ; page++ {
		tasks, total, err := s.Store.ListTasks(ctx, aegir.TaskFilter{Status: aegir.StatusProcessing, Page: page, PerPage: aegir.MaxPerPage})
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			if held[t.ID] {
				continue
			}
			held[t.ID] = true
			name, slot := holderOf(t.Worker, byName)
			d := byName[name]
			if d == nil {
				d = &dispatcher{Name: name, Lease: leaseNone}
				list = append(list, d)
				byName[name] = d
			}
			d.Tasks = append(d.Tasks, heldTask{Task: t, Slot: slot})
		}
		seen += len(tasks)
		if len(tasks) == 0 || seen >= total {
			return list, nil
		}
	}
}

// listDispatchers answers GET /api/dispatchers.
func (s *Server) listDispatchers(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "dispatchers"); err != nil {
		return err
	}
	list, err := s.dispatchers(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, d := range list {
		tasks := make([]any, 0, len(d.Tasks))
		for _, h := range d.Tasks {
			tasks = append(tasks, taskJSON(h.Task))
		}
		out = append(out, map[string]any{"name": d.Name, "seen_at": d.SeenAt, "lease": d.Lease, "tasks": tasks})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dispatchers": out, "lease_ttl_seconds": s.leaseTTL().Seconds()})
	return nil
}

type dispatchersData struct {
	Dispatchers []*dispatcher
	TTL, Beat   time.Duration
}

// dispatchersPage shows the dispatchers and what each holds.
func (s *Server) dispatchersPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	if err := s.authorize(r.Context(), u, hosting.ActList, "dispatchers"); err != nil {
		return err
	}
	list, err := s.dispatchers(r.Context())
	if err != nil {
		return err
	}
	ttl := s.leaseTTL()
	return s.render(w, r, u, http.StatusOK, "dispatchers", "Dispatchers", dispatchersData{Dispatchers: list, TTL: ttl, Beat: ttl / 4})
}

// taskHolder returns the dispatcher that holds a processing task and the
// task's slot, for those who may see dispatchers; nil otherwise.
func (s *Server) taskHolder(r *http.Request, u *aegir.User, t *aegir.Task) (*dispatcher, string, error) {
	if t.Status != aegir.StatusProcessing || t.Worker == "" || !s.can(r, u, hosting.ActList, "dispatchers") {
		return nil, "", nil
	}
	_, byName, err := s.knownDispatchers(r.Context())
	if err != nil {
		return nil, "", err
	}
	name, slot := holderOf(t.Worker, byName)
	if d := byName[name]; d != nil {
		return d, slot, nil
	}
	return &dispatcher{Name: name, Lease: leaseNone}, slot, nil
}
