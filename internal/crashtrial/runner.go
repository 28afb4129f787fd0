package crashtrial

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Config is what Run does.
type Config struct {
	// Binary is the aegir binary under test.
	Binary string
	// Seed seeds the order of the trials and their kill points; 0 takes
	// one from the clock. Either way it is logged and reported.
	Seed uint64
	// Kills is how many trials of each kind are killed at a random moment,
	// beside the first trial of each kind, which runs to its end to
	// measure the task.
	Kills int
	// Kinds are the kinds of trial to run (Kinds()); none: all of them.
	Kinds []string
	// Logf prints a line per trial; t.Logf when nil.
	Logf func(format string, args ...any)
}

// FromEnv returns the seed and kinds a run was asked for:
// AEGIR_CRASH_SEED (a seed a run logged, to replay it) and
// AEGIR_CRASH_KINDS (a comma-separated list, to try a few kinds).
func FromEnv() (seed uint64, kinds []string) {
	seed, _ = strconv.ParseUint(os.Getenv("AEGIR_CRASH_SEED"), 10, 64)
	if v := os.Getenv("AEGIR_CRASH_KINDS"); v != "" {
		kinds = strings.Split(v, ",")
	}
	return seed, kinds
}

// Counts are the trials of one kind and what they found.
type Counts struct {
	Kind string
	// Trials ran; Killed of them were killed mid-task, Finished ended
	// before the kill (the measured run among them).
	Trials, Killed, Finished int
	// Lost: trials after which the site did not serve its marker content
	// from its database and files (or a delete's backup did not bring it
	// back). Strays: trials that left a copy of the site, its directory or
	// its vhost, where it can be served or taken for a site, not set
	// aside. Failed: recoveries that failed, or left the contexts at odds
	// with the disk and the databases. Errors: tasks that failed on their
	// own, not killed. All four must be 0.
	Lost, Strays, Failed, Errors int
	// Leftovers are what the documentation says a crash may leave to
	// remove by hand (a new database, a partial archive, a dump in the
	// site directory), counted by trial; the runner removes them.
	Leftovers int
	// Took is the median duration of the task's runs that ended on their
	// own.
	Took time.Duration
}

// Report is what a run found.
type Report struct {
	Seed    uint64
	Counts  []*Counts // by kind, in the order of Kinds()
	Elapsed time.Duration
	// Problems has a line for each trial that lost content, left a stray,
	// failed to recover or failed on its own, and for each leftover, with
	// the seed, the trial and its kill point.
	Problems []string
}

// Total sums the counts of every kind.
func (r *Report) Total() Counts {
	t := Counts{Kind: "all"}
	for _, c := range r.Counts {
		t.Trials += c.Trials
		t.Killed += c.Killed
		t.Finished += c.Finished
		t.Lost += c.Lost
		t.Strays += c.Strays
		t.Failed += c.Failed
		t.Errors += c.Errors
		t.Leftovers += c.Leftovers
	}
	return t
}

// Bad counts the trials that found something that must not happen.
func (r *Report) Bad() int {
	t := r.Total()
	return t.Lost + t.Strays + t.Failed + t.Errors
}

// Table is the report as a Markdown table, a row per kind and the total.
func (r *Report) Table() string {
	var b strings.Builder
	b.WriteString("| task | trials | killed mid-task | finished first | lost content | stray copies | failed recoveries | task errors | leftovers (by hand) | task takes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	row := func(c Counts, took string) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %s |\n",
			c.Kind, c.Trials, c.Killed, c.Finished, c.Lost, c.Strays, c.Failed, c.Errors, c.Leftovers, took)
	}
	for _, c := range r.Counts {
		row(*c, fmt.Sprintf("%.2f s", c.Took.Seconds()))
	}
	row(r.Total(), "")
	return b.String()
}

// runner is one run of trials on one stack.
type runner struct {
	t     testing.TB
	cfg   Config
	st    *stack
	rng   *rand.Rand
	logf  func(format string, args ...any)
	names int // site names handed out
	// site is the subject of the trials: it goes from task to task under
	// its current name, and is made again when a trial broke it.
	site  string
	base  marker // written when the site was installed
	took  map[string][]time.Duration
	count map[string]*Counts
	rep   *Report
}

// Run runs the trials of cfg on a private stack and reports what they
// found; it fails t only when the stack cannot be set up.
func Run(t testing.TB, cfg Config) *Report {
	t.Helper()
	start := time.Now()
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	kinds, err := pick(cfg.Kinds)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 13)), logf: cfg.Logf,
		took: map[string][]time.Duration{}, count: map[string]*Counts{}, rep: &Report{Seed: cfg.Seed}}
	if r.logf == nil {
		r.logf = t.Logf
	}
	r.logf("crash trials: seed %d (AEGIR_CRASH_SEED=%d replays this run), %d kinds, %d killed trials of each",
		cfg.Seed, cfg.Seed, len(kinds), cfg.Kills)
	r.st = newStack(t, cfg.Binary)
	for _, k := range kinds {
		c := &Counts{Kind: k.name}
		r.count[k.name] = c
		r.rep.Counts = append(r.rep.Counts, c)
	}
	if err := r.newSite(); err != nil {
		t.Fatalf("install the first site: %v", err)
	}
	// Each kind's first trial measures it; the others come in a random
	// order, so each starts from whatever the trials before left.
	var order []*kind
	for _, k := range kinds {
		for range cfg.Kills {
			order = append(order, k)
		}
	}
	r.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	order = append(slices.Clone(kinds), order...)
	for i, k := range order {
		r.trial(i+1, len(order), k)
	}
	for _, c := range r.rep.Counts {
		c.Took = median(r.took[c.Kind])
	}
	r.rep.Elapsed = time.Since(start)
	return r.rep
}

// pick returns the kinds named, all when none is.
func pick(names []string) ([]*kind, error) {
	if len(names) == 0 {
		out := make([]*kind, len(kinds))
		for i := range kinds {
			out[i] = &kinds[i]
		}
		return out, nil
	}
	var out []*kind
	for _, n := range names {
		i := slices.IndexFunc(kinds, func(k kind) bool { return k.name == strings.TrimSpace(n) })
		if i < 0 {
			return nil, fmt.Errorf("no crash trial kind %q (kinds: %s)", n, strings.Join(Kinds(), ", "))
		}
		out = append(out, &kinds[i])
	}
	return out, nil
}

// measureCap bounds the run that measures a task: one that takes longer
// is killed and counted as an error.
const measureCap = 3 * time.Minute

// overshoot is the window of kill points, as a fraction of the task's
// measured duration: the whole of it. Durations vary from run to run, so
// some trials see the task end first all the same.
const overshoot = 1.0

// trial runs one trial of kind k: number i of n.
func (r *runner) trial(i, n int, k *kind) {
	c := r.count[k.name]
	tr := &trial{r: r, n: i, kind: k, uri: r.site}
	if err := tr.load(); err != nil {
		r.t.Fatalf("trial %d: the site is not where the last trial left it: %v", i, err)
	}
	tr.delay = -1
	measuring := c.Trials == 0
	if !measuring {
		frac := r.rng.Float64() * overshoot
		tr.delay = time.Duration(frac * float64(median(r.took[k.name])))
		tr.frac = frac
	}
	if err := k.prepare(tr); err != nil {
		r.t.Fatalf("trial %d (%s): prepare: %v", i, k.name, err)
	}
	delay := tr.delay
	if measuring {
		delay = measureCap
	}
	tr.run = r.st.startAndKill(delay, tr.args...)
	c.Trials++
	switch {
	case measuring && tr.run.killed:
		tr.problem(classError, "did not end within %s", measureCap)
	case tr.run.killed:
		c.Killed++
	default:
		c.Finished++
		r.took[k.name] = append(r.took[k.name], tr.run.took)
		if tr.run.err != nil {
			tr.problem(classError, "failed on its own: %v", tr.run.err)
		}
	}
	if err := tr.recover(); err != nil {
		tr.problem(classFailed, "recovery: %v", err)
	}
	tr.check()
	tr.tidy()

	found := map[string]bool{}
	for _, p := range tr.problems {
		found[p.class] = true
		r.rep.Problems = append(r.rep.Problems, fmt.Sprintf("seed %d trial %d %s (%s): %s: %s", r.cfg.Seed, i, k.name, tr.when(), p.class, p.detail))
	}
	for class, n := range map[string]*int{classLost: &c.Lost, classStray: &c.Strays, classFailed: &c.Failed, classError: &c.Errors, classLeftover: &c.Leftovers} {
		if found[class] {
			*n++
		}
	}
	verdict := "ok"
	if len(tr.problems) > 0 {
		var lines []string
		for _, p := range tr.problems {
			lines = append(lines, p.class+": "+p.detail)
		}
		verdict = strings.Join(lines, "\n    ")
	}
	r.logf("trial %d/%d %s @%s: %s: %s", i, n, k.name, tr.uri, tr.when(), verdict)
	if tr.broken {
		if err := r.newSite(); err != nil {
			r.t.Fatalf("trial %d: make a new site after a broken one: %v", i, err)
		}
	}
}

// newSite installs a new subject site on the first platform, with its base
// marker.
func (r *runner) newSite() error {
	uri := r.newName()
	if _, err := r.st.aegir("save", "@"+uri, "--context_type=site", "--platform=@platform_"+platforms[0]); err != nil {
		return err
	}
	if _, err := r.st.task("install", "@"+uri); err != nil {
		return err
	}
	m, err := r.st.writeMarker(uri, "base")
	if err != nil {
		return err
	}
	r.site, r.base = uri, m
	return nil
}

// newName hands out a site name that holds the stack's token, in the
// first characters, where the database names derived from it keep it.
func (r *runner) newName() string {
	r.names++
	return fmt.Sprintf("%sn%d.test", r.st.token, r.names)
}

// median of ds; 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// joinErrs joins errors, nil for none.
func joinErrs(errs []error) error { return errors.Join(errs...) }
