package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aegir-hosting/aegir"
	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Default timeouts: an unreachable server fails a task in seconds, and no
// remote command holds a task forever.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultCommandTimeout = 30 * time.Minute
)

// Target is one server as SSH reaches it.
type Target struct {
	Name string // the server context's name, for errors
	Host string
	Port int
	User string
}

// Addr returns host:port.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// TargetOf returns how the server context srv is reached: remote_host,
// ssh_port and ssh_user with their defaults.
func TargetOf(name string, srv *aegir.Server) Target {
	t := Target{Name: name, Host: srv.RemoteHost, Port: srv.SSHPort, User: srv.SSHUser}
	if t.Port == 0 {
		t.Port = aegir.DefaultSSHPort
	}
	if t.User == "" {
		t.User = aegir.DefaultSSHUser
	}
	return t
}

// Pool holds one SSH connection per target, shared by the sessions of
// every task that runs commands there, and dials again after a drop.
type Pool struct {
	// KeyFile is the private key that logs in; KnownHosts pins host keys.
	KeyFile, KnownHosts string
	// ConnectTimeout bounds dialing and the handshake; CommandTimeout
	// each command (zero: the defaults).
	ConnectTimeout, CommandTimeout time.Duration
	// Local runs rsync on this machine for Push and Fetch.
	Local aegir.Runner
	// Learn pins the host key of a server known_hosts does not know yet
	// (bootstrap); a changed key is refused either way.
	Learn bool

	mu      sync.Mutex
	clients map[Target]*xssh.Client
	signer  xssh.Signer
}

// NewPool returns a pool that logs in with the master's key and pins host
// keys in its known_hosts ($AEGIR_HOME/.ssh).
func NewPool(paths aegir.Paths, local aegir.Runner) *Pool {
	return &Pool{KeyFile: paths.SSHKey(), KnownHosts: paths.KnownHosts(), Local: local}
}

// Close closes every connection.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, c := range p.clients {
		c.Close()
		delete(p.clients, t)
	}
	return nil
}

func (p *Pool) connectTimeout() time.Duration {
	if p.ConnectTimeout > 0 {
		return p.ConnectTimeout
	}
	return DefaultConnectTimeout
}

func (p *Pool) commandTimeout() time.Duration {
	if p.CommandTimeout > 0 {
		return p.CommandTimeout
	}
	return DefaultCommandTimeout
}

func (p *Pool) loadSigner() (xssh.Signer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.signer != nil {
		return p.signer, nil
	}
	s, err := LoadKey(p.KeyFile)
	if err != nil {
		return nil, err
	}
	p.signer = s
	return s, nil
}

// LoadKey reads an unencrypted private key in OpenSSH's format.
func LoadKey(file string) (xssh.Signer, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "ssh key: %v (aegir setup makes it)", err)
	}
	s, err := xssh.ParsePrivateKey(pem)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINVALID, "ssh key %s: %v", file, err)
	}
	return s, nil
}

// client returns the pooled connection to t, dialing one when there is
// none.
func (p *Pool) client(ctx context.Context, t Target) (*xssh.Client, error) {
	p.mu.Lock()
	c := p.clients[t]
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	signer, err := p.loadSigner()
	if err != nil {
		return nil, err
	}
	c, err = Dial(ctx, t, signer, p.KnownHosts, p.Learn, p.connectTimeout())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.clients[t]; old != nil {
		// Another session dialed meanwhile: keep one connection.
		c.Close()
		return old, nil
	}
	if p.clients == nil {
		p.clients = map[Target]*xssh.Client{}
	}
	p.clients[t] = c
	return c, nil
}

// drop forgets c when it is still t's connection, so the next session
// dials again.
func (p *Pool) drop(t Target, c *xssh.Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clients[t] == c {
		delete(p.clients, t)
	}
	c.Close()
}

// session opens a session on t's connection, dialing again once when the
// pooled connection has dropped.
func (p *Pool) session(ctx context.Context, t Target) (*xssh.Session, error) {
	for attempt := 0; ; attempt++ {
		c, err := p.client(ctx, t)
		if err != nil {
			return nil, err
		}
		s, err := c.NewSession()
		if err == nil {
			return s, nil
		}
		p.drop(t, c)
		if attempt > 0 {
			return nil, unreachable(t, err)
		}
	}
}

// Dial connects to t as its user with signer, checking the host key
// against knownHostsFile. With learn, a host the file does not know yet is
// added to it (bootstrap); a known host whose key changed is refused
// either way, naming both fingerprints.
func Dial(ctx context.Context, t Target, signer xssh.Signer, knownHostsFile string, learn bool, timeout time.Duration) (*xssh.Client, error) {
	check, err := hostKeyCheck(t, knownHostsFile, learn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", t.Addr())
	if err != nil {
		return nil, unreachable(t, err)
	}
	// The handshake is bounded too: a server that accepts and then says
	// nothing must not hold the task.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	cc, chans, reqs, err := xssh.NewClientConn(conn, t.Addr(), &xssh.ClientConfig{
		User:            t.User,
		Auth:            []xssh.AuthMethod{xssh.PublicKeys(signer)},
		HostKeyCallback: check,
		Timeout:         timeout,
	})
	if err != nil {
		conn.Close()
		var hk *hostKeyError
		if errors.As(err, &hk) {
			return nil, hk.err
		}
		return nil, unreachable(t, err)
	}
	conn.SetDeadline(time.Time{})
	return xssh.NewClient(cc, chans, reqs), nil
}

// hostKeyError carries the host key check's own error through the SSH
// handshake's wrapping.
type hostKeyError struct{ err error }

func (e *hostKeyError) Error() string { return e.err.Error() }

// knownHostsMu serializes appends to known_hosts files.
var knownHostsMu sync.Mutex

func hostKeyCheck(t Target, file string, learn bool) (xssh.HostKeyCallback, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "known_hosts: %v", err)
	}
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			return nil, aegir.Errorf(aegir.EINTERNAL, "known_hosts: %v", err)
		}
	}
	known, err := knownhosts.New(file)
	if err != nil {
		return nil, aegir.Errorf(aegir.EINTERNAL, "known_hosts %s: %v", file, err)
	}
	return func(hostname string, remote net.Addr, key xssh.PublicKey) error {
		err := known(hostname, remote, key)
		var ke *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) > 0:
			return &hostKeyError{aegir.Errorf(aegir.ECONFLICT,
				"server %s (%s): host key changed: pinned %s, offered %s; if the server was reinstalled, remove its line from %s",
				t.Name, t.Addr(), xssh.FingerprintSHA256(ke.Want[0].Key), xssh.FingerprintSHA256(key), file)}
		case errors.As(err, &ke) && learn:
			knownHostsMu.Lock()
			defer knownHostsMu.Unlock()
			f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0o600)
			if err != nil {
				return &hostKeyError{aegir.Errorf(aegir.EINTERNAL, "known_hosts: %v", err)}
			}
			defer f.Close()
			line := knownhosts.Line([]string{knownhosts.Normalize(t.Addr())}, key) + "\n"
			if _, err := f.WriteString(line); err != nil {
				return &hostKeyError{aegir.Errorf(aegir.EINTERNAL, "known_hosts: %v", err)}
			}
			return nil
		case errors.As(err, &ke):
			return &hostKeyError{aegir.Errorf(aegir.EINVALID,
				"server %s (%s): host key %s is not pinned in %s; run aegir bootstrap @%s",
				t.Name, t.Addr(), xssh.FingerprintSHA256(key), file, t.Name)}
		default:
			return &hostKeyError{aegir.Errorf(aegir.EINTERNAL, "server %s: host key check: %v", t.Name, err)}
		}
	}, nil
}

// unreachable names the server a connection failed to.
func unreachable(t Target, err error) error {
	return aegir.Errorf(aegir.EINTERNAL, "server %s (%s@%s) is unreachable: %v", t.Name, t.User, t.Addr(), err)
}

// Runner runs commands on one server over the pool's connection to it.
type Runner struct {
	pool   *Pool
	target Target
}

// Runner returns the runner of target t.
func (p *Pool) Runner(t Target) *Runner { return &Runner{pool: p, target: t} }

// Run runs cmd on the server and returns its standard output; a failure
// carries the server's name, the command line and its standard error. The
// command is killed when ctx ends or the pool's command timeout passes.
func (r *Runner) Run(ctx context.Context, cmd aegir.Command) ([]byte, error) {
	line, err := Line(cmd)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.pool.commandTimeout())
	defer cancel()
	s, err := r.pool.session(ctx, r.target)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	if cmd.Stdout != nil {
		s.Stdout = cmd.Stdout
	}
	if cmd.Stdin != nil {
		s.Stdin = cmd.Stdin
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(line) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		s.Signal(xssh.SIGKILL)
		s.Close()
		err = fmt.Errorf("server %s: %w", r.target.Name, ctx.Err())
		<-done
	}
	if err != nil {
		var exit *xssh.ExitError
		if !errors.As(err, &exit) && ctx.Err() == nil {
			// No exit status: the connection went away mid-command.
			err = unreachable(r.target, err)
		}
		return stdout.Bytes(), fmt.Errorf("on %s: %w", r.target.Name, aegir.CommandFailed(cmd.Args, err, stderr.Bytes(), stdout.Bytes()))
	}
	return stdout.Bytes(), nil
}

var (
	_ aegir.Runner = (*Runner)(nil)
	_ io.Closer    = (*Pool)(nil)
)
