package bench

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/internal/crashtrial"
)

// TestCrashTrials is benchmark 9 (issue 13, crash safety): kill -9 trials
// of every task that changes a site, size.CrashKills of each beside the run
// that measures it, each followed by the recovery docs/tasks.md gives and
// checked (internal/crashtrial). Sites that lost content, stray copies,
// failed recoveries and tasks that failed on their own must all be 0. Its
// table of trials by task goes into docs/benchmarks.md, between the
// markers of its mode, whenever it runs (AEGIR_BENCH_DOC=0 leaves the file
// alone).
// AEGIR_CRASH_SEED replays a run; AEGIR_CRASH_KINDS picks kinds.
func TestCrashTrials(t *testing.T) {
	need(t)
	seed, kinds := crashtrial.FromEnv()
	rep := crashtrial.Run(t, crashtrial.Config{Binary: binary(t), Seed: seed, Kills: size.CrashKills, Kinds: kinds})
	total := rep.Total()
	note := fmt.Sprintf("%d trials in %s: %d killed at a random moment of the task's measured duration, %d ended first; seed %d",
		total.Trials, rep.Elapsed.Round(time.Second), total.Killed, total.Finished, rep.Seed)
	for i, f := range []struct {
		name string
		n    int
	}{
		{"kill -9 trials: sites that lost content", total.Lost},
		{"kill -9 trials: stray copies left", total.Strays},
		{"kill -9 trials: failed recoveries", total.Failed},
		{"kill -9 trials: tasks that failed on their own", total.Errors},
	} {
		fig := figure{Bench: "9 crash", Name: f.name, Value: fmt.Sprint(f.n), Target: "0", Result: atMost(float64(f.n), 0)}
		if i == 0 {
			fig.Note = note
		}
		report(fig)
	}
	report(figure{Bench: "9 crash", Name: "kill -9 trials: leftovers to remove by hand", Value: fmt.Sprint(total.Leftovers), Result: info,
		Note: "trials that left a dump in the site's directory or a partial archive, as docs/tasks.md says a crash may"})
	fmt.Printf("\n%s\n", rep.Table())
	for _, p := range rep.Problems {
		fmt.Println("    " + p)
	}
	if os.Getenv("AEGIR_BENCH_DOC") != "0" {
		if err := writeCrashTable(rep); err != nil {
			t.Errorf("write docs/benchmarks.md: %v", err)
		}
	}
}

// writeCrashTable replaces the table of the crash trials of this mode in
// docs/benchmarks.md, between its markers.
func writeCrashTable(rep *crashtrial.Report) error {
	path, err := docPath()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin, end := "<!-- bench:crash-"+mode+":begin -->", "<!-- bench:crash-"+mode+":end -->"
	i, j := bytes.Index(data, []byte(begin)), bytes.Index(data, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s markers", path, begin, end)
	}
	target := "make bench"
	if mode == "full" {
		target = "make bench-full"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", begin)
	fmt.Fprintf(&b, "Run on %s (%s sizes), took %s, seed %d; reproduce with `%s`, replay with `AEGIR_CRASH_SEED=%d`.\nMachine: %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), mode, rep.Elapsed.Round(time.Second), rep.Seed, target, rep.Seed, machine())
	b.WriteString(rep.Table())
	// What must not happen, a line each (the task's log is in the run's
	// output); leftovers are counted in the table.
	var found []string
	for _, p := range rep.Problems {
		if !strings.Contains(p, ": leftover: ") {
			line, _, _ := strings.Cut(p, "\n")
			found = append(found, line)
		}
	}
	if len(found) > 0 {
		b.WriteString("\nWhat the trials found:\n\n")
		for _, line := range found {
			fmt.Fprintf(&b, "* %s\n", line)
		}
	}
	out := append([]byte(nil), data[:i]...)
	out = append(out, b.String()...)
	out = append(out, data[j:]...)
	return os.WriteFile(path, out, 0o644)
}
