package aegir

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestEverySiteTaskReportsItsSite(t *testing.T) {
	for _, task := range Tasks() {
		if !task.RunsOn(SiteContext) || task.Name == TaskNoop {
			continue
		}
		res := task.NewResult(SiteContext)
		if res == nil {
			t.Errorf("%s on a site has no result type", task.Name)
			continue
		}
		if PartOf[SiteFacts](res) == nil {
			t.Errorf("%s's result %T does not say which site it ran on", task.Name, res)
		}
	}
	if res := mustLookup(t, TaskDelete).NewResult(ServerContext); res != nil {
		t.Errorf("a server's delete reports %T, want nothing", res)
	}
}

func mustLookup(t *testing.T, name string) TaskType {
	t.Helper()
	row, ok := LookupTask(name)
	if !ok {
		t.Fatalf("no task %s", name)
	}
	return row
}

func TestPartOfFindsEmbeddedPartsAtAnyDepth(t *testing.T) {
	res := mustLookup(t, TaskMigrate).NewResult(SiteContext)
	b := PartOf[BackupMade](res) // MoveResult > DeployResult > BackupMade
	if b == nil {
		t.Fatalf("%T has no BackupMade", res)
	}
	b.File, b.Size = "/b/a.tar.gz", 42
	PartOf[SiteFacts](res).URI = "a.example"
	PartOf[MoveResult](res).NewURI = "b.example"
	if got := PartOf[LoginLinkMade](res); got != nil {
		t.Errorf("a migrate's result has a login link part")
	}
	if PartOf[SiteFacts](nil) != nil || PartOf[SiteFacts]((*MoveResult)(nil)) != nil {
		t.Error("a nil result has parts")
	}

	// What the front end stores and the API and CLI show: the same keys
	// as the task's facts always had, numbers exact, nothing empty.
	data, err := ResultData(res)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"backup_file", "new_uri", "size", "uri"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if data["size"] != json.Number("42") {
		t.Errorf("size %#v, want 42 exactly", data["size"])
	}
	if data, err := ResultData((*BackupResult)(nil)); data != nil || err != nil {
		t.Errorf("nil result gives %v, %v", data, err)
	}
	// A batch's counts are facts even when zero.
	data, _ = ResultData(&MigratePlatformResult{})
	if _, ok := data["failed"]; !ok {
		t.Errorf("a batch's result has no failed count: %v", data)
	}
}
