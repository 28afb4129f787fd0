package aegir

import (
	"testing"
	"time"
)

// TestAWaitingTaskLeavesItsSlotAndGoesOnFirst: a task that waits for
// others gives its slot to a new claim, and takes one back, ahead of new
// claims, once a slot is free.
func TestAWaitingTaskLeavesItsSlotAndGoesOnFirst(t *testing.T) {
	t.Parallel()
	s := NewSlots(1)
	if !s.TryTake() {
		t.Fatal("no slot for the first task")
	}
	if s.TryTake() {
		t.Fatal("a second task took the only slot")
	}
	hook := s.WaitHook()
	end := hook()
	inner := hook() // an overlapping wait of the same task
	if !s.TryTake() {
		t.Fatal("the slot of a waiting task was not free for another")
	}
	inner()
	resumed := make(chan struct{})
	go func() {
		end()
		close(resumed)
	}()
	// The waiting task queues for the slot; a new claim may not take it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		queued := len(s.queue)
		s.mu.Unlock()
		if queued == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task that waited did not ask for a slot again")
		}
	}
	select {
	case <-resumed:
		t.Fatal("the task that waited went on without a slot")
	default:
	}
	s.Release() // the other task ends
	<-resumed
	if s.TryTake() {
		t.Fatal("a new claim took the slot of the task that went on")
	}
	s.Release()
	if !s.TryTake() {
		t.Fatal("the slot is not free once every task ended")
	}
}
