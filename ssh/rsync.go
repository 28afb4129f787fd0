package ssh

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// ioTimeout is rsync's --timeout: a transfer that moves nothing for this
// long has lost its server.
const ioTimeout = 120

// Push copies the local directory src to the directory dst on t with
// rsync over SSH (the fleet passes the same absolute path for both, as
// Aegir does), deleting there what is gone here except the paths exclude
// names (rsync patterns anchored at the directory, such as
// "/sites/*/files"), which are neither sent nor deleted.
func (p *Pool) Push(ctx context.Context, t Target, src, dst string, exclude []string) error {
	return p.rsync(ctx, t, src, dst, exclude, true)
}

// Fetch copies the directory src of t to the local directory dst, deleting
// here what is gone there, except exclude.
func (p *Pool) Fetch(ctx context.Context, t Target, src, dst string, exclude []string) error {
	return p.rsync(ctx, t, dst, src, exclude, false)
}

// rsync moves local to remote (push) or back.
func (p *Pool) rsync(ctx context.Context, t Target, local, remoteDir string, exclude []string, push bool) error {
	for _, d := range []string{local, remoteDir} {
		if !strings.HasPrefix(d, "/") || strings.ContainsRune(d, 0) {
			return aegir.Errorf(aegir.EINTERNAL, "rsync of %q: not an absolute path", d)
		}
	}
	shell, err := p.rsyncShell(t)
	if err != nil {
		return err
	}
	// The pool's connection first: it checks the pinned host key with an
	// error naming both fingerprints, and fails fast on a server that is
	// down, before OpenSSH says it its own way. It is reused after.
	if _, err := p.client(ctx, t); err != nil {
		return err
	}
	local = strings.TrimSuffix(local, "/") + "/"
	host := t.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	remote := t.User + "@" + host + ":" + strings.TrimSuffix(remoteDir, "/") + "/"
	// -s (--protect-args) sends the paths to the remote rsync unparsed by
	// its shell; --mkpath makes the same path there on a first push.
	args := []string{"rsync", "-a", "-s", "--delete", "--mkpath", "--timeout=" + strconv.Itoa(ioTimeout), "-e", shell}
	for _, x := range exclude {
		args = append(args, "--exclude="+x)
	}
	args = append(args, "--")
	if push {
		args = append(args, local, remote)
	} else {
		args = append(args, remote, local)
	}
	if _, err := p.Local.Run(ctx, aegir.Command{Args: args}); err != nil {
		verb := "push to"
		if !push {
			verb = "fetch from"
		}
		return fmt.Errorf("%s server %s (%s): %w", verb, t.Name, net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), err)
	}
	return nil
}

// rsyncShell is rsync's -e: OpenSSH with the pool's key and pins, never
// asking anything and never accepting an unknown or changed host key. rsync
// splits it on spaces and ssh expands % in file options, so paths holding
// either (or a quote) are refused rather than quoted.
func (p *Pool) rsyncShell(t Target) (string, error) {
	for _, f := range []string{p.KeyFile, p.KnownHosts} {
		if strings.ContainsAny(f, " \t\n'\"\\%") {
			return "", aegir.Errorf(aegir.EINVALID, "ssh file %q: a path with spaces, quotes or %% cannot be given to rsync's ssh", f)
		}
	}
	return strings.Join([]string{"ssh", "-i", p.KeyFile, "-p", strconv.Itoa(t.Port), "-l", t.User,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + p.KnownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=" + strconv.Itoa(int(p.connectTimeout().Seconds()))}, " "), nil
}
