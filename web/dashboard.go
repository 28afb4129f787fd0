package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aegir-hosting/aegir"
	"github.com/aegir-hosting/aegir/hosting"
)

// statusCount is how many objects are in one status.
type statusCount struct {
	Status string
	Count  int
}

// taskBox is the first tasks of a status and how many there are.
type taskBox struct {
	Tasks []*aegir.Task
	Total int
}

type dashboardData struct {
	Sites      []statusCount
	SitesTotal int
	SitesDown  int // enabled sites whose last health check failed
	Processing taskBox
	Queued     taskBox
	// Active are the first running tasks, then the first queued ones.
	Active        []*aegir.Task
	Failed        taskBox
	FailedBackups []*aegir.Task
	Disk          []aegir.DiskUsage
	DiskTotal     aegir.DiskUsage
	ShowServers   bool
	Chart         chart
}

// dashboardPage counts with a bounded number of indexed queries, all in
// the user's scope: the sites' counts and disk use are one grouped pass
// each over an index (not the rows), so the page stays fast at 100,000
// sites (benchmark 5).
func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request, u *aegir.User) error {
	ctx := r.Context()
	d := dashboardData{ShowServers: s.can(r, u, hosting.ActList, "servers")}
	if s.can(r, u, hosting.ActList, "sites") {
		scope, _ := hosting.ListScope(u, hosting.KindSite)
		counts, err := s.Store.SiteCounts(ctx, scope)
		if err != nil {
			return err
		}
		rest := counts.Live
		for _, status := range []string{aegir.SiteEnabled, aegir.SiteDisabled, aegir.SiteInstalling, aegir.SiteFailed} {
			n := counts.ByStatus[status]
			rest -= n
			d.Sites = append(d.Sites, statusCount{status, n})
		}
		d.Sites = append(d.Sites, statusCount{"other", rest})
		d.SitesTotal, d.SitesDown = counts.Live, counts.Down
	}
	scope, types := hosting.ListScope(u, hosting.KindTask)
	box := func(f aegir.TaskFilter) (taskBox, error) {
		f.Scope, f.ObjectTypes, f.PerPage = scope, types, 8
		list, total, err := s.Store.ListTasks(ctx, f)
		return taskBox{list, total}, err
	}
	var err error
	if d.Processing, err = box(aegir.TaskFilter{Status: aegir.StatusProcessing}); err != nil {
		return err
	}
	if d.Queued, err = box(aegir.TaskFilter{Status: aegir.StatusQueued}); err != nil {
		return err
	}
	d.Active = append(slices.Clone(d.Processing.Tasks), d.Queued.Tasks...)
	if d.Failed, err = box(aegir.TaskFilter{Status: aegir.StatusFailed}); err != nil {
		return err
	}
	backups, err := box(aegir.TaskFilter{Status: aegir.StatusFailed, Type: aegir.TaskBackup})
	if err != nil {
		return err
	}
	d.FailedBackups = backups.Tasks
	siteScope, _ := hosting.ListScope(u, hosting.KindSite)
	if d.Disk, err = s.Store.DiskUsage(ctx, siteScope); err != nil {
		return err
	}
	for _, du := range d.Disk {
		d.DiskTotal.Files += du.Files
		d.DiskTotal.DB += du.DB
	}
	since := time.Now().Add(-23 * time.Hour).Truncate(time.Hour)
	hours, err := s.Store.TaskHistory(ctx, since, aegir.TaskFilter{Scope: scope, ObjectTypes: types})
	if err != nil {
		return err
	}
	d.Chart = newChart(since, hours)
	return s.render(w, r, u, http.StatusOK, "dashboard", "Dashboard", d)
}

// chart is the inline SVG of task throughput (bars: tasks finished per
// hour, failed ones on top in red) and durations (a line: the average
// duration in that hour) over the last day.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Line          string // polyline points of the average durations
	Dots          []chartDot
	Labels        []chartLabel
	MaxCount      int
	MaxSeconds    float64
	Finished      int
	Failed        int
	Empty         bool
}

type chartBar struct {
	X, Width         float64
	Y, Height        float64 // the whole bar
	FailY, FailH     float64 // its failed part
	Title            string
	Finished, Failed int
}

type chartDot struct {
	X, Y  float64
	Title string
}

type chartLabel struct {
	X    float64
	Text string
}

const (
	chartW, chartH = 720, 160
	chartTop       = 10
	chartBottom    = 20 // room for the hour labels
)

func newChart(since time.Time, hours []aegir.TaskHour) chart {
	c := chart{Width: chartW, Height: chartH}
	byHour := map[int64]aegir.TaskHour{}
	for _, h := range hours {
		byHour[h.Hour.Unix()] = h
		c.MaxCount = max(c.MaxCount, h.Finished)
		c.MaxSeconds = max(c.MaxSeconds, h.AvgSeconds)
		c.Finished += h.Finished
		c.Failed += h.Failed
	}
	c.Empty = c.Finished == 0
	slot := float64(chartW) / 24
	plot := float64(chartH - chartTop - chartBottom)
	var points []string
	for i := range 24 {
		start := since.Add(time.Duration(i) * time.Hour)
		h := byHour[start.UTC().Unix()]
		x := float64(i) * slot
		b := chartBar{X: x + 2, Width: slot - 4, Finished: h.Finished, Failed: h.Failed}
		if c.MaxCount > 0 {
			b.Height = plot * float64(h.Finished) / float64(c.MaxCount)
			b.FailH = plot * float64(h.Failed) / float64(c.MaxCount)
		}
		b.Y = chartTop + plot - b.Height
		b.FailY = b.Y
		b.Title = fmt.Sprintf("%s: %d tasks finished, %d failed, %.1f s on average", start.Local().Format("15:04"), h.Finished, h.Failed, h.AvgSeconds)
		c.Bars = append(c.Bars, b)
		if h.Finished > 0 && c.MaxSeconds > 0 {
			y := chartTop + plot - plot*h.AvgSeconds/c.MaxSeconds
			points = append(points, fmt.Sprintf("%.1f,%.1f", x+slot/2, y))
			c.Dots = append(c.Dots, chartDot{X: x + slot/2, Y: y, Title: fmt.Sprintf("%s: %.1f s on average, %.1f s at most", start.Local().Format("15:04"), h.AvgSeconds, h.MaxSeconds)})
		}
		if i%4 == 0 {
			c.Labels = append(c.Labels, chartLabel{X: x + 2, Text: start.Local().Format("15:04")})
		}
	}
	c.Line = strings.Join(points, " ")
	return c
}
