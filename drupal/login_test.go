package drupal

import "testing"

// TestResetHashMatchesDrupal checks the hash against the one PHP computes
// with Drupal's own formula:
//
//	php -r 'echo str_replace(["+","/","="], ["-","_",""], base64_encode(hash_hmac("sha256",
//	  "1700000000:1690000000:1:admin@example.com", "salt-abc" . "$2y$10$abcdefghijklmnopqrstuu", TRUE)));'
//
// The end-to-end tests (TestDrupal10Install, TestDrupalLifecycle,
// TestDrupal7Install) follow real links into logged-in sessions.
func TestResetHashMatchesDrupal(t *testing.T) {
	t.Parallel()
	a := account1{Pass: "$2y$10$abcdefghijklmnopqrstuu", Login: 1690000000, Mail: "admin@example.com", Status: 1}
	if got, want := resetHash("salt-abc", a, 1, 1700000000), "iOC7s4ZJEyCs6ALuJV6y7b_lLZhwaMTu3uhcprXbE_c"; got != want {
		t.Errorf("resetHash = %s, want %s", got, want)
	}
	if got, want := resetLink("http://example.com:8080", "salt-abc", a, 1700000000),
		"http://example.com:8080/user/reset/1/1700000000/iOC7s4ZJEyCs6ALuJV6y7b_lLZhwaMTu3uhcprXbE_c/login"; got != want {
		t.Errorf("resetLink = %s, want %s", got, want)
	}
}
