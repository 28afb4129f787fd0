package aegir

import "sync"

// Slots bounds how many pieces of work run at once (the dispatcher's
// tasks, the sites of a batch migrate), not counting those that only wait
// for work others do for them: one that waits gives its slot back for the
// wait (its WaitHook) and takes one again before it goes
// on, ahead of any new work, so that work that has waited is not
// overtaken by new work. New work takes a slot with TryTake, and waits
// for Freed when there is none.
type Slots struct {
	mu    sync.Mutex
	limit int
	used  int
	queue []chan struct{} // tasks waiting to take a slot again, in order
	freed chan struct{}   // tells Run that a slot is free for a claim
}

// NewSlots returns limit slots, all free.
func NewSlots(limit int) *Slots {
	return &Slots{limit: limit, freed: make(chan struct{}, 1)}
}

// Freed tells that a slot was released, so that TryTake may succeed.
func (s *Slots) Freed() <-chan struct{} { return s.freed }

// TryTake takes a slot for a new claim, if one is free and no waiting
// task wants it.
func (s *Slots) TryTake() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used < s.limit && len(s.queue) == 0 {
		s.used++
		return true
	}
	return false
}

// GiveBack returns a slot that TryTake gave and no task used.
func (s *Slots) GiveBack() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handOn()
}

// Release returns a slot, and tells Freed.
func (s *Slots) Release() {
	s.mu.Lock()
	s.handOn()
	s.mu.Unlock()
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// handOn passes a slot to the first task waiting for one, or frees it.
// The caller holds mu.
func (s *Slots) handOn() {
	if len(s.queue) > 0 {
		close(s.queue[0])
		s.queue = s.queue[1:]
		return
	}
	s.used--
}

// take waits for a slot.
func (s *Slots) take() {
	s.mu.Lock()
	if s.used < s.limit && len(s.queue) == 0 {
		s.used++
		s.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	s.queue = append(s.queue, ch)
	s.mu.Unlock()
	<-ch
}

// WaitHook returns the WaitHook of one piece of work holding a slot. Its waits may overlap
// (a batch migrate changes several sites at once): the task gives its
// slot back when the first begins and takes one again when the last
// ends.
func (s *Slots) WaitHook() WaitHook {
	var mu sync.Mutex
	waits := 0
	return func() func() {
		mu.Lock()
		waits++
		if waits == 1 {
			s.Release()
		}
		mu.Unlock()
		var once sync.Once
		return func() {
			once.Do(func() {
				mu.Lock()
				defer mu.Unlock()
				waits--
				if waits == 0 {
					s.take()
				}
			})
		}
	}
}
