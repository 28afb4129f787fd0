package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/contextfile"
	"github.com/aegir-hosting/aegir/local"
	"github.com/aegir-hosting/aegir/provision"
	"github.com/aegir-hosting/aegir/tarball"
)

// TestBatchMigrate is benchmark 4: MigrateSites WordPress sites (each with
// a few MB of uploads and rows) moved from one platform to another by one
// aegir migrate-platform, against the sum of the floors of each site
// (create a database, dump and import, copy its files), measured one
// after the other in the same run.
func TestBatchMigrate(t *testing.T) {
	need(t)
	s := newWPStack(t)
	s.platform("wp")
	newRoot := s.platform("wpnew")
	n := size.MigrateSites
	uris := make([]string, n)
	// Installs, a few at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range uris {
		uris[i] = fmt.Sprintf("m%03d.%s.test", i, s.token)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s.site(uris[i], "wp")
		})
	}
	wg.Wait()
	for i, uri := range uris {
		s.fill(uri, 2, 1, uint64(i))
	}

	// The floors, one site after the other.
	scratch := t.TempDir()
	floor := timed(func() {
		for i, uri := range uris {
			run(t, nil, mustAbs(t, "scripts/migrate-floor.sh"), s.context(uri).Site.DBName,
				fmt.Sprintf("%sfl%03d", s.token, i), s.siteDir(uri), filepath.Join(scratch, uri))
		}
	})
	for i := range uris {
		_, err := s.db.Exec(fmt.Sprintf("DROP DATABASE `%sfl%03d`", s.token, i))
		must(t, err)
	}
	must(t, os.RemoveAll(scratch))

	concurrency := runtime.NumCPU()
	if v, err := strconv.Atoi(os.Getenv("AEGIR_BENCH_CONCURRENCY")); err == nil && v > 0 {
		concurrency = v
	}
	var took time.Duration
	migrate := func() {
		took = timed(func() {
			s.task("migrate-platform", "@platform_wp", "@platform_wpnew", fmt.Sprintf("--concurrency=%d", concurrency))
		})
	}
	if os.Getenv("AEGIR_BENCH_PROFILE") != "" {
		// In-process, for the profile, with the CLI's concurrency.
		paths := aegir.Paths{Home: s.home}
		b := &provision.Backend{Paths: paths, Contexts: contextfile.New(paths), Runner: &local.Runner{}, Archiver: &tarball.Archiver{}}
		migrate = func() {
			took = timed(func() {
				if _, err := b.MigratePlatform(background, "platform_wp", "platform_wpnew", concurrency, provision.Options{}); err != nil {
					t.Fatal(err)
				}
			})
		}
		profile(t, "migrate", migrate)
	} else {
		migrate()
	}
	for _, uri := range uris {
		if _, err := os.Stat(filepath.Join(newRoot, "sites", uri, "wp-config.php")); err != nil {
			t.Fatalf("%s was not migrated: %v", uri, err)
		}
	}
	ratio := took.Seconds() / floor.Seconds()
	report(figure{Bench: "4 batch migrate", Name: fmt.Sprintf("migrate-platform of %d WordPress sites / sum of the floors", n),
		Value: fmt.Sprintf("%.2f×", ratio), Target: "≤ 1.0×", Result: atMost(ratio, 1.0),
		Note: fmt.Sprintf("aegir %s (%d at a time; the default is one per CPU, %d), floors %s (%s per site: create a database, mysqldump | mysql, cp -a of 2 MB of files)",
			secs(took.Seconds()), concurrency, runtime.NumCPU(), secs(floor.Seconds()), ms(floor/time.Duration(n)))})
}
