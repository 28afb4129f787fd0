package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir/hosting"
)

// syncBuffer is an output stream tests read while a command writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testMain returns a Main on a private $AEGIR_HOME.
func testMain(home string) (*Main, *syncBuffer, *syncBuffer) {
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	env := map[string]string{"AEGIR_HOME": home, "AEGIR_ALLOW_ROOT": "1"}
	return &Main{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr,
		Getenv: func(k string) string { return env[k] }, Geteuid: os.Geteuid}, stdout, stderr
}

var (
	servingLine = regexp.MustCompile(`serving http://([0-9.:]+)/`)
	tokenLine   = regexp.MustCompile(`(?m)^(aegir_[A-Za-z0-9_-]{43})$`)
)

// startServe runs aegir serve on a free port until the test ends and
// returns its address and what it printed.
func startServe(t *testing.T, home string) (addr string, stdout *syncBuffer, stop func() error) {
	t.Helper()
	m, stdout, stderr := testMain(home)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--workers", "2"}) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("serve did not stop within 20s")
		}
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingLine.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stdout, stop
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s%s", err, stdout, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start:\n%s%s", stdout, stderr)
	return "", nil, nil
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

func TestServeAnswersAndTokensWork(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	addr, stdout, stop := startServe(t, home)
	base := "http://" + addr

	status, body := get(t, base+"/api/openapi.json", "")
	var doc map[string]any
	if status != 200 || json.Unmarshal(body, &doc) != nil || doc["openapi"] == nil {
		t.Fatalf("openapi.json: %d %s", status, body)
	}
	// The first start made the admin user and printed no secret (its
	// output goes to a log file): it says how to get a token.
	if tokenLine.MatchString(stdout.String()) || len(hosting.FindSecrets([]byte(stdout.String()))) > 0 ||
		!strings.Contains(stdout.String(), "aegir token create admin") {
		t.Fatalf("first start printed a secret or no hint:\n%s", stdout)
	}
	tm, out, errOut := testMain(home)
	if err := tm.Run(t.Context(), []string{"token", "create", "admin", "--name", "initial"}); err != nil {
		t.Fatalf("token create: %v\n%s", err, errOut)
	}
	admin := strings.TrimSpace(out.String())
	if status, body := get(t, base+"/api/sites", admin); status != 200 {
		t.Fatalf("sites with the admin token: %d %s", status, body)
	}
	if status, _ := get(t, base+"/api/sites", ""); status != 401 {
		t.Fatalf("sites without a token: %d", status)
	}
	if status, body := get(t, base+"/metrics", ""); status != 200 || !bytes.Contains(body, []byte("aegir_task_queue_depth")) {
		t.Fatalf("metrics: %d", status)
	}

	// token create, list and revoke work beside the running server.
	tm, out, errOut = testMain(home)
	if err := tm.Run(t.Context(), []string{"token", "create", "admin", "--name", "ci"}); err != nil {
		t.Fatalf("token create: %v\n%s", err, errOut)
	}
	secret := strings.TrimSpace(out.String())
	if !tokenLine.MatchString(secret) {
		t.Fatalf("token create printed %q", secret)
	}
	if status, body := get(t, base+"/api/tasks", secret); status != 200 {
		t.Fatalf("tasks with the new token: %d %s", status, body)
	}
	tm, out, _ = testMain(home)
	if err := tm.Run(t.Context(), []string{"token", "list", "admin"}); err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile(`(?m)^(\d+)\s+ci\s`).FindStringSubmatch(out.String())
	if listed == nil || !strings.Contains(out.String(), "initial") {
		t.Fatalf("token list:\n%s", out)
	}
	tm, _, _ = testMain(home)
	if err := tm.Run(t.Context(), []string{"token", "revoke", listed[1]}); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, base+"/api/tasks", secret); status != 401 {
		t.Fatalf("revoked token: %d", status)
	}
	// A leaked secret is revoked from standard input, among other text.
	tm, out, _ = testMain(home)
	tm.Stdin = strings.NewReader("time=... msg=oops token=" + admin + "\n")
	if err := tm.Run(t.Context(), []string{"token", "revoke", "-"}); err != nil || !strings.Contains(out.String(), "(initial)") {
		t.Fatalf("token revoke -: %v %s", err, out)
	}
	if status, _ := get(t, base+"/api/sites", admin); status != 401 {
		t.Fatalf("revoked leaked token: %d", status)
	}
	tm, _, _ = testMain(home)
	if err := tm.Run(t.Context(), []string{"token", "create", "nobody"}); err == nil {
		t.Fatal("token create for a user that does not exist succeeded")
	}

	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	// A second start makes no other admin token.
	_, stdout, stop = startServe(t, home)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if tokenLine.MatchString(stdout.String()) {
		t.Fatalf("second start printed a token:\n%s", stdout)
	}
}

func TestServeAndTokenUsage(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	for _, args := range [][]string{
		{"serve", "--workers", "0"},
		{"serve", "extra"},
		{"serve", "--colour", "red"},
		{"token"},
		{"token", "create"},
		{"token", "frob", "x"},
		{"token", "revoke", "abc"},
	} {
		m, _, _ := testMain(home)
		var usage *usageError
		if err := m.Run(t.Context(), args); !errors.As(err, &usage) {
			t.Errorf("aegir %v: %v, want a usage error", args, err)
		}
	}
	// Refused as root unless allowed, like every back-end command.
	m, _, _ := testMain(home)
	m.Getenv = func(k string) string { return map[string]string{"AEGIR_HOME": home}[k] }
	m.Geteuid = func() int { return 0 }
	if err := m.Run(t.Context(), []string{"serve"}); err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("serve as root: %v", err)
	}
}

// TestServeKnowsTheContextsTheCLIMade: a server and a platform saved with
// the CLI before serve starts are in the front end at once (no
// hosting-import), and one saved while it runs joins within seconds.
func TestServeKnowsTheContextsTheCLIMade(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	save := func(args ...string) {
		t.Helper()
		m, _, errOut := testMain(home)
		if err := m.Run(t.Context(), append([]string{"save"}, args...)); err != nil {
			t.Fatalf("save %v: %v %s", args, err, errOut)
		}
	}
	save("@server_master", "--context_type=server", "--http_service_type=null", "--db_service_type=null")
	save("@platform_cli", "--context_type=platform", "--root=/var/aegir/platforms/cli")
	addr, _, _ := startServe(t, home)
	base := "http://" + addr
	tm, out, _ := testMain(home)
	if err := tm.Run(t.Context(), []string{"token", "create", "admin"}); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out.String())
	waitFor := func(path string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			status, body := get(t, base+path, token)
			if status == 200 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %d %s", path, status, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("/api/servers/server_master")
	waitFor("/api/platforms/platform_cli")
	save("@platform_later", "--context_type=platform", "--root=/var/aegir/platforms/later")
	waitFor("/api/platforms/platform_later")
}
