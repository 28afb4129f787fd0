package crashtrial

import (
	"fmt"
	"time"
)

// kind is a kind of trial: a task that changes the site, how the site is
// readied for it, and the recovery the documentation gives for it.
type kind struct {
	name string
	// Doc is the task's command line, for the report.
	doc string
	// before readies the site for the task, once the trial's marker is
	// written (a backup to restore, a disabled site to enable).
	before func(tr *trial) error
	args   func(tr *trial) []string
	// recovery is the documented recovery; verifyAll when nil.
	recovery func(tr *trial) error
	// check checks what the recovery left; checkSurvivor when nil.
	check func(tr *trial)
}

// kinds are the trials, one per task that changes a site.
var kinds = []kind{
	{name: "backup", doc: "backup @site",
		args: func(tr *trial) []string { return []string{"backup", "@" + tr.uri} }},
	{name: "restore", doc: "restore @site FILE", before: (*trial).backupAndChange,
		args: func(tr *trial) []string { return []string{"restore", "@" + tr.uri, tr.backup} }},
	{name: "migrate", doc: "migrate @site @platform",
		args: func(tr *trial) []string { return []string{"migrate", "@" + tr.uri, "@platform_" + tr.other} }},
	{name: "migrate-rename", doc: "migrate @site @platform NEW_URI", before: (*trial).takeNewName,
		args: func(tr *trial) []string {
			return []string{"migrate", "@" + tr.uri, "@platform_" + tr.other, tr.newURI}
		}},
	{name: "migrate-platform", doc: "migrate-platform @from @to",
		args: func(tr *trial) []string {
			return []string{"migrate-platform", "@platform_" + tr.platform, "@platform_" + tr.other}
		}},
	{name: "clone", doc: "clone @site NEW_URI [@platform]", before: (*trial).takeNewName,
		args: func(tr *trial) []string {
			target := tr.platform
			if tr.r.rng.IntN(2) == 1 {
				target = tr.other
			}
			return []string{"clone", "@" + tr.uri, tr.newURI, "@platform_" + target}
		}},
	{name: "verify", doc: "verify @site",
		args: func(tr *trial) []string { return []string{"verify", "@" + tr.uri} }},
	{name: "disable", doc: "disable @site",
		args: func(tr *trial) []string { return []string{"disable", "@" + tr.uri} }},
	{name: "enable", doc: "enable @site", before: func(tr *trial) error {
		_, err := tr.r.st.task("disable", "@"+tr.uri)
		return err
	},
		args: func(tr *trial) []string { return []string{"enable", "@" + tr.uri} }},
	{name: "update-db", doc: "update-db @site",
		args: func(tr *trial) []string { return []string{"update-db", "@" + tr.uri} }},
	{name: "flush-cache", doc: "flush-cache @site",
		args: func(tr *trial) []string { return []string{"flush-cache", "@" + tr.uri} }},
	{name: "delete", doc: "delete @site", recovery: (*trial).deleteAgain, check: (*trial).checkDeleted,
		args: func(tr *trial) []string { return []string{"delete", "@" + tr.uri} }},
}

// Kinds lists the kinds of trial, by name.
func Kinds() []string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.name)
	}
	return names
}

// Doc returns the command line of a kind of trial.
func Doc(name string) string {
	for _, k := range kinds {
		if k.name == name {
			return k.doc
		}
	}
	return ""
}

// prepare writes the trial's marker, readies the site and makes the task's
// arguments.
func (k *kind) prepare(tr *trial) error {
	m, err := tr.r.st.writeMarker(tr.uri, fmt.Sprintf("t%d", tr.n))
	if err != nil {
		return err
	}
	tr.latest = m
	if k.before != nil {
		if err := k.before(tr); err != nil {
			return err
		}
	}
	tr.args = k.args(tr)
	return nil
}

// Problem classes.
const (
	classLost     = "lost content"
	classStray    = "stray"
	classFailed   = "failed recovery"
	classError    = "task error"
	classLeftover = "leftover"
)

type problem struct{ class, detail string }

// trial is one task started, maybe killed, recovered and checked.
type trial struct {
	r    *runner
	n    int
	kind *kind
	// uri is the site's name when the trial began, on platform; other is
	// the other platform. newURI is the name a migrate or clone gives.
	uri, platform, other string
	newURI               string
	args                 []string
	latest               marker // written before the task: it must be served after
	// after is written after the backup a restore brings back: served
	// from both the database and the files, or from neither.
	after  *marker
	backup string
	delay  time.Duration // the kill point; < 0 for the measured run
	frac   float64       // delay as a fraction of the measured duration
	run    started
	// survivor is the site's name after the trial, when it goes on.
	survivor string
	problems []problem
	// broken: the site cannot go on to the next trial, which gets a new
	// one.
	broken bool
	// remove are paths and vhosts the trial left, to remove after it.
	remove []string
}

func (tr *trial) problem(class, format string, args ...any) {
	tr.problems = append(tr.problems, problem{class, fmt.Sprintf(format, args...)})
}

// load reads where the site is.
func (tr *trial) load() error {
	c, err := tr.r.st.site(tr.uri)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("no context @%s", tr.uri)
	}
	tr.platform = platformOf(c)
	tr.other = platforms[0]
	if tr.platform == platforms[0] {
		tr.other = platforms[1]
	}
	return nil
}

// when says when the task was killed, or that it was not.
func (tr *trial) when() string {
	switch {
	case tr.delay < 0:
		return fmt.Sprintf("measured, took %d ms", tr.run.took.Milliseconds())
	case tr.run.killed:
		return fmt.Sprintf("killed at %d ms (%.2f of its duration)", tr.delay.Milliseconds(), tr.frac)
	default:
		return fmt.Sprintf("ended at %d ms, before the kill at %d ms", tr.run.took.Milliseconds(), tr.delay.Milliseconds())
	}
}

// names are the names the site may have after the trial.
func (tr *trial) names() []string {
	if tr.newURI != "" {
		return []string{tr.uri, tr.newURI}
	}
	return []string{tr.uri}
}

// takeNewName picks the name a migrate or clone gives.
func (tr *trial) takeNewName() error {
	tr.newURI = tr.r.newName()
	return nil
}

// backupAndChange takes the backup a restore brings back, then changes the
// site: a second marker, which the restore takes away, from the database
// and the files at once.
func (tr *trial) backupAndChange() error {
	r, err := tr.r.st.task("backup", "@"+tr.uri)
	if err != nil {
		return err
	}
	tr.backup = fmt.Sprint(r.Data["backup_file"])
	m, err := tr.r.st.writeMarker(tr.uri, fmt.Sprintf("t%dafter", tr.n))
	if err != nil {
		return err
	}
	tr.after = &m
	return nil
}

// verifyAll is the documented recovery of most tasks: a verify of the site,
// and of its new name after a migrate under a new name or a clone, for
// each name that has a context.
func (tr *trial) verifyAll() error {
	var errs []error
	for _, name := range tr.names() {
		c, err := tr.r.st.site(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c == nil {
			continue
		}
		if _, err := tr.r.st.task("verify", "@"+name); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrs(errs)
}

// recover runs the kind's recovery.
func (tr *trial) recover() error {
	if tr.kind.recovery != nil {
		return tr.kind.recovery(tr)
	}
	return tr.verifyAll()
}
