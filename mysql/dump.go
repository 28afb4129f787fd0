package mysql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aegir-hosting/aegir"
)

// optionFilePrefix starts the name of the temporary option file that
// hands the administrator's credentials to mysqldump and the mysql client.
const optionFilePrefix = "aegir-mysql-"

// dumpOptions make a dump that restores as it was: one consistent
// snapshot of InnoDB tables without locking them, rows streamed one at a
// time, routines and triggers included, binary columns in hex so no client
// character set can mangle them, and no tablespace statements (which need
// the PROCESS privilege and do not belong in a site's dump).
var dumpOptions = []string{
	"--single-transaction", "--quick", "--routines", "--triggers",
	"--hex-blob", "--no-tablespaces", "--default-character-set=utf8mb4",
}

// importOptions run the SQL as sent: --binary-mode keeps the client from
// reading client commands in it (\! runs a shell command, source reads a
// file) and --local-infile=0 from sending a file of this machine for LOAD
// DATA LOCAL, so a dump cannot do more than its SQL on the server. The
// client stops at the first error.
var importOptions = []string{"--binary-mode", "--local-infile=0", "--default-character-set=utf8mb4"}

// Dump writes an SQL dump of the database to w as mysqldump produces it,
// streamed: the dump is never held in memory. A database that does not
// exist is an ENOTFOUND error. When the dump fails part of it may already
// have been written to w. The administrator's credentials reach mysqldump
// in a temporary option file readable by its owner only, removed before
// Dump returns.
func (s *Service) Dump(ctx context.Context, name string, w io.Writer) error {
	if err := s.validateManaged(name); err != nil {
		return err
	}
	if w == nil {
		return aegir.Errorf(aegir.EINTERNAL, "dump database %s: no writer", name)
	}
	if err := s.requireDatabase(ctx, name); err != nil {
		return err
	}
	bin, err := findCommand("mysqldump", "mariadb-dump")
	if err != nil {
		return err
	}
	cw := &countingWriter{w: w}
	err = s.run(ctx, bin, dumpOptions, name, aegir.Command{Stdout: cw})
	switch {
	case cw.err != nil:
		// The writer failed first: mysqldump then dies of the closed pipe,
		// and its own message says less than the writer's error.
		return fmt.Errorf("dump database %s on db server %s: writing the dump: %w", name, s.addr, cw.err)
	case err != nil:
		return s.commandError(ctx, "dump database", name, err)
	}
	s.log.Infof("dumped database %s on db server %s (%d bytes)", name, s.addr, cw.n)
	return nil
}

// Import runs the SQL read from r in the database with the mysql client,
// streamed. It stops at the first failing statement: the error is EINVALID
// and carries the client's message with the line number, and the
// statements before it stay applied. A database that does not exist is an
// ENOTFOUND error. The SQL runs as the administrator, so it must come from
// a dump aegir made or a user it trusts with the server.
func (s *Service) Import(ctx context.Context, name string, r io.Reader) error {
	if err := s.validateManaged(name); err != nil {
		return err
	}
	if r == nil {
		return aegir.Errorf(aegir.EINTERNAL, "import into database %s: no reader", name)
	}
	if err := s.requireDatabase(ctx, name); err != nil {
		return err
	}
	bin, err := findCommand("mysql", "mariadb")
	if err != nil {
		return err
	}
	er := &errReader{r: r}
	// Statements may print results; they are not kept.
	err = s.run(ctx, bin, importOptions, name, aegir.Command{Stdin: er, Stdout: io.Discard})
	switch {
	case er.err != nil:
		// The client saw the end of its input early and may even have
		// succeeded: the import is incomplete either way.
		return fmt.Errorf("import into database %s on db server %s: reading the SQL: %w", name, s.addr, er.err)
	case err != nil:
		if m := s.sqlError(err); m != "" && ctx.Err() == nil {
			return aegir.Errorf(aegir.EINVALID, "import into database %s on db server %s stopped at a failing statement (those before it were run): %s", name, s.addr, m)
		}
		return s.commandError(ctx, "import into database", name, err)
	}
	s.log.Infof("imported SQL into database %s on db server %s", name, s.addr)
	return nil
}

// validateManaged checks a database name before it reaches a command
// line: well formed and not the server's own.
func (s *Service) validateManaged(name string) error {
	if err := validateSiteDatabase(name); err != nil {
		return err
	}
	if s.runner == nil {
		return aegir.Errorf(aegir.EINTERNAL, "db server %s: the db service was built without a command runner", s.addr)
	}
	return nil
}

// validateSiteDatabase checks a database name is well formed and not one
// of the server's own.
func validateSiteDatabase(name string) error {
	if err := validateDatabase(name); err != nil {
		return err
	}
	if slices.Contains(systemDatabases, name) {
		return aegir.FieldErrorf("db_name", "%q is a system database", name)
	}
	return nil
}

// requireDatabase returns an ENOTFOUND error when the database does not
// exist, so the client is never started for nothing.
func (s *Service) requireDatabase(ctx context.Context, name string) error {
	ok, err := s.DatabaseExists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return s.notFound(name)
	}
	return nil
}

func (s *Service) notFound(name string) error {
	return aegir.Errorf(aegir.ENOTFOUND, "database %s does not exist on db server %s", name, s.addr)
}

// run runs bin with the administrator's option file, opts and the
// database name. The option file is created for this run only and removed
// whatever happens.
func (s *Service) run(ctx context.Context, bin string, opts []string, name string, cmd aegir.Command) (err error) {
	path, err := s.writeOptionFile()
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("remove the temporary option file: %w", rerr)
		}
	}()
	// --defaults-extra-file must come first; it is read after the usual
	// option files, so it wins over a ~/.my.cnf of the runner's user.
	cmd.Args = append(append([]string{bin, "--defaults-extra-file=" + path}, opts...), "--", name)
	_, err = s.runner.Run(ctx, cmd)
	return err
}

// writeOptionFile writes the administrator's credentials to a new file in
// the temporary directory, readable by its owner only, and returns its
// path. The connection is forced over TCP to master_db's host and port, as
// the driver's own connection is, so "localhost" does not mean the socket.
func (s *Service) writeOptionFile() (string, error) {
	m := s.master
	var b strings.Builder
	b.WriteString("[client]\n")
	for _, kv := range [][2]string{
		{"user", m.User}, {"password", m.Password}, {"host", m.Host},
		{"port", strconv.Itoa(m.Port)}, {"protocol", "tcp"},
	} {
		v, err := optionValue(kv[1])
		if err != nil {
			return "", aegir.FieldErrorf("master_db", "%s %v", kv[0], err)
		}
		b.WriteString(kv[0] + "=" + v + "\n")
	}
	f, err := os.CreateTemp("", optionFilePrefix+"*.cnf")
	if err != nil {
		return "", fmt.Errorf("create the temporary option file: %w", err)
	}
	path := f.Name()
	// CreateTemp already makes it 0600; say so, whatever the umask.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(b.String())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("write the temporary option file: %w", err)
	}
	return path, nil
}

// optionValue quotes a value for a MariaDB/MySQL option file: in double
// quotes, "#" does not start a comment and spaces are kept; backslash,
// double quote and control characters are escaped the way the option file
// reader unescapes them. A NUL byte or another control character cannot
// be written.
func optionValue(v string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(v) {
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c < 0x20 || c == 0x7f {
				return "", errors.New("holds a control character an option file cannot carry")
			}
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	// The reader takes lines of at most 4 KiB.
	if b.Len() > 2048 {
		return "", errors.New("is too long for an option file")
	}
	return b.String(), nil
}

// findCommand returns the first of names found in PATH, or an EINVALID
// error naming them all. The option file is local, so the commands are
// looked up here too.
func findCommand(names ...string) (string, error) {
	for _, n := range names {
		if _, err := exec.LookPath(n); err == nil {
			return n, nil
		}
	}
	return "", aegir.Errorf(aegir.EINVALID, "none of %s is installed (the mariadb-client package has them)", strings.Join(names, ", "))
}

// unknownDatabase is the client's message for a database that does not
// exist (ER_BAD_DB_ERROR), for one dropped between the check and the run.
var unknownDatabase = regexp.MustCompile(`\b1049\b.*Unknown database`)

// sqlErrorLine is the mysql client's report of a failing statement: with
// the server's error number, or without one when the client itself could
// not read the input (an unknown client command).
var sqlErrorLine = regexp.MustCompile(`ERROR (?:(\d+) \([0-9A-Z]+\) )?at line \d+: [^\n]*`)

// sqlError returns the client's report of the statement that failed when
// the SQL is at fault, or "" when the failure is not the SQL's (the
// client's own errors, numbered 2000 to 2999, are lost connections and
// the like).
func (s *Service) sqlError(err error) string {
	all := sqlErrorLine.FindAllStringSubmatch(err.Error(), -1)
	if len(all) == 0 {
		return ""
	}
	m := all[len(all)-1]
	if n, _ := strconv.Atoi(m[1]); n >= 2000 && n < 3000 {
		return ""
	}
	return s.scrub(m[0])
}

// commandError turns a failed run into an error carrying the command's
// message, with the administrator's password masked should it ever appear
// there. It wraps the context's error when ctx ended (the runner killed
// the command), never the runner's error itself.
func (s *Service) commandError(ctx context.Context, what, name string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return &commandError{msg: fmt.Sprintf("%s %s on db server %s: %v (%s)", what, name, s.addr, cerr, s.scrub(err.Error())), cause: cerr}
	}
	if unknownDatabase.MatchString(err.Error()) {
		return s.notFound(name)
	}
	return &commandError{msg: fmt.Sprintf("%s %s on db server %s: %s", what, name, s.addr, s.scrub(err.Error()))}
}

// scrub masks the administrator's password in msg.
func (s *Service) scrub(msg string) string {
	if s.master.Password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, s.master.Password, "***")
}

// commandError is a failed mysqldump or mysql run, its message scrubbed.
type commandError struct {
	msg   string
	cause error
}

func (e *commandError) Error() string { return e.msg }
func (e *commandError) Unwrap() error { return e.cause }

// countingWriter counts what reaches w and keeps its first error.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

// errReader keeps the first error of r other than the end of input.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

var _ aegir.DBService = (*Service)(nil)
