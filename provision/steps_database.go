package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aegir-hosting/aegir"
)

// databaseLost reports why the site's database cannot serve it: it does not
// exist, or it holds no table while the app would offer its installer there
// (anyone could install over the site). "" when it is there or the site has
// none.
func (t *run) databaseLost(ctx context.Context, s *siteEnv) (string, error) {
	name := s.site.DBName
	if name == "" {
		return "", nil
	}
	there, err := s.db.DatabaseExists(ctx, name)
	if err != nil {
		return "", err
	}
	if !there {
		return "its database " + name + " does not exist", nil
	}
	// An empty database is lost only for an app that would offer its
	// installer there; a generic PHP app's may rightly be empty.
	if wi, ok := s.platform.app.(aegir.WebInstaller); !ok || !wi.InstallsOverTheWeb() {
		return "", nil
	}
	size, err := s.db.DatabaseSize(ctx, name)
	if aegir.ErrorCode(err) == aegir.ENOTFOUND {
		// Dropped meanwhile: a delete killed mid-drop leaves its DROP
		// DATABASE running on the server while it is run again.
		return "its database " + name + " does not exist", nil
	} else if err != nil {
		return "", err
	}
	if size == 0 {
		return "its database " + name + " holds no table", nil
	}
	return "", nil
}

// databaseStep is verify's check that the site's database can serve it.
// When it cannot, the site answers with a maintenance page (503) instead of
// its app, whose installer would otherwise be offered to anyone, and the
// verify fails loudly, saying how to bring the site back. That vhost is the
// step's own and stays: a failed step's changes are not undone.
func (t *run) databaseStep(s *siteEnv) aegir.Step {
	return aegir.Step{Name: "database", Do: func(ctx context.Context) (aegir.Undo, error) {
		why, err := t.databaseLost(ctx, s)
		if err != nil || why == "" {
			return nil, err
		}
		v := s.vhost()
		v.Disabled, v.DisabledURL = true, ""
		if _, werr := s.http.WriteSite(ctx, v); werr != nil {
			t.log.Errorf("could not put @%s in maintenance: %v", s.site.URI, werr)
		} else {
			t.log.Warnf("@%s now answers 503 (maintenance) instead of its app", s.site.URI)
		}
		return nil, aegir.Errorf(aegir.ECONFLICT, "site @%s cannot be served: %s; restore a backup (aegir restore @%s FILE)", s.site.URI, why, s.site.URI)
	}}
}

// noteLostDatabase checks, before a restore or delete, whether the site's
// database is gone; when it is, the backup those tasks take first holds the
// site's files only (said in the log), rather than the task failing on a
// database it is about to replace or drop anyway.
func (t *run) noteLostDatabase(ctx context.Context, s *siteEnv) error {
	why, err := t.databaseLost(ctx, s)
	if err != nil || why == "" {
		return err
	}
	s.lostDB = true
	t.log.Warnf("@%s: %s: the backup taken first holds the site's files only (no database dump)", s.site.URI, why)
	return nil
}

// maxDBNameTries bounds the search for a free database name.
const maxDBNameTries = 100

// createDatabase picks a free database name from the URI, creates the
// database and its user, and records the credentials in the site.
func (t *run) createDatabase(ctx context.Context, s *siteEnv) (aegir.Undo, error) {
	return t.createDatabaseNamed(ctx, s, nil)
}

// createDatabaseNamed is createDatabase that tells announce the name it
// picked before it creates anything, so a deploy's record holds it should
// the process die in between.
func (t *run) createDatabaseNamed(ctx context.Context, s *siteEnv, announce func(name string) error) (aegir.Undo, error) {
	if s.withoutDatabase() {
		t.log.Infof("@%s gets no database: its db server has no database service, and a %s site needs none", s.site.URI, s.platform.appName)
		return nil, nil
	}
	password, err := Password(24)
	if err != nil {
		return nil, err
	}
	name := ""
	for i := 0; i < maxDBNameTries && name == ""; i++ {
		candidate := DatabaseName(s.site.URI, i)
		dbTaken, err := s.db.DatabaseExists(ctx, candidate)
		if err != nil {
			return nil, err
		}
		userTaken, err := s.db.UserExists(ctx, candidate)
		if err != nil {
			return nil, err
		}
		if !dbTaken && !userTaken {
			name = candidate
		}
	}
	if name == "" {
		return nil, aegir.Errorf(aegir.ECONFLICT, "no free database name for %s after %d tries", s.site.URI, maxDBNameTries)
	}
	if announce != nil {
		if err := announce(name); err != nil {
			return nil, err
		}
	}
	hosts, err := s.grantHosts(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.db.CreateDatabase(ctx, name, name, password, hosts); err != nil {
		return nil, err
	}
	s.site.DBName, s.site.DBUser, s.site.DBPassword = name, name, password
	report(t, func(f *aegir.SiteFacts) { f.DBName = name })
	t.log.Infof("created database %s and its user", name)
	return func(ctx context.Context) error {
		if err := s.db.DropDatabase(ctx, name, name); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		s.site.DBName, s.site.DBUser, s.site.DBPassword = "", "", ""
		return nil
	}, nil
}

// noteLostDirectory makes the site's directory again, empty, when it is
// gone (a delete that stopped after removing it), so the backup a restore
// or delete takes first holds the database alone, as the log says, rather
// than the task failing on a directory it is about to replace or remove
// anyway.
func (t *run) noteLostDirectory(s *siteEnv) error {
	dir := s.siteDir()
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	t.log.Warnf("@%s: its directory %s is gone: the backup taken first holds its database only", s.site.URI, dir)
	return nil
}
