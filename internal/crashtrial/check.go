package crashtrial

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// marker is content of a site that must survive: a published post in its
// database and a file among its uploads, both holding text.
type marker struct {
	text string
	post int64
	file string // in the site's files/
}

// writeMarker adds a marker to the site uri, straight into its database
// and directory, as its users would through WordPress.
func (s *stack) writeMarker(uri, label string) (marker, error) {
	c, err := s.site(uri)
	if err != nil {
		return marker{}, err
	}
	if c == nil {
		return marker{}, fmt.Errorf("no context @%s", uri)
	}
	b := make([]byte, 4)
	rand.Read(b)
	m := marker{text: "crashmark-" + label + "-" + hex.EncodeToString(b), file: "crash-" + label + ".txt"}
	res, err := s.db.Exec("INSERT INTO `"+c.Site.DBName+"`.wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, "+
		"post_excerpt, post_status, comment_status, ping_status, post_password, post_name, to_ping, pinged, post_modified, "+
		"post_modified_gmt, post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type, comment_count) "+
		"VALUES (1, NOW(), UTC_TIMESTAMP(), ?, 'Crash marker', '', 'publish', 'closed', 'closed', '', ?, '', '', NOW(), "+
		"UTC_TIMESTAMP(), '', 0, '', 0, 'post', '', 0)", m.text, "crash-"+label)
	if err != nil {
		return marker{}, fmt.Errorf("write the marker post of @%s: %w", uri, err)
	}
	if m.post, err = res.LastInsertId(); err != nil {
		return marker{}, err
	}
	path := filepath.Join(s.roots[platformOf(c)], "sites", uri, "files", m.file)
	if err := os.WriteFile(path, []byte(m.text+"\n"), 0o644); err != nil {
		return marker{}, fmt.Errorf("write the marker file of @%s: %w", uri, err)
	}
	return m, nil
}

// served reports whether the site uri serves the marker's post (from its
// database) and file (from its directory) over HTTP, and what it answered
// when it does not.
func (s *stack) served(uri string, m marker) (post, file bool, why string) {
	var whys []string
	code, body, err := s.get(uri, fmt.Sprintf("/?p=%d", m.post))
	if post = err == nil && code == 200 && strings.Contains(body, m.text); !post {
		whys = append(whys, fmt.Sprintf("post %d: %d %v %.80q", m.post, code, err, body))
	}
	code, body, err = s.get(uri, "/sites/"+uri+"/files/"+m.file)
	if file = err == nil && code == 200 && strings.Contains(body, m.text); !file {
		whys = append(whys, fmt.Sprintf("file %s: %d %v", m.file, code, err))
	}
	return post, file, strings.Join(whys, "; ")
}

// holds reports whether the site's database and directory hold the
// marker, whatever is served.
func (s *stack) holds(c *aegir.Context, name string, m marker) (post, file bool) {
	var n int
	err := s.db.QueryRow("SELECT COUNT(*) FROM `"+c.Site.DBName+"`.wp_posts WHERE ID = ? AND post_content = ?", m.post, m.text).Scan(&n)
	post = err == nil && n == 1
	data, err := os.ReadFile(filepath.Join(s.roots[platformOf(c)], "sites", name, "files", m.file))
	file = err == nil && strings.Contains(string(data), m.text)
	return post, file
}

// check checks what the trial and its recovery left.
func (tr *trial) check() {
	if tr.kind.check != nil {
		tr.kind.check(tr)
	} else {
		tr.checkSurvivor()
	}
	tr.checkDisk()
}

// checkSurvivor finds the site under the name it has after the task (the
// new one once a migrate under a new name went far enough, else its own)
// and checks it; a clone's copy, when it has a context, is checked as
// well.
func (tr *trial) checkSurvivor() {
	st := tr.r.st
	old, err := st.site(tr.uri)
	if err != nil {
		tr.problem(classFailed, "read @%s: %v", tr.uri, err)
	}
	var renamed bool
	if tr.newURI != "" {
		nu, err := st.site(tr.newURI)
		if err != nil {
			tr.problem(classFailed, "read @%s: %v", tr.newURI, err)
		}
		renamed = nu != nil
	}
	switch {
	case tr.kind.name == "migrate-rename" && old != nil && renamed:
		tr.problem(classStray, "the site has two contexts after the recovery, @%s and @%s", tr.uri, tr.newURI)
		tr.checkSite(tr.uri)
		tr.checkSite(tr.newURI)
		tr.broken = true
	case tr.kind.name == "migrate-rename" && renamed:
		tr.survivor = tr.newURI
	case old != nil:
		tr.survivor = tr.uri
		if renamed { // a clone
			tr.checkSite(tr.newURI)
		}
	default:
		tr.problem(classLost, "no context of the site is left (%s)", strings.Join(tr.names(), ", "))
		tr.broken = true
	}
	if tr.survivor != "" && !tr.checkSite(tr.survivor) {
		tr.broken = true
	}
}

// checkSite checks that the site name is installed on a platform, has its
// directory, its database (not empty) and user, and its vhost, and serves
// the trial's markers; it reports whether it can go on to the next trial.
func (tr *trial) checkSite(name string) bool {
	st := tr.r.st
	c, err := st.site(name)
	if err != nil || c == nil {
		tr.problem(classFailed, "@%s: no context (%v)", name, err)
		return false
	}
	ok := true
	fail := func(class, format string, args ...any) {
		tr.problem(class, "@"+name+": "+format, args...)
		ok = false
	}
	root := st.roots[platformOf(c)]
	switch {
	case c.Site.Status == aegir.SiteNotInstalled:
		fail(classFailed, "its context says it is not installed")
	case root == "":
		fail(classFailed, "its context names an unknown platform %s", c.Site.Platform)
	case !exists(filepath.Join(root, "sites", name)):
		fail(classLost, "its directory %s is gone", filepath.Join(root, "sites", name))
	}
	if n, err := st.tables(c.Site.DBName); err != nil || n == 0 {
		fail(classLost, "its database %q is gone or empty (%v)", c.Site.DBName, err)
	}
	if users, err := st.strings("SELECT Host FROM mysql.user WHERE User = ?", c.Site.DBUser); err != nil || len(users) == 0 {
		fail(classFailed, "its database user %q is gone (%v)", c.Site.DBUser, err)
	}
	if !exists(filepath.Join(st.vhostDir(), name+".conf")) {
		fail(classFailed, "it has no vhost")
	}
	// WordPress keeps its own address: data moved back or restored under
	// another name links and redirects there.
	var home string
	if err := st.db.QueryRow("SELECT option_value FROM `" + c.Site.DBName + "`.wp_options WHERE option_name = 'home'").Scan(&home); err == nil {
		if want := fmt.Sprintf("http://%s:%d", name, st.port); home != want {
			fail(classFailed, "its data holds the address %s, not %s", home, want)
		}
	}
	if !ok {
		return false
	}
	if c.Site.Status == aegir.SiteDisabled {
		// A disabled site says so; enabled again, it serves its content.
		if code, _, err := st.get(name, "/"); err != nil || code != 503 {
			fail(classFailed, "its context says disabled, it answers %d (%v)", code, err)
		}
		if _, err := st.task("enable", "@"+name); err != nil {
			fail(classFailed, "enable after the trial: %v", err)
			return false
		}
	}
	for _, m := range []marker{tr.r.base, tr.latest} {
		if post, file, why := st.served(name, m); !post || !file {
			// Content that is there but not served is a recovery that did
			// not bring the site back; content that is not there is lost.
			if hasPost, hasFile := st.holds(c, name, m); hasPost && hasFile {
				fail(classFailed, "%s is there but not served: %s", m.text, why)
			} else {
				fail(classLost, "%s not served (in the database: %v, in the files: %v): %s", m.text, hasPost, hasFile, why)
			}
		}
	}
	if tr.after != nil {
		// Restored or not, but never half.
		post, file, why := st.served(name, *tr.after)
		if post != file {
			fail(classLost, "half restored: the change made after the backup is served from the %s only (%s)",
				map[bool]string{true: "database", false: "files"}[post], why)
		}
	}
	return ok
}

// checkDisk looks at everything the stack holds: a site directory, vhost,
// database or user that no context names, a partial archive, a dump or a
// record left beside a site, and the copies verify set aside.
func (tr *trial) checkDisk() {
	st := tr.r.st
	ctxs, err := st.siteContexts()
	if err != nil {
		tr.problem(classFailed, "list the site contexts: %v", err)
		return
	}
	known := map[string]string{} // site: platform
	var dbNames, dbUsers []string
	for _, c := range ctxs {
		known[c.Name] = platformOf(c)
		dbNames = append(dbNames, c.Site.DBName)
		dbUsers = append(dbUsers, c.Site.DBUser)
		if !slices.Contains(tr.names(), c.Name) {
			tr.problem(classStray, "a context @%s the trial did not make", c.Name)
		}
	}
	for _, p := range platforms {
		dir := filepath.Join(st.roots[p], "sites")
		entries, err := os.ReadDir(dir)
		if err != nil {
			tr.problem(classFailed, "read %s: %v", dir, err)
			continue
		}
		for _, e := range entries {
			name, path := e.Name(), filepath.Join(dir, e.Name())
			switch {
			case name == "default" || name == "all":
			case strings.HasPrefix(name, ".aegir-stray-"):
				tr.remove = append(tr.remove, path) // set aside, as documented
			case known[name] == p && e.IsDir():
				if dump := filepath.Join(path, "database.sql"); exists(dump) {
					tr.problem(classLeftover, "a dump left in the site directory: %s", dump)
					tr.remove = append(tr.remove, dump)
				}
			case e.IsDir():
				tr.problem(classStray, "%s on @platform_%s: a copy of a site that is not set aside", path, p)
				tr.remove = append(tr.remove, path)
			default:
				tr.problem(classLeftover, "a file %s", path)
				tr.remove = append(tr.remove, path)
			}
		}
	}
	vhosts, err := os.ReadDir(st.vhostDir())
	if err != nil {
		tr.problem(classFailed, "read the vhosts: %v", err)
	}
	for _, e := range vhosts {
		name, ok := strings.CutSuffix(e.Name(), ".conf")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		if _, live := known[name]; !live {
			tr.problem(classStray, "a vhost of %s, which has no context, serves a copy of the site", name)
			tr.remove = append(tr.remove, filepath.Join(st.vhostDir(), e.Name()))
		}
	}
	dbs, users, err := st.databases()
	if err != nil {
		tr.problem(classFailed, "list the databases: %v", err)
	}
	for _, d := range dbs {
		if !slices.Contains(dbNames, d) {
			tr.problem(classLeftover, "database %s, which no context names", d)
			tr.remove = append(tr.remove, "db:"+d)
		}
	}
	for _, u := range users {
		if user, _, _ := strings.Cut(u, "@"); !slices.Contains(dbUsers, user) {
			tr.problem(classLeftover, "database user %s, which no context names", u)
			tr.remove = append(tr.remove, "user:"+u)
		}
	}
	parts, _ := filepath.Glob(filepath.Join(st.backupsDir(), "*.part"))
	for _, p := range parts {
		tr.problem(classLeftover, "a partial archive %s", p)
	}
}

// tidy removes what the trial left for someone to remove by hand, the
// copies set aside, the backups, a clone's copy; and, when the site broke,
// every trace of it, so the next trial starts on a new one.
func (tr *trial) tidy() {
	st := tr.r.st
	if tr.kind.name == "clone" && tr.newURI != "" {
		tr.forget(tr.newURI)
	}
	if tr.broken {
		for _, name := range tr.names() {
			tr.forget(name)
		}
	} else {
		tr.r.site = tr.survivor
	}
	for _, p := range tr.remove {
		var err error
		switch {
		case strings.HasPrefix(p, "db:"):
			err = st.dropDatabase(strings.TrimPrefix(p, "db:"))
		case strings.HasPrefix(p, "user:"):
			err = st.dropUser(strings.TrimPrefix(p, "user:"))
		default:
			err = os.RemoveAll(p)
		}
		if err != nil {
			tr.r.t.Fatalf("trial %d: remove %s: %v", tr.n, p, err)
		}
	}
	// Backups are made by every trial: they would fill the disk.
	if err := os.RemoveAll(st.backupsDir()); err == nil {
		err = os.Mkdir(st.backupsDir(), 0o700)
		if err != nil {
			tr.r.t.Fatal(err)
		}
	}
}

// forget removes a site by hand, whatever state it is in: its context, its
// directory on every platform, its vhost, its database and user.
func (tr *trial) forget(name string) {
	st := tr.r.st
	if c, _ := st.site(name); c != nil {
		if c.Site.DBName != "" {
			st.dropDatabase(c.Site.DBName)
		}
		if c.Site.DBUser != "" {
			users, _ := st.strings("SELECT CONCAT(User, '@', Host) FROM mysql.user WHERE User = ?", c.Site.DBUser)
			for _, u := range users {
				st.dropUser(u)
			}
		}
		if _, err := st.aegir("save", "@"+name, "--delete"); err != nil {
			tr.r.t.Fatalf("trial %d: forget @%s: %v", tr.n, name, err)
		}
	}
	for _, p := range platforms {
		os.RemoveAll(filepath.Join(st.roots[p], "sites", name))
	}
	os.Remove(filepath.Join(st.vhostDir(), name+".conf"))
}

// deleteAgain is the recovery of a delete: run it again, when the site
// still has its context, so it ends as it was asked to.
func (tr *trial) deleteAgain() error {
	c, err := tr.r.st.site(tr.uri)
	if err != nil || c == nil {
		return err
	}
	_, err = tr.r.st.task("delete", "@"+tr.uri)
	return err
}

// checkDeleted checks a delete and its recovery: the site is gone, and the
// newest backup of it that holds a database brings it back (a new context
// on its platform and a deploy of the backup), with its content.
func (tr *trial) checkDeleted() {
	st := tr.r.st
	if c, _ := st.site(tr.uri); c != nil {
		tr.problem(classFailed, "@%s still has its context", tr.uri)
		tr.broken = true
		return
	}
	if exists(filepath.Join(st.vhostDir(), tr.uri+".conf")) {
		tr.problem(classStray, "the deleted site's vhost is still there")
		tr.remove = append(tr.remove, filepath.Join(st.vhostDir(), tr.uri+".conf"))
	}
	backup, err := tr.newestBackup()
	if err != nil {
		tr.problem(classLost, "no backup brings the deleted site back: %v", err)
		tr.broken = true
		return
	}
	if _, err := st.aegir("save", "@"+tr.uri, "--context_type=site", "--platform=@platform_"+tr.platform); err != nil {
		tr.problem(classFailed, "bring the site back: %v", err)
		tr.broken = true
		return
	}
	if _, err := st.task("deploy", "@"+tr.uri, backup); err != nil {
		tr.problem(classFailed, "bring the site back from %s: %v", backup, err)
		tr.broken = true
		return
	}
	tr.survivor = tr.uri
	if !tr.checkSite(tr.uri) {
		tr.broken = true
	}
}

// newestBackup is the newest backup of the site that holds a database
// dump: a delete run again on a site whose database it had dropped takes
// one of the files alone.
func (tr *trial) newestBackup() (string, error) {
	st := tr.r.st
	files, err := filepath.Glob(filepath.Join(st.backupsDir(), tr.uri+"-*.tar.*"))
	if err != nil {
		return "", err
	}
	files = slices.DeleteFunc(files, func(f string) bool {
		return !strings.HasSuffix(f, ".tar.gz") && !strings.HasSuffix(f, ".tar.zst")
	})
	// Named by their time: the newest last.
	sort.Strings(files)
	for i := len(files) - 1; i >= 0; i-- {
		out, err := exec.Command("tar", "-tf", files[i]).Output()
		if err != nil {
			continue
		}
		if slices.Contains(strings.Split(string(out), "\n"), "./database.sql") {
			return files[i], nil
		}
	}
	return "", fmt.Errorf("none of %d backups holds a database", len(files))
}
