package aegir_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aegir-hosting/aegir"
)

func TestMarshalPropsRoundTripsEveryContextType(t *testing.T) {
	t.Parallel()
	for _, props := range []any{
		&aegir.Server{RemoteHost: "web1.example", HTTPServiceType: "nginx", HTTPPort: 8080, HTTPTestCmd: []string{"nginx", "-t"},
			HTTPRestartCmd: []string{}, WebGroup: "www-data", DBServiceType: "mysql", MasterDB: "mysql://root:pw@db:3306", DBGrantAllHosts: true},
		&aegir.Server{},
		&aegir.Platform{Root: "/var/aegir/platforms/wp", WebServer: "@server_master", Makefile: "/srv/wp.yml"},
		&aegir.Site{URI: "example.com", Platform: "@platform_wp", DBServer: "@server_master", Aliases: []string{"www.example.com"},
			Redirection: "www.example.com", Status: "enabled", DBName: "examplecom", DBUser: "examplecom", DBPassword: "s3cr3t"},
	} {
		data, err := aegir.MarshalProps(props)
		if err != nil {
			t.Fatal(err)
		}
		got := reflect.New(reflect.TypeOf(props).Elem()).Interface()
		if err := aegir.UnmarshalProps(data, got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, props) {
			t.Fatalf("round trip of %s:\n got %+v\nwant %+v", data, got, props)
		}
	}
	data, err := aegir.MarshalProps(&aegir.Site{URI: "example.com", DBPassword: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m["uri"] != "example.com" || m["db_passwd"] != "x" || len(m) != len(aegir.Properties(aegir.SiteContext)) {
		t.Fatalf("site props use other names than the context's: %s", data)
	}
}

func TestUnmarshalPropsRejectsWhatIsNotAProperty(t *testing.T) {
	t.Parallel()
	var s aegir.Site
	for _, data := range []string{`{"uri": "a.example", "url": "x"}`, `{"aliases": "not a list"}`, `[1]`} {
		if err := aegir.UnmarshalProps([]byte(data), &s); aegir.ErrorCode(err) != aegir.EINVALID {
			t.Errorf("UnmarshalProps(%s) = %v, want EINVALID", data, err)
		}
	}
	if err := aegir.UnmarshalProps([]byte(`{}`), s); err == nil {
		t.Error("UnmarshalProps into a non-pointer succeeded")
	}
}

func TestPaginate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ page, perPage, limit, offset int }{
		{0, 0, aegir.DefaultPerPage, 0},
		{1, 10, 10, 0},
		{3, 10, 10, 20},
		{-1, -5, aegir.DefaultPerPage, 0},
		{2, 5000, aegir.MaxPerPage, aegir.MaxPerPage},
	} {
		if limit, offset := aegir.Paginate(tt.page, tt.perPage); limit != tt.limit || offset != tt.offset {
			t.Errorf("Paginate(%d, %d) = %d, %d; want %d, %d", tt.page, tt.perPage, limit, offset, tt.limit, tt.offset)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	site := func(f func(*aegir.SiteRecord)) *aegir.SiteRecord {
		r := &aegir.SiteRecord{Name: "a.example", Site: aegir.Site{URI: "a.example", Platform: "@pa"}}
		f(r)
		return r
	}
	for _, tt := range []struct {
		field string
		v     interface{ Validate() error }
	}{
		{"name", &aegir.Client{Name: "much-too-long-name"}},
		{"name", &aegir.Client{Name: "Acme"}},
		{"email", &aegir.Client{Name: "acme", Email: "acme"}},
		{"name", &aegir.User{Name: "", Role: aegir.RoleClient}},
		{"role", &aegir.User{Name: "bob", Role: "root"}},
		{"clients", &aegir.User{Name: "bob", Role: aegir.RoleClient, Clients: []string{"Bad"}}},
		{"user_id", &aegir.Token{Name: "ci", Hash: aegir.HashToken("x")}},
		{"hash", &aegir.Token{UserID: 1, Name: "ci", Hash: "plain"}},
		{"type", &aegir.Task{Type: "Verify Site", ObjectType: aegir.SiteContext, Object: "a.example"}},
		{"object_type", &aegir.Task{Type: "verify", ObjectType: "node", Object: "a.example"}},
		{"object", &aegir.Task{Type: "verify", ObjectType: aegir.SiteContext, Object: "../x"}},
		{"platform", &aegir.Task{Type: "verify", ObjectType: aegir.PlatformContext, Object: "pa", Exclusive: true}},
		{"args", &aegir.Task{Type: "clone", ObjectType: aegir.SiteContext, Object: "a.example", Args: map[string]string{"new uri": "b"}}},
		{"uri", site(func(r *aegir.SiteRecord) { r.Site.URI = "b.example" })},
		{"aliases", site(func(r *aegir.SiteRecord) { r.Site.Aliases = []string{"b.example", "b.example"} })},
		{"client", site(func(r *aegir.SiteRecord) { r.Client = "Acme Inc" })},
		{"platform", site(func(r *aegir.SiteRecord) { r.Site.Platform = "" })},
		{"status", site(func(r *aegir.SiteRecord) { r.Status = "Enabled!" })},
		{"disk_db", site(func(r *aegir.SiteRecord) { r.DiskDB = -1 })},
		{"worker", aegirWorker("")},
		{"root", &aegir.PlatformRecord{Name: "pa"}},
		{"clients", &aegir.PlatformRecord{Name: "pa", Platform: aegir.Platform{Root: "/srv/pa"}, Clients: []string{"a b"}}},
		{"name", &aegir.ServerRecord{Name: "Server Master"}},
		{"file", &aegir.Backup{Site: "a.example", File: "backup.tar.gz"}},
	} {
		err := tt.v.Validate()
		var e *aegir.Error
		if !errors.As(err, &e) || e.Code != aegir.EINVALID || e.Field != tt.field {
			t.Errorf("%+v: Validate() = %v, want an EINVALID error naming %q", tt.v, err, tt.field)
		}
	}
	for _, v := range []interface{ Validate() error }{
		&aegir.Client{Name: "acme_1", Email: "ops@acme.example"},
		&aegir.User{Name: "alice@example.com", Role: aegir.RolePlatformManager},
		&aegir.Task{Type: "verify", ObjectType: aegir.PlatformContext, Object: "pa", Platform: "pa", Exclusive: true},
		site(func(*aegir.SiteRecord) {}),
	} {
		if err := v.Validate(); err != nil {
			t.Errorf("%+v: Validate() = %v", v, err)
		}
	}
}

type aegirWorker string

func (w aegirWorker) Validate() error { return aegir.ValidateWorker(string(w)) }

func TestRecordContextsAreCopies(t *testing.T) {
	t.Parallel()
	r := &aegir.SiteRecord{Name: "a.example", Site: aegir.Site{URI: "a.example", Aliases: []string{"www.a.example"}}}
	c := r.Context()
	c.Site.Aliases[0] = "changed.example"
	c.Site.URI = "changed.example"
	if r.Site.Aliases[0] != "www.a.example" || r.Site.URI != "a.example" || c.Type != aegir.SiteContext || c.Name != "a.example" {
		t.Fatalf("the context shares the record's memory: %+v", r)
	}
	srv := &aegir.ServerRecord{Name: "server_master", Server: aegir.Server{HTTPTestCmd: []string{"nginx", "-t"}}}
	sc := srv.Context()
	sc.Server.HTTPTestCmd[0] = "apachectl"
	if srv.Server.HTTPTestCmd[0] != "nginx" {
		t.Fatal("the server context shares the record's command")
	}
	if pc := (&aegir.PlatformRecord{Name: "pa", Platform: aegir.Platform{Root: "/srv/pa"}}).Context(); pc.Platform.Root != "/srv/pa" || pc.Type != aegir.PlatformContext {
		t.Fatalf("platform context %+v", pc)
	}
}

func TestHashTokenIsHexSHA256(t *testing.T) {
	t.Parallel()
	if got, want := aegir.HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashToken(abc) = %s, want %s", got, want)
	}
}

func TestOpenStoreNamesAnUnknownScheme(t *testing.T) {
	t.Parallel()
	_, err := aegir.OpenStore(t.Context(), "mongodb://localhost/aegir")
	var e *aegir.Error
	if !errors.As(err, &e) || e.Field != "database" || !strings.Contains(e.Message, "mongodb") {
		t.Fatalf("OpenStore(mongodb://...) = %v, want an EINVALID error naming database", err)
	}
}
