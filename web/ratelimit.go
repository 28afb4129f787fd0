package web

import (
	"sync"
	"time"
)

// LoginLimit bounds failed logins: at most PerAddress failures from one
// client address and PerUser failures for one user name within Window;
// beyond that logins are refused until the window ends. Keys is how many
// addresses and names are remembered at most, so that the memory it takes
// stays bounded whatever an attacker sends.
type LoginLimit struct {
	PerAddress int
	PerUser    int
	Window     time.Duration
	Keys       int
}

// DefaultLoginLimit allows 20 failures per address and 10 per user name
// in 15 minutes, remembering at most 10,000 of each.
var DefaultLoginLimit = LoginLimit{PerAddress: 20, PerUser: 10, Window: 15 * time.Minute, Keys: 10000}

// loginLimiter counts failed logins in memory (per process: several
// front ends each keep their own count).
type loginLimiter struct {
	limit LoginLimit
	now   func() time.Time

	mu    sync.Mutex
	addrs map[string]*failures
	users map[string]*failures
}

// failures counts the failures of one key within a window.
type failures struct {
	n     int
	until time.Time // the window's end
}

func newLoginLimiter(l LoginLimit) *loginLimiter {
	d := DefaultLoginLimit
	if l.PerAddress <= 0 {
		l.PerAddress = d.PerAddress
	}
	if l.PerUser <= 0 {
		l.PerUser = d.PerUser
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	if l.Keys <= 0 {
		l.Keys = d.Keys
	}
	return &loginLimiter{limit: l, now: time.Now, addrs: map[string]*failures{}, users: map[string]*failures{}}
}

// blocked reports whether a login from addr for user must be refused
// now, and for how long still.
func (l *loginLimiter) blocked(addr, user string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, c := range []struct {
		m     map[string]*failures
		key   string
		limit int
	}{{l.addrs, addr, l.limit.PerAddress}, {l.users, user, l.limit.PerUser}} {
		f := c.m[c.key]
		if f != nil && now.Before(f.until) && f.n >= c.limit {
			wait = max(wait, f.until.Sub(now))
		}
	}
	return wait > 0, wait
}

// fail counts a failed login.
func (l *loginLimiter) fail(addr, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.count(l.addrs, addr, now)
	l.count(l.users, user, now)
}

// succeed forgets the failures of a user name (not of the address: a
// login that works does not excuse the guesses made at other users).
func (l *loginLimiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, user)
}

func (l *loginLimiter) count(m map[string]*failures, key string, now time.Time) {
	f := m[key]
	if f == nil || !now.Before(f.until) {
		if f == nil && len(m) >= l.limit.Keys {
			l.evict(m, now)
		}
		f = &failures{until: now.Add(l.limit.Window)}
		m[key] = f
	}
	f.n++
}

// evict makes room in a full map: the expired windows go, and if none
// has expired, one key chosen by map order (close to random) does.
func (l *loginLimiter) evict(m map[string]*failures, now time.Time) {
	for k, f := range m {
		if !now.Before(f.until) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < l.limit.Keys {
			return
		}
		delete(m, k)
	}
}
