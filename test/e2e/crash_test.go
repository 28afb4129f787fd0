package e2e

import (
	"testing"

	"github.com/aegir-hosting/aegir/internal/crashtrial"
)

// TestKilledTasksLoseNoSite is the short run of the crash trials (issue
// 13): every task that changes a site runs once to its end, to measure it,
// and once killed with SIGKILL at a random moment of that duration; after
// the documented recovery the site serves its content from its database
// and its files, no copy of it is left that is not set aside, and the
// recovery succeeded. The long run is bench's TestCrashTrials.
// AEGIR_CRASH_SEED replays a run, AEGIR_CRASH_KINDS picks kinds.
func TestKilledTasksLoseNoSite(t *testing.T) {
	seed, kinds := crashtrial.FromEnv()
	rep := crashtrial.Run(t, crashtrial.Config{Binary: aegirBin, Seed: seed, Kills: 1, Kinds: kinds})
	t.Logf("seed %d, %s:\n%s", rep.Seed, rep.Elapsed.Round(1e9), rep.Table())
	for _, p := range rep.Problems {
		t.Log(p)
	}
	if bad := rep.Bad(); bad > 0 {
		t.Errorf("%d trials lost content, left a stray copy, failed to recover or failed on their own (replay with AEGIR_CRASH_SEED=%d)", bad, rep.Seed)
	}
}
