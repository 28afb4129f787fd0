package bench

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// wpStack is a private hosting stack driven by the aegir binary: its own
// $AEGIR_HOME, nginx and php-fpm, on the machine's MariaDB with database
// names holding a token of its own.
type wpStack struct {
	t     *testing.T
	home  string
	port  int
	token string
	db    *sql.DB
}

const masterDB = "mysql://root:@127.0.0.1:3306"

func newWPStack(t *testing.T) *wpStack {
	t.Helper()
	teststack.Require(t, "php", "mysqldump", "mysql")
	fpm, ng := teststack.StartPHPFPM(t), teststack.StartNginx(t)
	s := &wpStack{t: t, home: filepath.Join(teststack.WebDir(t), "aegir"), port: teststack.FreePort(t),
		token: "b" + teststack.RandomHex(t, 3), db: teststack.RootDB(t)}
	t.Cleanup(s.dropDatabases)
	s.aegir("setup", "--aegir_user", "root", "--http_port", fmt.Sprint(s.port),
		"--http_service_type", "nginx",
		"--http_test_cmd", strings.Join(ng.TestCmd(), " "),
		"--http_restart_cmd", strings.Join(ng.ReloadCmd(), " "),
		"--http_conf_link", filepath.Join(ng.ConfD, "aegir.conf"),
		"--php_fpm_socket", fpm.Socket, "--master_db", masterDB, "--web_group", "www-data")
	return s
}

// aegir runs the binary on the stack's home and returns its output.
func (s *wpStack) aegir(args ...string) string {
	s.t.Helper()
	return run(s.t, []string{"AEGIR_HOME=" + s.home, "AEGIR_ALLOW_ROOT=1"}, binary(s.t), args...)
}

// task runs a task with --json and returns its result's data.
func (s *wpStack) task(args ...string) map[string]any {
	s.t.Helper()
	data, _ := s.run(args...)
	return data
}

// taskLog runs a task as task does and returns the messages of its log.
func (s *wpStack) taskLog(args ...string) []string {
	s.t.Helper()
	_, log := s.run(args...)
	return log
}

// run runs a task with --json and returns its result's data and the
// messages of its log.
func (s *wpStack) run(args ...string) (map[string]any, []string) {
	s.t.Helper()
	cmd := exec.Command(binary(s.t), append(args, "--json")...)
	cmd.Env = append(os.Environ(), "AEGIR_HOME="+s.home, "AEGIR_ALLOW_ROOT=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r struct {
		Status string         `json:"status"`
		Data   map[string]any `json:"data"`
		Log    []struct{ Level, Message string }
	}
	if os.Getenv("AEGIR_BENCH_LOG") != "" {
		s.t.Logf("aegir %s: %s", strings.Join(args, " "), stdout.String())
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &r); jerr != nil || err != nil || (r.Status != "success" && r.Status != "warning") {
		s.t.Fatalf("aegir %s: %v (%v): %s\n%s", strings.Join(args, " "), err, jerr, stdout.String(), stderr.String())
	}
	var log []string
	for _, e := range r.Log {
		log = append(log, e.Message)
	}
	return r.Data, log
}

// platform copies WordPress into a new platform and verifies it.
func (s *wpStack) platform(name string) string {
	s.t.Helper()
	root := filepath.Join(s.home, "platforms", name)
	if err := teststack.CopyTree("/usr/share/wordpress", root); err != nil {
		s.t.Skipf("no WordPress to copy: %v", err)
	}
	s.aegir("save", "@platform_"+name, "--context_type=platform", "--root="+root)
	s.task("verify", "@platform_"+name)
	return root
}

// site installs a WordPress site on a platform.
func (s *wpStack) site(uri, platform string) {
	s.t.Helper()
	s.aegir("save", "@"+uri, "--context_type=site", "--platform=@platform_"+platform)
	s.task("install", "@"+uri)
}

// context reads a site's context.
func (s *wpStack) context(uri string) *aegir.Context {
	s.t.Helper()
	c, err := contextfile.New(aegir.Paths{Home: s.home}).Get(background, uri)
	must(s.t, err)
	return c
}

// siteDir is the directory of a site on its platform.
func (s *wpStack) siteDir(uri string) string {
	c := s.context(uri)
	var p *aegir.Context
	p, err := contextfile.New(aegir.Paths{Home: s.home}).Get(background, aegir.ContextName(c.Site.Platform))
	must(s.t, err)
	return filepath.Join(p.Platform.Root, "sites", uri)
}

// fill gives a site uploads of about uploadMB (two thirds photo-like,
// incompressible; one third text-like) and a table of about dbMB of
// rows of text.
func (s *wpStack) fill(uri string, uploadMB, dbMB int, seed uint64) {
	s.t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := filepath.Join(s.siteDir(uri), "files", "uploads")
	must(s.t, os.MkdirAll(dir, 0o775))
	for total, i := 0, 0; total < uploadMB<<20; i++ {
		n := 20<<10 + rng.IntN(1<<20)
		data := make([]byte, n)
		name := fmt.Sprintf("photo-%04d.jpg", i)
		if i%3 == 2 {
			name = fmt.Sprintf("doc-%04d.txt", i)
			words(rng, data)
		} else {
			for j := 0; j+8 <= len(data); j += 8 {
				v := rng.Uint64()
				for k := range 8 {
					data[j+k] = byte(v >> (8 * k))
				}
			}
		}
		must(s.t, os.WriteFile(filepath.Join(dir, name), data, 0o664))
		total += n
	}
	db := s.context(uri).Site.DBName
	_, err := s.db.Exec("CREATE TABLE `" + db + "`.bench_rows (id INT PRIMARY KEY AUTO_INCREMENT, title VARCHAR(200), body TEXT, created DATETIME DEFAULT NOW())")
	must(s.t, err)
	const perRow, perInsert = 1000, 200
	body := make([]byte, perRow)
	for rows := 0; rows*perRow < dbMB<<20; rows += perInsert {
		var q strings.Builder
		q.WriteString("INSERT INTO `" + db + "`.bench_rows (title, body) VALUES ")
		args := make([]any, 0, 2*perInsert)
		for j := range perInsert {
			if j > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?, ?)")
			words(rng, body)
			args = append(args, fmt.Sprintf("Post %d", rows+j), string(body))
		}
		_, err := s.db.Exec(q.String(), args...)
		must(s.t, err)
	}
}

var vocabulary = strings.Fields("aegir hosting site platform server backup restore migrate verify nginx mariadb wordpress " +
	"the of and to in is for on with as by at from this that it be are was an or which one all can more has")

// words fills b with space-separated words of a small vocabulary.
func words(rng *rand.Rand, b []byte) {
	i := 0
	for i < len(b) {
		w := vocabulary[rng.IntN(len(vocabulary))]
		i += copy(b[i:], w)
		if i < len(b) {
			b[i] = ' '
			i++
		}
	}
}

// dropDatabases removes the databases and users of the stack's sites.
func (s *wpStack) dropDatabases() {
	rows, err := s.db.Query("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?", "%"+s.token+"%")
	if err == nil {
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		rows.Close()
		for _, n := range names {
			s.db.Exec("DROP DATABASE `" + n + "`")
		}
	}
	rows, err = s.db.Query("SELECT CONCAT('`', user, '`@`', host, '`') FROM mysql.user WHERE user LIKE ?", "%"+s.token+"%")
	if err == nil {
		var users []string
		for rows.Next() {
			var u string
			rows.Scan(&u)
			users = append(users, u)
		}
		rows.Close()
		for _, u := range users {
			s.db.Exec("DROP USER " + u)
		}
	}
}
