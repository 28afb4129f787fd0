package bench

import (
	"fmt"
	"os"
	"path/filepath"
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
	floorCPU := cpuNow(t)
	floor := timed(func() {
		for i, uri := range uris {
			run(t, nil, mustAbs(t, "scripts/migrate-floor.sh"), s.context(uri).Site.DBName,
				fmt.Sprintf("%sfl%03d", s.token, i), s.siteDir(uri), filepath.Join(scratch, uri))
		}
	})
	floorUse := floorCPU.since(t)
	for i := range uris {
		_, err := s.db.Exec(fmt.Sprintf("DROP DATABASE `%sfl%03d`", s.token, i))
		must(t, err)
	}
	must(t, os.RemoveAll(scratch))

	concurrency := provision.DefaultBatchConcurrency()
	if v, err := strconv.Atoi(os.Getenv("AEGIR_BENCH_CONCURRENCY")); err == nil && v > 0 {
		concurrency = v
	}
	var took time.Duration
	var ourUse string
	migrate := func() {
		start := cpuNow(t)
		defer func() { ourUse = start.since(t) }()
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
				if _, err := b.MigratePlatform(background, "platform_wp", "platform_wpnew", concurrency, aegir.TaskOptions{}); err != nil {
					t.Fatal(err)
				}
			})
		}
		profile(t, "migrate", migrate)
		// Where one site's time goes: the first site moved back, alone,
		// with its timeline from the log's times.
		start := time.Now()
		res, err := b.Run(background, aegir.TaskMigrate, uris[0], aegir.TaskOptions{Args: map[string]string{"platform": "@platform_wp"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Log {
			t.Logf("%6s %s", e.Time.Sub(start).Round(time.Millisecond), e.Message)
		}
		// And back again, so every site ends on the new platform.
		if _, err := b.Run(background, aegir.TaskMigrate, uris[0], aegir.TaskOptions{Args: map[string]string{"platform": "@platform_wpnew"}}); err != nil {
			t.Fatal(err)
		}
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
		Note: fmt.Sprintf("aegir %s (%d at a time; the default is four per CPU, %d; %s), floors %s (%s per site: create a database, mysqldump | mysql, cp -a of 2 MB of files; %s)",
			secs(took.Seconds()), concurrency, provision.DefaultBatchConcurrency(), ourUse, secs(floor.Seconds()), ms(floor/time.Duration(n)), floorUse)})
}
