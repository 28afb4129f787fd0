package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/hosting"
	"github.com/aegir-hosting/aegir/internal/teststack"
)

// frontEnd is a running `aegir serve` of the stack.
type frontEnd struct {
	s     *stack
	cmd   *exec.Cmd
	base  string
	token string
	out   *bytes.Buffer
}

// serve starts `aegir serve` on a free port; token is the admin's API
// token: "" on the first start, which makes the admin user (and prints no
// secret), and then a token made with `aegir token create` (pass it again
// on restarts).
func (s *stack) serve(token string) *frontEnd {
	s.t.Helper()
	return s.serveAs(token, "e2e")
}

// serveAs starts `aegir serve` as the dispatcher worker, with extra
// arguments (another --database).
func (s *stack) serveAs(token, worker string, extra ...string) *frontEnd {
	s.t.Helper()
	listen := fmt.Sprintf("127.0.0.1:%d", teststack.FreePort(s.t))
	if i := slices.Index(extra, "--listen"); i >= 0 { // an address the test chose
		listen, extra = extra[i+1], slices.Delete(slices.Clone(extra), i, i+2)
	}
	f := &frontEnd{s: s, base: "http://" + listen, token: token, out: &bytes.Buffer{}}
	f.cmd = exec.Command(aegirBin, append([]string{"serve", "--listen", listen, "--workers", "4", "--worker", worker}, extra...)...)
	f.cmd.Env = append(os.Environ(), "AEGIR_HOME="+s.home, "AEGIR_ALLOW_ROOT=1")
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	f.cmd.Stderr = f.out
	if err := f.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		f.cmd.Process.Kill()
		f.cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		if strings.Contains(line, hosting.TokenPrefix) {
			s.t.Fatalf("aegir serve printed a secret: %s", line)
		}
		if strings.HasPrefix(line, "serving ") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if f.token == "" {
		args := []string{"token", "create", "admin", "--name", "e2e"}
		if i := slices.Index(extra, "--database"); i >= 0 {
			args = append(args, extra[i:i+2]...)
		}
		f.token = strings.TrimSpace(s.mustAegir(args...))
	}
	return f
}

// call makes an API request and decodes the JSON answer.
func (f *frontEnd) call(method, path string, body any) (int, map[string]any) {
	f.s.t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.base+path, r)
	if err != nil {
		f.s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.s.t.Fatalf("%s %s: %v\nserve stderr:\n%s", method, path, err, f.out)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// must makes a request that must answer want.
func (f *frontEnd) must(want int, method, path string, body any) map[string]any {
	f.s.t.Helper()
	code, out := f.call(method, path, body)
	if code != want {
		f.s.t.Fatalf("%s %s = %d, want %d: %v", method, path, code, want, out)
	}
	return out
}

// waitTask waits for a task to end and fails unless it succeeded.
func (f *frontEnd) waitTask(answer map[string]any) map[string]any {
	f.s.t.Helper()
	task, _ := answer["task"].(map[string]any)
	if task == nil {
		f.s.t.Fatalf("no task in %v", answer)
	}
	id := fmt.Sprint(task["id"])
	out := f.waitStatus(id, "success", "warning", "failed", "cancelled")
	if t := taskOf(out); t["status"] != "success" && t["status"] != "warning" {
		f.s.t.Fatalf("task %s (%v) ended %v: %v", id, t["type"], t["status"], out)
	}
	return out
}

// taskOf returns the task of an answer that holds one, or the answer.
func taskOf(out map[string]any) map[string]any {
	if t, ok := out["task"].(map[string]any); ok {
		return t
	}
	return out
}

// waitStatus polls a task until its status is one of want.
func (f *frontEnd) waitStatus(id string, want ...string) map[string]any {
	f.s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		_, out := f.call("GET", "/api/tasks/"+id, nil)
		for _, w := range want {
			if taskOf(out)["status"] == w {
				return out
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.s.t.Fatalf("task %s did not reach %v\nserve stderr:\n%s", id, want, f.out)
	return nil
}

// TestAPIRunsTheSiteLifecycleOnTheRealStack drives `aegir serve` through
// its REST API: platforms and a WordPress site created over HTTP install
// at once, serve, and back up, migrate, clone and delete as from the CLI.
// Then the server is killed in the middle of a task and restarted.
func TestAPIRunsTheSiteLifecycleOnTheRealStack(t *testing.T) {
	s := newStack(t)
	s.setup()
	s.mustAegir("hosting-import", "@server_master")
	f := s.serve("")

	roots := map[string]string{}
	for _, name := range []string{"wp", "wpnew"} {
		roots[name] = filepath.Join(s.home, "platforms", name)
		if err := teststack.CopyTree("/usr/share/wordpress", roots[name]); err != nil {
			t.Fatal(err)
		}
		f.waitTask(f.must(201, "POST", "/api/platforms", map[string]any{"name": "platform_" + name, "root": roots[name]}))
	}
	if _, p := f.call("GET", "/api/platforms/platform_wp", nil); !strings.Contains(fmt.Sprint(p), "wordpress") {
		t.Fatalf("platform verify did not record the app: %v", p)
	}

	uri := "api." + s.token + ".test"
	start := time.Now()
	created := f.must(201, "POST", "/api/sites", map[string]any{"uri": uri, "platform": "@platform_wp"})
	install := f.waitTask(created)
	t.Logf("install through the API took %s from the request", time.Since(start).Round(time.Millisecond))
	s.mustServe(s.url(uri, "/"), uri)
	if !strings.Contains(fmt.Sprint(install), "login_link") {
		t.Fatalf("install result has no login link: %v", install)
	}
	marker := "api-" + s.token
	post := s.wpPost(roots["wp"], uri, marker)

	f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "backup"}))
	// The two tasks added through the catalog alone, queued like any other.
	s.wpPHP(roots["wp"], uri, `set_transient('aegir_api', 'kept', 3600);`)
	f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "flush-cache"}))
	if out := s.wpPHP(roots["wp"], uri, `echo var_export(get_transient('aegir_api'), true);`); out != "false" {
		t.Fatalf("a transient survived flush-cache through the API: %s", out)
	}
	f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "update-db"}))
	f.must(400, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "update-db", "args": map[string]string{"force": "true"}})
	f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "migrate", "args": map[string]string{"platform": "platform_wpnew"}}))
	s.mustServe(s.url(uri, "/?p="+post), marker)
	if _, err := os.Stat(filepath.Join(roots["wpnew"], "sites", uri)); err != nil {
		t.Fatalf("the migrated site is not on the new platform: %v", err)
	}
	if _, site := f.call("GET", "/api/sites/"+uri, nil); !strings.Contains(fmt.Sprint(site), "platform_wpnew") {
		t.Fatalf("the site record was not moved: %v", site)
	}

	clone := "apiclone." + s.token + ".test"
	f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "clone", "args": map[string]string{"new_uri": clone}}))
	s.mustServe(s.url(clone, "/?p="+post), marker)
	f.must(200, "GET", "/api/sites/"+clone, nil)

	f.waitTask(f.must(201, "POST", "/api/sites/"+clone+"/tasks", map[string]any{"type": "disable"}))
	f.waitTask(f.must(202, "DELETE", "/api/sites/"+clone, nil))
	if code, _ := s.get(s.url(clone, "/")); code != 404 {
		t.Fatalf("the deleted clone answers %d", code)
	}
	s.mustServe(s.url(uri, "/?p="+post), marker)

	// Kill the server while a task runs; after a restart the task is failed,
	// not left processing, the site still serves and new tasks run.
	long := f.must(201, "POST", "/api/servers/server_master/tasks", map[string]any{"type": "noop", "args": map[string]string{"sleep_ms": "20000"}})
	id := fmt.Sprint(long["task"].(map[string]any)["id"])
	f.waitStatus(id, "processing")
	f.cmd.Process.Kill()
	f.cmd.Wait()
	f = s.serve(f.token)
	dead := f.waitStatus(id, "failed")
	if !strings.Contains(fmt.Sprint(dead), "died") {
		t.Fatalf("the orphaned task's log does not say what happened: %v", dead)
	}
	f.waitTask(f.must(201, "POST", "/api/sites/"+uri+"/tasks", map[string]any{"type": "verify"}))
	s.mustServe(s.url(uri, "/?p="+post), marker)
}
