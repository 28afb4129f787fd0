package provision

import "github.com/aegir-hosting/aegir"

// report sets a fact of the task's result through its part P (see the
// root's results.go). A task whose result type has no such part does not
// report that fact: a server verify renews certificates, it reports none.
func report[P any](t *run, set func(*P)) {
	if p := aegir.PartOf[P](t.res); p != nil {
		set(p)
	}
}

// reportBackup reports the backup the task made.
func (t *run) reportBackup(info *aegir.ArchiveInfo) {
	report(t, func(b *aegir.BackupMade) { b.File, b.Size, b.SHA256 = info.Path, info.Size, info.SHA256 })
}
