//go:build linux

package fleetlab

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// accounts are a server's /etc/passwd, shadow, group and gshadow, read
// from the host's and written to the server's upper directory: editing
// them here is what useradd and usermod would do inside, without a
// process per server.
type accounts struct {
	files map[string][]string // path: lines
}

// accountFiles are the files accounts edit.
var accountFiles = []string{"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"}

func readAccounts() (*accounts, error) {
	a := &accounts{files: map[string][]string{}}
	for _, p := range accountFiles {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		a.files[p] = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	return a, nil
}

// find returns the fields of name's line in file p, or nil.
func (a *accounts) find(p, name string) []string {
	for _, line := range a.files[p] {
		if f := strings.Split(line, ":"); f[0] == name {
			return f
		}
	}
	return nil
}

// ids returns the user's uid and primary gid, if the user exists.
func (a *accounts) ids(user string) (ids, bool) {
	f := a.find("/etc/passwd", user)
	if len(f) < 4 {
		return ids{}, false
	}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	return ids{uid, gid}, err1 == nil && err2 == nil
}

// addUser adds a locked system user with its own group, as
// `useradd --system --user-group` does, with the first id below 1000 free
// as both uid and gid.
func (a *accounts) addUser(name, home, shell string) (ids, error) {
	used := map[string]bool{}
	for _, p := range []string{"/etc/passwd", "/etc/group"} {
		for _, line := range a.files[p] {
			if f := strings.Split(line, ":"); len(f) > 2 {
				used[f[2]] = true
			}
		}
	}
	for id := 999; id >= 100; id-- {
		s := strconv.Itoa(id)
		if used[s] {
			continue
		}
		days := strconv.FormatInt(time.Now().Unix()/86400, 10)
		a.files["/etc/passwd"] = append(a.files["/etc/passwd"], name+":x:"+s+":"+s+"::"+home+":"+shell)
		a.files["/etc/shadow"] = append(a.files["/etc/shadow"], name+":!:"+days+"::::::")
		a.files["/etc/group"] = append(a.files["/etc/group"], name+":x:"+s+":")
		a.files["/etc/gshadow"] = append(a.files["/etc/gshadow"], name+":!::")
		return ids{id, id}, nil
	}
	return ids{}, fmt.Errorf("no free system id for user %s", name)
}

// addToGroup adds user to group's members, as `usermod -a -G` does.
func (a *accounts) addToGroup(user, group string) error {
	for p, col := range map[string]int{"/etc/group": 3, "/etc/gshadow": 3} {
		found := false
		for i, line := range a.files[p] {
			f := strings.Split(line, ":")
			if f[0] != group || len(f) <= col {
				continue
			}
			found = true
			members := slices.DeleteFunc(strings.Split(f[col], ","), func(m string) bool { return m == "" })
			if !slices.Contains(members, user) {
				f[col] = strings.Join(append(members, user), ",")
				a.files[p][i] = strings.Join(f, ":")
			}
		}
		if !found {
			return fmt.Errorf("%s has no group %s", p, group)
		}
	}
	return nil
}

// removeUser removes the user, its group and its group memberships, as
// userdel does.
func (a *accounts) removeUser(name string) {
	for _, p := range accountFiles {
		lines := a.files[p][:0]
		for _, line := range a.files[p] {
			f := strings.Split(line, ":")
			if f[0] == name {
				continue
			}
			if (p == "/etc/group" || p == "/etc/gshadow") && len(f) > 3 {
				f[3] = strings.Join(slices.DeleteFunc(strings.Split(f[3], ","), func(m string) bool { return m == name }), ",")
				line = strings.Join(f, ":")
			}
			lines = append(lines, line)
		}
		a.files[p] = lines
	}
}

// write writes the files to the server's upper directory with the host's
// modes and owners (shadow files are root:shadow 0640).
func (a *accounts) write(u upper) error {
	for _, p := range accountFiles {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := u.write(p, strings.Join(a.files[p], "\n")+"\n", fi.Mode().Perm()); err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if err := os.Chown(u.path(p), int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return nil
}
