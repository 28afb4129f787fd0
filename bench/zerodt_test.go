package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestZeroDowntime is benchmark 10 (issue 15, zero downtime): a WordPress
// site probed every 20 ms, each probe on a new connection, while it is
// migrated to another platform on the same server and back, restored from
// a backup and deployed from one. A probe fails when it gets no answer, an
// answer other than 200, or a page without the site's address in it. The
// target is no failed probe at all.
func TestZeroDowntime(t *testing.T) {
	need(t)
	s := newWPStack(t)
	s.platform("wp")
	s.platform("wpnew")
	uri := "zd." + s.token + ".test"
	s.site(uri, "wp")
	s.fill(uri, size.BackupUploads/4+1, size.BackupDB/4+1, 7)
	file := fmt.Sprint(s.task("backup", "@"+uri)["backup_file"])

	// The probe alone first: the site answers every probe when nothing runs.
	p := startProbe(s.port, uri, 20*time.Millisecond)
	time.Sleep(2 * time.Second)
	failed, total, first := p.stop()
	report(figure{Bench: "10 zero downtime", Name: "failed probes while no task runs", Value: fmt.Sprintf("%d of %d", failed, total),
		Target: "0", Result: atMost(float64(failed), 0), Note: "2 s; " + first})
	for _, op := range []struct {
		name string
		args []string
	}{
		{"migrate to another platform", []string{"migrate", "@" + uri, "@platform_wpnew"}},
		{"migrate back", []string{"migrate", "@" + uri, "@platform_wp"}},
		{"restore", []string{"restore", "@" + uri, file}},
		{"deploy", []string{"deploy", "@" + uri, file}},
	} {
		p := startProbe(s.port, uri, 20*time.Millisecond)
		start := time.Now()
		took := timed(func() { s.task(op.args...) })
		// A few probes after the task, so the last reload is seen through.
		time.Sleep(200 * time.Millisecond)
		failed, total, first := p.stop()
		note := fmt.Sprintf("%d probes during the task (%s) and 200 ms after it, one at a time, every 20 ms, each on a new connection; %d MB uploads + %d MB rows", total, secs(took.Seconds()), size.BackupUploads/4+1, size.BackupDB/4+1)
		if first != "" {
			note += "; first failure: " + first
			for _, f := range p.failures {
				t.Logf("%s: a probe failed at %s (%s)", op.name, f.Sub(start).Round(time.Millisecond), f.UTC().Format("15:04:05.000"))
			}
		}
		report(figure{Bench: "10 zero downtime", Name: "failed probes during " + op.name,
			Value: fmt.Sprintf("%d of %d", failed, total), Target: "0", Result: atMost(float64(failed), 0), Note: note})
	}
}

// probe asks a site for its home page every so often, one request at a
// time (a slow answer delays the next rather than pile requests on the
// site's PHP), and counts the answers that are not the site's page.
type probe struct {
	cancel        context.CancelFunc
	wg            sync.WaitGroup
	mu            sync.Mutex
	failed, total int
	first         string
	failures      []time.Time
}

func startProbe(port int, host string, every time.Duration) *probe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &probe{cancel: cancel}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	url := fmt.Sprintf("http://%s:%d/", host, port)
	tick := time.NewTicker(every)
	p.wg.Go(func() {
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			func() {
				why := ""
				resp, err := client.Get(url)
				if err != nil {
					why = err.Error()
				} else {
					body, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch {
					case rerr != nil:
						why = fmt.Sprintf("%d, %v after %d bytes", resp.StatusCode, rerr, len(body))
					case resp.StatusCode != http.StatusOK:
						why = fmt.Sprintf("%d: %.200s", resp.StatusCode, body)
					case !strings.Contains(string(body), host):
						why = fmt.Sprintf("a page without %s: %.200s", host, body)
					}
				}
				p.mu.Lock()
				defer p.mu.Unlock()
				p.total++
				if why != "" {
					p.failures = append(p.failures, time.Now())
					p.failed++
					if p.first == "" {
						p.first = why
					}
				}
			}()
		}
	})
	return p
}

// stop ends the probe and returns its counts and its first failure.
func (p *probe) stop() (failed, total int, first string) {
	p.cancel()
	p.wg.Wait()
	return p.failed, p.total, p.first
}
