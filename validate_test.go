package aegir

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateCommandRefusesWhatRunsOtherCode: a web server's test and
// reload commands are argument vectors of the web server's own programs;
// nothing that would run a shell or other code passes, with or without
// sudo.
func TestValidateCommandRefusesWhatRunsOtherCode(t *testing.T) {
	t.Parallel()
	for _, ok := range [][]string{
		nil,
		{"nginx", "-t"},
		{"sudo", "-n", "/usr/sbin/nginx", "-t"},
		{"sudo", "-n", "start-stop-daemon", "--stop", "--signal", "HUP", "--pidfile", "/run/nginx.pid", "--exec", "/usr/sbin/nginx"},
		{"apache2ctl", "configtest"},
		{"/usr/local/bin/reload-nginx"},
	} {
		if err := ValidateCommand("http_test_cmd", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range [][]string{
		{"sh", "-c", "id > /tmp/x"},
		{"/bin/bash", "-c", "id"},
		{"sudo", "-n", "sh", "-c", "id"},
		{"sudo", "-u", "root", "nginx"},
		{"sudo", "nginx", "-t"},
		{"env", "sh"},
		{"/usr/bin/python3", "-c", "print(1)"},
		{"python3.11", "-c", "1"},
		{"php8.2", "-r", "system('id');"},
		{"start-stop-daemon", "--start", "--exec", "/bin/sh"},
		{"nginx", "-t\nid"},
		{"../bin/sh"},
		{"nginx;id"},
		{"busybox", "sh"},
	} {
		err := ValidateCommand("http_test_cmd", bad)
		if err == nil || !strings.Contains(err.Error(), "http_test_cmd") {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
}

// FuzzValidateCommand: whatever it accepts runs no interpreter.
func FuzzValidateCommand(f *testing.F) {
	f.Add("sudo\x00-n\x00nginx\x00-t")
	f.Add("sh\x00-c\x00id")
	f.Add("/usr/bin/env\x00bash")
	f.Fuzz(func(t *testing.T, joined string) {
		argv := strings.Split(joined, "\x00")
		if ValidateCommand("http_test_cmd", argv) != nil {
			return
		}
		prog := argv
		if prog[0] == "sudo" {
			prog = prog[2:]
		}
		base := strings.TrimRight(strings.ToLower(filepath.Base(prog[0])), "0123456789.")
		if interpreters[base] {
			t.Fatalf("accepted %q, which runs %s", argv, base)
		}
		if strings.ContainsAny(joined, "\n\r") {
			t.Fatalf("accepted a control character: %q", argv)
		}
	})
}

// FuzzValidateNames: a site URI or context name that passes is safe in a
// path (one local element, no ".."), a shell word, an SQL identifier once
// quoted and a config file (no whitespace, quote, semicolon, brace or
// control character), and a URI is a name too.
func FuzzValidateNames(f *testing.F) {
	for _, s := range []string{"example.com", "www.a-b.example", "server_master", "../etc", "a;b", "a b", "x\n", "A.example", "a..b", "{x}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, check := range []func(string, string) error{ValidateURI, ValidateName} {
			if check("name", s) != nil {
				continue
			}
			if !filepath.IsLocal(s) || strings.Contains(s, "..") || strings.Contains(s, "/") {
				t.Fatalf("%q passes but is not one local path element", s)
			}
			if strings.ContainsFunc(s, func(r rune) bool {
				return r <= ' ' || r >= 0x7f || strings.ContainsRune("'\"`;{}$\\#*?[]()<>|&!~", r)
			}) {
				t.Fatalf("%q passes but holds a character a shell, SQL or config file would read", s)
			}
		}
		if ValidateURI("uri", s) == nil && ValidateName("name", s) != nil {
			t.Fatalf("%q is a valid URI but not a valid name", s)
		}
	})
}

// FuzzValidateHost: a remote_host that passes is one word for ssh, rsync
// and a grant: no option dash, no user or path part, nothing a shell reads.
func FuzzValidateHost(f *testing.F) {
	for _, s := range []string{"web1.example", "10.0.0.1", "fd00::1", "-oX", "a@b", "a:b/c", "fe80::1%eth0", "1.2.3.4 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateHost("remote_host", s) != nil {
			return
		}
		if strings.HasPrefix(s, "-") || strings.ContainsFunc(s, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune("'\"`;{}$\\#*?[]()<>|&!~@/%,=", r)
		}) {
			t.Fatalf("%q passes but holds a character ssh, rsync or a shell would read", s)
		}
	})
}
