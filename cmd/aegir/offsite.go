package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/restic"
	"github.com/aegir-hosting/aegir/sqlite"
)

// offsiteCommand sets up and inspects the off-site target: init creates a
// repository and prints its new key once, connect points a machine at an
// existing one (a disaster recovery), snapshots lists what is there, check
// checks it. S3 credentials come from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, never from the command line.
func (m *Main) offsiteCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "offsite", Short: "off-site backups (restic): init, connect, snapshots, check",
		GroupID: groupHosting, Args: cobra.ArbitraryArgs, RunE: chooseCommand}

	settings := func(c *cobra.Command) func() (*restic.Config, error) {
		repo := addOption(c.Flags(), "repo", "URL", "s3:http[s]://host[:port]/bucket, sftp:user@host:/path or sftp://user@host:port//path")
		identity := addOption(c.Flags(), "ssh_identity", "FILE", "the SSH key of an SFTP target (default ssh's)")
		known := addOption(c.Flags(), "ssh_known_hosts", "FILE", "the known_hosts file that names an SFTP target's host key (default ssh's)")
		var keep [3]*option
		for i, n := range []string{"daily", "weekly", "monthly"} {
			keep[i] = addOption(c.Flags(), "keep_"+n, "N", fmt.Sprintf("keep the newest snapshot of each of the last N %s periods (default %d, %d, %d)", n,
				restic.DefaultKeep.Daily, restic.DefaultKeep.Weekly, restic.DefaultKeep.Monthly))
		}
		return func() (*restic.Config, error) {
			if repo.value == "" {
				return nil, usageErrorf("usage: %s (--repo is required)", c.UseLine())
			}
			cfg := &restic.Config{Repository: repo.value, SSHIdentity: identity.value, SSHKnownHosts: known.value,
				S3AccessKeyID: m.Getenv("AWS_ACCESS_KEY_ID"), S3SecretAccessKey: m.Getenv("AWS_SECRET_ACCESS_KEY")}
			for i, n := range []*int{&cfg.Daily, &cfg.Weekly, &cfg.Monthly} {
				if keep[i].value == "" {
					continue
				}
				v, err := strconv.Atoi(keep[i].value)
				if err != nil {
					return nil, aegir.FieldErrorf(keep[i].name, "%q is not a number", keep[i].value)
				}
				*n = v
			}
			return cfg, cfg.Validate()
		}
	}

	init := &cobra.Command{Use: "init --repo=URL", Short: "create the off-site repository and print its key, shown only now", Args: takes(0)}
	initSettings := settings(init)
	init.RunE = func(c *cobra.Command, _ []string) error {
		if err := m.refuseRoot(); err != nil {
			return err
		}
		cfg, err := initSettings()
		if err != nil {
			return err
		}
		paths := m.paths(homeOption(c))
		key, err := restic.NewKey()
		if err != nil {
			return err
		}
		cfg.KeyFile = restic.KeyFile(paths)
		if err := restic.WriteKey(cfg.KeyFile, key); err != nil {
			return err
		}
		repo, err := restic.New(paths, *cfg, &local.Runner{})
		if err == nil {
			err = repo.Init(c.Context())
		}
		if err != nil {
			os.Remove(cfg.KeyFile) // it opens nothing
			return err
		}
		if err := restic.SaveConfig(paths, cfg); err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, key)
		fmt.Fprintf(m.Stderr, "created the off-site repository %s; its key, above, is shown only now and kept in %s (0600):\n"+
			"store a copy away from this machine: without it the off-site backups cannot be read\n", repo.Target(), cfg.KeyFile)
		return nil
	}

	connect := &cobra.Command{Use: "connect --repo=URL --key_file=FILE", Short: "use an existing off-site repository (on a new machine: before aegir recover)", Args: takes(0)}
	connectSettings := settings(connect)
	keyFile := addOption(connect.Flags(), "key_file", "FILE", "a file holding the repository's key (- reads it from standard input)")
	connect.RunE = func(c *cobra.Command, _ []string) error {
		if err := m.refuseRoot(); err != nil {
			return err
		}
		cfg, err := connectSettings()
		if err != nil {
			return err
		}
		if keyFile.value == "" {
			return usageErrorf("usage: %s (--key_file is required)", c.UseLine())
		}
		var key []byte
		if keyFile.value == "-" {
			key, err = io.ReadAll(io.LimitReader(m.Stdin, 4096))
		} else {
			key, err = os.ReadFile(keyFile.value)
		}
		if err != nil {
			return aegir.FieldErrorf("key_file", "%v", err)
		}
		paths := m.paths(homeOption(c))
		cfg.KeyFile = restic.KeyFile(paths)
		if err := restic.WriteKey(cfg.KeyFile, strings.TrimSpace(string(key))); err != nil {
			return err
		}
		repo, err := restic.New(paths, *cfg, &local.Runner{})
		var snaps []aegir.Snapshot
		if err == nil {
			snaps, err = repo.Snapshots(c.Context(), nil)
		}
		if err != nil {
			os.Remove(cfg.KeyFile)
			return err
		}
		if err := restic.SaveConfig(paths, cfg); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "connected to %s: %d snapshots\n", repo.Target(), len(snaps))
		return nil
	}

	snapshots := &cobra.Command{Use: "snapshots [@SITE]", Short: "list the off-site snapshots, of one site or all", Args: cobra.MaximumNArgs(1)}
	snapshots.RunE = func(c *cobra.Command, args []string) error {
		repo, err := m.offsite(c)
		if err != nil {
			return err
		}
		var tags []string
		if len(args) == 1 {
			name := aegir.ContextName(args[0])
			if err := aegir.ValidateName("site", name); err != nil {
				return err
			}
			tags = []string{"site=" + name}
		}
		snaps, err := repo.Snapshots(c.Context(), tags)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tTIME\tSITE\tBACKUP\tKIND")
		for _, s := range snaps {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.ID[:8], s.Time.Format("2006-01-02 15:04:05"), s.Tag("site"), s.Tag("backup"), s.Tag("kind"))
		}
		return w.Flush()
	}

	check := &cobra.Command{Use: "check", Short: "check the off-site repository's structure and a tenth of its data", Args: takes(0)}
	check.RunE = func(c *cobra.Command, _ []string) error {
		repo, err := m.offsite(c)
		if err != nil {
			return err
		}
		if err := repo.Check(c.Context()); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%s: no errors\n", repo.Target())
		return nil
	}
	cmd.AddCommand(init, connect, snapshots, check, m.controlPlaneCommand())
	return cmd
}

// offsite opens the configured off-site repository, refusing when there
// is none.
func (m *Main) offsite(c *cobra.Command) (*restic.Repo, error) {
	if err := m.refuseRoot(); err != nil {
		return nil, err
	}
	paths := m.paths(homeOption(c))
	repo, err := restic.Open(paths, &local.Runner{})
	if err != nil {
		return nil, err
	}
	if repo == nil {
		return nil, aegir.Errorf(aegir.ENOTFOUND, "no off-site target: run aegir offsite init --repo=URL (or offsite connect)")
	}
	return repo, nil
}

// controlPlaneCommand uploads what rebuilds the front end: a consistent
// copy of its SQLite database and the named contexts, as one snapshot
// tagged kind=control (run it from cron, e.g. hourly; see docs/backups.md).
func (m *Main) controlPlaneCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "backup-control-plane", Short: "upload the front end's database and the named contexts to the off-site target", Args: takes(0)}
	database := addDatabaseOption(cmd.Flags())
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		repo, err := m.offsite(c)
		if err != nil {
			return err
		}
		paths := m.paths(homeOption(c))
		db := databaseURL(database, paths)
		if strings.Contains(db, "://") {
			return aegir.FieldErrorf("database", "only a SQLite front end is copied so far; back up PostgreSQL with pg_dump")
		}
		scratch, err := os.MkdirTemp(paths.Home, ".control-plane-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(scratch)
		upload := []string{paths.Contexts()}
		if _, err := os.Stat(db); err == nil {
			copyFile := filepath.Join(scratch, "hosting.db")
			if err := sqlite.CopyTo(c.Context(), db, copyFile); err != nil {
				return err
			}
			upload = append(upload, copyFile)
		}
		snap, err := repo.Backup(c.Context(), upload, nil, []string{"kind=control"})
		if err != nil {
			return err
		}
		if _, err := repo.Forget(c.Context(), []string{"kind=control"}, repo.Keep()); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "uploaded the control plane to %s: snapshot %.8s, %d bytes added\n", repo.Target(), snap.ID, snap.Added)
		return nil
	}
	return cmd
}
