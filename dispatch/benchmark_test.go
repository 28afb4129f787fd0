package dispatch_test

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkDispatchLatency measures how soon an idle dispatcher starts a
// task: each iteration enqueues a noop task and waits until it has
// finished. ns/op is that whole round trip as the client sees it; the
// p50-queued-ns and p99-queued-ns metrics are the queued → processing
// latency the store recorded (StartedAt - CreatedAt).
func BenchmarkDispatchLatency(b *testing.B) {
	for _, k := range storeKinds {
		b.Run(k.name, func(b *testing.B) {
			s := k.open(b)
			f := setup(b, s, 1)
			f.start(b, "bench", 2)
			ctx := context.Background()
			wake, err := s.Listen(ctx)
			must(b, err)
			var latencies []time.Duration
			b.ResetTimer()
			for range b.N {
				task := noop("s00.example", 0)
				must(b, s.EnqueueTask(ctx, task))
				for {
					got, err := s.GetTask(ctx, task.ID)
					must(b, err)
					if finished(got.Status) {
						latencies = append(latencies, got.StartedAt.Sub(got.CreatedAt))
						break
					}
					select {
					case <-wake:
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
			b.StopTimer()
			slices.Sort(latencies)
			b.ReportMetric(float64(latencies[len(latencies)/2]), "p50-queued-ns")
			b.ReportMetric(float64(latencies[len(latencies)*99/100]), "p99-queued-ns")
		})
	}
}
