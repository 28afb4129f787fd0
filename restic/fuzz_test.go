package restic

import (
	"strings"
	"testing"
)

// FuzzRepository: an address that parses is one restic and ssh read as
// meant: no white space (restic splits sftp.command on it), no option
// that ssh would take from a host or user, no credentials in it.
func FuzzRepository(f *testing.F) {
	for _, s := range []string{
		"s3:http://127.0.0.1:9000/bucket", "s3:https://s3.example.net/aegir/prefix",
		"sftp:backup@host.example:/srv/aegir", "sftp://root@127.0.0.1:2222//tmp/repo",
		"sftp://-oProxyCommand=x@host//p", "sftp:u@-oProxyCommand=id:/p", "s3:http://k:s@host/b",
		"sftp:u@h:/p q", "local:/tmp/x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, repo string) {
		tgt, err := parseRepository("repository", repo)
		if err != nil {
			if !strings.Contains(err.Error(), "repository") {
				t.Fatalf("the error names no field: %v", err)
			}
			return
		}
		for _, part := range []string{tgt.user, tgt.host, tgt.path} {
			if strings.ContainsAny(part, " \t\n\r\"'\\$`;|&") || strings.HasPrefix(part, "-") {
				t.Fatalf("%q parses to a part a shell or ssh would misread: %+v", repo, tgt)
			}
		}
		if tgt.kind == "sftp" && (tgt.user == "" || !strings.HasPrefix(tgt.path, "/")) {
			t.Fatalf("%q: %+v", repo, tgt)
		}
	})
}
